"""`/cop forget`: what Cultivate holds about you, and erasing it. And Slack telling us that a
channel or a person is gone, so nothing more is sent there.

The decisions are in `bot.services.erasure` and `bot.services.retention`."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.erasure import Holdings, erase_person, holdings
from bot.services.retention import channel_gone, person_deactivated
from bot.text import escape
from handlers.blocks import Block, context, divider, modal, plain, section
from handlers.cop import CopRequest
from handlers.registry import Registry
from handlers.views import TOO_SLOW, open_modal

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
            "If you are still in a community's channel, Cultivate stops counting you there. "
            "This cannot be undone."
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
            user = (await client.users_info(user=user_id)).get("user") or {}
    except (SlackApiError, TimeoutError):
        return []
    profile = user.get("profile") or {}
    found = (profile.get("display_name"), user.get("real_name"), profile.get("real_name"))
    return sorted({str(n) for n in found if n})


def register(registry: Registry) -> None:
    app, cop, runtime = registry.app, registry.cop, registry.runtime

    @cop.subcommand("forget", summary="see what Cultivate holds about you, and erase it")
    async def forget(request: CopRequest) -> None:
        held = await holdings(runtime.database, team_id=request.team_id, user_id=request.user_id)
        opened = await open_modal(
            request.client,
            trigger_id=request.trigger_id,
            view=forget_view(held),
            logger=request.logger,
        )
        if opened is None:
            await request.tell(TOO_SLOW)

    @app.view(FORGET_FORM)
    async def confirmed(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        # Who is erased is the person submitting, in the team the request came from: nothing
        # the view carries can point the erasure at anyone else.
        user_id, team_id = body["user"]["id"], context.team_id or ""
        values = (view.get("state") or {}).get("values") or {}
        chosen = ((values.get(KNOWLEDGE) or {}).get(KNOWLEDGE) or {}).get("selected_option")
        choice = (chosen or {}).get("value")
        if choice not in (KEEP, REMOVE):
            await ack(
                response_action="errors",
                errors={KNOWLEDGE: "Please choose whether to keep what you shared."},
            )
            return
        erased = await erase_person(
            runtime.database,
            runtime.clock,
            team_id=team_id,
            user_id=user_id,
            keep_knowledge=choice == KEEP,
            names=await _names_of(client, user_id),
        )
        await ack(response_action="update", view=done_view(erased.rows))

    async def gone(event: dict[str, Any], context: AsyncBoltContext) -> None:
        channel = event.get("channel")
        if isinstance(channel, dict):  # some events carry the channel object
            channel = channel.get("id")
        if isinstance(channel, str) and channel:
            await channel_gone(
                runtime.database, runtime.clock, team_id=context.team_id or "", channel_id=channel
            )

    for name in GONE_EVENTS:
        app.event(name)(gone)

    @app.event("user_change")
    async def user_changed(event: dict[str, Any], context: AsyncBoltContext) -> None:
        user = event.get("user")
        if isinstance(user, dict) and user.get("deleted") is True and user.get("id"):
            await person_deactivated(
                runtime.database,
                runtime.clock,
                team_id=context.team_id or "",
                user_id=str(user["id"]),
            )
