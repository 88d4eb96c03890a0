"""Capturing what a closing community learned: the prompt in its channel, each member's
invitation and reminders, and the "Share what you learned" form.

The service decides who may share and until when (`bot.services.closure`); this module draws
the prompts and the form.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Drop, Due
from bot.once import post_once
from bot.services import capture, library
from bot.services import closure as closing
from bot.services.communities import CommunityRecord, community_by_id
from bot.services.errors import CommunityError, InvalidAnswers
from bot.text import calendar_date, escape, plural
from handlers.blocks import Block, actions, as_id, button, context, modal, section
from handlers.forms import errors_on_blocks, input_block, read_state
from handlers.registry import Registry
from handlers.requests import Click, Submission
from handlers.views import open_modal, tell_privately
from storage.models import Closure, LibraryEntry

CAPTURE_FORM = "capture_form"
SHARE = "capture_share"


def library_note(total: int, latest: list[LibraryEntry]) -> str | None:
    """What the community's library already holds: where sharing starts from."""
    if not total:
        return None
    titles = "\n".join(f"• {escape(e.title)}" for e in latest)
    return (
        f"The community's library already holds {plural(total, 'entry', 'entries')}, which go "
        f"into the archive too (`/cop library` finds them). The latest:\n{titles}"
    )


def capture_form(
    closure_id: int, name: str, earlier: dict[str, Any], held: str | None = None
) -> dict[str, Any]:
    blocks: list[Block] = [
        section(f"What did you learn in *{escape(name)}*? Answer what you can; you can come back.")
    ]
    if held:
        blocks.append(context(held))
    blocks += [input_block(spec, earlier.get(spec.key)) for spec in capture.CAPTURE_FIELDS]
    return modal(
        title="Share what you learned",
        blocks=blocks,
        callback_id=CAPTURE_FORM,
        submit="Share",
        metadata={"closure": closure_id},
    )


def share_button(closure_id: int) -> Block:
    return actions(
        button("Share what you learned", action_id=SHARE, value=str(closure_id), style="primary")
    )


async def _closure_and_community(registry: Registry, due: Due) -> tuple[Closure, CommunityRecord]:
    database = registry.runtime.database
    closure = await closing.closure_by_id(
        database, team_id=due.team_id, closure_id=int(due.payload["closure_id"])
    )
    record = await community_by_id(database, team_id=due.team_id, community_id=closure.community_id)
    return closure, record


async def prompt_channel(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """The channel is asked, once, to share what it learned before the closing date."""
    closure, record = await _closure_and_community(registry, due)
    name = escape(record.community.name)
    text = (
        f"📚 *{name}* is closing on {calendar_date(closure.closing_date)}. Before it does, "
        f"please share what you learned: you have {closure.capture_days} days. What you "
        "share goes into the community's archive, which outlives this channel.\n"
        + closing.reason_of(closure)
    )
    blocks = [section(text)]
    total, latest = await library.held(
        registry.runtime.database, community_id=record.community.id or 0
    )
    if held := library_note(total, latest):
        blocks.append(context(held))
    await post_once(
        client,
        due,
        channel=record.community.channel_id,
        text=text,
        blocks=[*blocks, share_button(int(due.payload["closure_id"]))],
    )


async def invite_member(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """One member asked, by direct message, what they learned; or reminded, unless they have
    answered or left since."""
    closure, record = await _closure_and_community(registry, due)
    reminder = due.kind == closing.CAPTURE_REMINDER
    if reminder and not await capture.still_waiting(
        registry.runtime.database, team_id=due.team_id, payload=due.payload
    ):
        raise Drop("already answered, or no longer a member")
    name = escape(record.community.name)
    text = (
        (
            f"A reminder: *{name}* would value what you learned before it closes on "
            f"{calendar_date(closure.closing_date)}."
            if reminder
            else f"*{name}* is closing on {calendar_date(closure.closing_date)}. What did you "
            "learn there? Your answers go into its archive, so the knowledge is not lost."
        )
        + "\n"
        + closing.reason_of(closure)
    )
    await client.chat_postMessage(
        channel=str(due.payload["user"]),
        text=text,
        blocks=[section(text), share_button(int(due.payload["closure_id"]))],
    )


async def open_capture_form(click: Click) -> None:
    """The "Share what you learned" button: the form, with the person's earlier answers."""
    closure_id = as_id(click.action.get("value"))
    try:
        # Refused before the form opens, as it would be on saving: outsiders, and after
        # the closing date.
        _, record = await capture.capture_closure(
            click.database,
            click.clock,
            team_id=click.team_id,
            closure_id=closure_id,
            user_id=click.user_id,
        )
    except CommunityError as refused:
        await tell_privately(click.client, user_id=click.user_id, text=str(refused))
        return
    earlier = await capture.latest_capture(
        click.database, closure_id=closure_id, user_id=click.user_id
    )
    total, latest = await library.held(click.database, community_id=record.community.id or 0)
    view = capture_form(
        closure_id,
        record.community.name,
        earlier.answers if earlier else {},
        library_note(total, latest),
    )
    await open_modal(click.client, trigger_id=click.trigger_id, view=view, logger=click.logger)


async def capture_shared(submission: Submission) -> None:
    """The answers saved (the service checks who may share, and until when)."""
    block_ids = [f.key for f in capture.CAPTURE_FIELDS]
    try:
        await capture.save_capture(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            closure_id=as_id(submission.metadata.get("closure")),
            user_id=submission.user_id,
            submitted=read_state(capture.CAPTURE_FIELDS, submission.view.get("state") or {}),
        )
    except InvalidAnswers as invalid:
        await submission.errors(errors_on_blocks(invalid.errors, block_ids))
        return
    except CommunityError as refused:
        await submission.errors({block_ids[0]: str(refused)})
        return
    await submission.ack()


def register(registry: Registry) -> None:
    senders = registry.senders
    senders.register(
        closing.CAPTURE_PROMPT,
        partial(prompt_channel, registry),
        description="asking the channel what it learned",
    )
    invite = partial(invite_member, registry)
    senders.register(
        closing.CAPTURE_INVITE, invite, description="asking a member what they learned"
    )
    senders.register(closing.CAPTURE_REMINDER, invite, description="reminding a member to share")
    registry.click(SHARE, open_capture_form)
    registry.submission(CAPTURE_FORM, capture_shared)
