"""`/cop forget`: what Cultivate holds about you, and erasing it. And Slack telling us that a
channel or a person is gone, so nothing more is sent there.

The decisions are in `bot.services.erasure` and `bot.services.retention`."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.erasure import Holdings, erase_person, holdings
from bot.services.retention import channel_gone, person_deactivated
from bot.text import escape
from handlers.blocks import Block, context, divider, modal, plain, section
from handlers.cop import CopRequest
from handlers.names import every_name
from handlers.registry import Registry
from handlers.requests import Submission

log = logging.getLogger(__name__)

FORGET_FORM = "forget_form"
KNOWLEDGE = "forget_knowledge"
KEEP, REMOVE = "keep", "remove"
# Their names are asked of Slack while the confirmation waits for its ack: never for long.
NAME_LOOKUP_SECONDS = 1.5
GONE_EVENTS = ("channel_deleted", "channel_archive", "group_deleted", "group_archive")


def holdings_blocks(held: Holdings) -> list[Block]:
    if held.nothing:
        return [section("Cultivate holds nothing about you in this workspace.")]
    blocks: list[Block] = []
    if held.communities:
        lines = [
            f"• *{escape(c.name)}*" + (f": {escape(', '.join(c.roles))}" if c.roles else "")
            for c in held.communities
        ]
        blocks.append(section("*Communities you are or were part of*\n" + "\n".join(lines)))
    counted = [f"• {what}: {n}" for what, n in held.counts if n]
    if counted:
        blocks.append(section("*Records that name you*\n" + "\n".join(counted)))
    for introduction in held.introductions:
        said = "; ".join(f"{k.replace('_', ' ')}: {escape(v)}" for k, v in introduction.items())
        if said:
            blocks.append(section(f"*Your introduction*\n{said}"))
    for state, reason in held.join_requests:
        why = f", reason given: {escape(reason)}" if reason else ""
        blocks.append(context(f"A request to join, {state}{why}"))
    return blocks


def forget_view(held: Holdings) -> dict[str, Any]:
    blocks = [
        section(
            "This is what Cultivate holds about you in this workspace. Erasing it removes your "
            "name from every record: counts (members, messages a day, RSVPs) stay, as anonymous "
            "numbers nobody can link to you. Messages already posted in channels are Slack's: "
            "delete them there."
        ),
        divider(),
        *holdings_blocks(held),
    ]
    if held.nothing:
        return modal(title="What Cultivate holds", blocks=blocks, callback_id=FORGET_FORM)
    orphaned = held.left_without_coordinator
    if orphaned:
        names = ", ".join(f"*{escape(n)}*" for n in orphaned)
        blocks.append(
            section(
                f":warning: You are the only coordinator of {names}. After erasing, it has no "
                "coordinator until a workspace admin adopts it or another member is made one."
            )
        )
    blocks.append(
        {
            "type": "input",
            "block_id": KNOWLEDGE,
            "label": plain("What you shared for a community's knowledge"),
            "hint": plain("Your answers when a community closed, and meeting notes you wrote."),
            "element": {
                "type": "radio_buttons",
                "action_id": KNOWLEDGE,
                "options": [
                    {"text": plain("Keep it in the record, without my name"), "value": KEEP},
                    {"text": plain("Remove it"), "value": REMOVE},
                ],
            },
        }
    )
    blocks.append(
        context(
            "Your words in a community's library (messages of yours someone saved, your "
            "monthly answers) are removed; messages you saved there stay, saved by "
            '"a former member". If you are still in a community\'s channel, Cultivate stops '
            "counting you there. This cannot be undone."
        )
    )
    return modal(
        title="Forget me", blocks=blocks, callback_id=FORGET_FORM, submit="Erase", close="Cancel"
    )


def done_view(rows: int) -> dict[str, Any]:
    return modal(
        title="Forgotten",
        blocks=[
            section(
                f"Done: {rows} records no longer name you. Exports, archives, reports, rosters "
                "and App Home made from now on do not include you."
            )
        ],
    )


async def _names_of(client: AsyncWebClient, user_id: str) -> list[str]:
    """How documents rendered before may have written the person: display and real name."""
    try:
        async with asyncio.timeout(NAME_LOOKUP_SECONDS):
            return await every_name(client, user_id)
    except TimeoutError:
        return []


async def forget(registry: Registry, request: CopRequest) -> None:
    """`/cop forget`: what Cultivate holds about the person, and the choice to erase it."""
    held = await holdings(
        registry.runtime.database, team_id=request.team_id, user_id=request.user_id
    )
    await request.open_form(forget_view(held))


async def confirmed(submission: Submission) -> None:
    """The person confirmed: erase them, and say how many records no longer name them."""
    # Who is erased is the person submitting, in the team the request came from: nothing
    # the view carries can point the erasure at anyone else.
    chosen = ((submission.state.get(KNOWLEDGE) or {}).get(KNOWLEDGE) or {}).get("selected_option")
    choice = (chosen or {}).get("value")
    if choice not in (KEEP, REMOVE):
        await submission.errors({KNOWLEDGE: "Please choose whether to keep what you shared."})
        return
    erased = await erase_person(
        submission.database,
        submission.clock,
        team_id=submission.team_id,
        user_id=submission.user_id,
        keep_knowledge=choice == KEEP,
        names=await _names_of(submission.client, submission.user_id),
    )
    await submission.ack(response_action="update", view=done_view(erased.rows))


async def gone(registry: Registry, event: dict[str, Any], context: AsyncBoltContext) -> None:
    """A channel deleted or archived: nothing more is sent there."""
    channel = event.get("channel")
    if isinstance(channel, dict):  # some events carry the channel object
        channel = channel.get("id")
    if isinstance(channel, str) and channel:
        runtime = registry.runtime
        await channel_gone(
            runtime.database, runtime.clock, team_id=context.team_id or "", channel_id=channel
        )


async def user_changed(
    registry: Registry, event: dict[str, Any], context: AsyncBoltContext
) -> None:
    """A person deactivated: what is kept for them is let go (`bot.services.retention`)."""
    user = event.get("user")
    if isinstance(user, dict) and user.get("deleted") is True and user.get("id"):
        runtime = registry.runtime
        await person_deactivated(
            runtime.database, runtime.clock, team_id=context.team_id or "", user_id=str(user["id"])
        )


def register(registry: Registry) -> None:
    registry.cop.subcommand("forget", summary="see what Cultivate holds about you, and erase it")(
        partial(forget, registry)
    )
    registry.submission(FORGET_FORM, confirmed)
    for name in GONE_EVENTS:
        registry.app.event(name)(partial(gone, registry))
    registry.app.event("user_change")(partial(user_changed, registry))
