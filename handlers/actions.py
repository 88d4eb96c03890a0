"""Actions that get done: owners and due dates for a meeting's actions, the owner's message
with *Done*, the reminder the day before, and overdue actions in `/cop status` and App Home."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Drop, Due
from bot.services.actions import (
    ASSIGNED,
    REMINDER,
    Assigned,
    DueAction,
    actions_of,
    assign,
    due_action,
    for_editing,
    mark_done,
    overdue,
    record_message,
)
from bot.services.communities import CommunityRecord, is_closed
from bot.services.errors import CommunityError, Gone, InvalidAnswers
from bot.services.meetings import meeting_channel, session_by_id
from bot.text import escape
from handlers import action_views as views
from handlers.blocks import Block, as_id
from handlers.meeting_views import notes_message
from handlers.names import slack_user
from handlers.registry import Registry, Surface
from handlers.requests import Click, Submission, refusal
from handlers.views import tell_privately

ACTION_ID = re.compile(r"^(owner|due)\.(\d+)$")


# -- owners and due dates -------------------------------------------------------------------


async def open_actions_form(click: Click) -> None:
    """ "Owners and dates" under the notes: the form, for whoever may write the notes."""
    try:
        editing = await for_editing(
            click.database,
            click.clock,
            team_id=click.team_id,
            occurrence_id=as_id(click.value),
            user_id=click.user_id,
        )
    except CommunityError as refused:
        await click.tell(refusal(refused, then="Nothing was changed."))
        return
    if not editing.actions:
        await click.tell("This meeting's notes list no actions.")
        return
    await click.open_form(views.actions_form(editing))


async def save_owners_and_dates(submission: Submission) -> None:
    """The owners and due dates saved (the service checks who may, and which actions are this
    session's); then each new owner's message sent, and the notes in the channel redrawn."""
    state = submission.state
    action_ids = sorted({int(m.group(2)) for key in state if (m := ACTION_ID.match(key))})
    chosen = views.chosen(state, action_ids)
    occurrence_id = as_id(submission.metadata.get("session"))
    # Only people newly chosen are looked up: those already owners were checked when chosen.
    already = await actions_of(
        submission.database, team_id=submission.team_id, occurrence_id=occurrence_id
    )
    owners = {owner for owner, _ in chosen.values() if owner} - {a.owner for a in already}
    try:
        saved = await assign(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            occurrence_id=occurrence_id,
            user_id=submission.user_id,
            chosen=chosen,
            bots={o for o in owners if await _is_app(submission.client, o)},
        )
    except InvalidAnswers as refused:
        await submission.errors(refused.errors)
        return
    except CommunityError as refused:
        first = next(iter(state), None)
        if first is None:
            await submission.close()
            await submission.tell(refusal(refused))
            return
        await submission.errors({first: refusal(refused)})
        return
    await submission.close()
    await submission.registry.dispatcher.send_now(saved.send_now)
    await _redraw_notes(submission, saved)


async def _is_app(client: AsyncWebClient, user_id: str) -> bool:
    """Whether Slack says this is an app (a bot user) or a deactivated account."""
    person = await slack_user(client, user_id)
    return bool(person and (person.get("is_bot") or person.get("deleted")))


async def _redraw_notes(submission: Submission, saved: Assigned) -> None:
    occurrence = saved.occurrence
    if not occurrence.notes_ts or occurrence.id is None:
        return
    database, team_id = submission.database, submission.team_id
    found = await session_by_id(database, team_id=team_id, occurrence_id=occurrence.id)
    channel = await meeting_channel(
        database, team_id=team_id, community_id=saved.meeting.community_id
    )
    text, blocks = notes_message(found, saved.actions)
    await submission.client.chat_update(
        channel=channel, ts=occurrence.notes_ts, text=text, blocks=blocks
    )


# -- done -----------------------------------------------------------------------------------


async def mark_action_done(click: Click) -> None:
    """*Done* (in the owner's message, its reminder, `/cop status` or App Home): the service
    checks the action is this team's and the person its owner or a coordinator."""
    try:
        done = await mark_done(
            click.database,
            click.clock,
            team_id=click.team_id,
            action_id=as_id(click.value),
            user_id=click.user_id,
        )
    except CommunityError as refused:
        await click.tell(refusal(refused, then="Nothing was changed."))
        return
    action = done.item.action
    text, blocks = views.owner_message(done.item, done.record.community.name)
    if action.dm_channel and action.dm_ts:  # the owner's message, changed in place
        await click.client.chat_update(
            channel=action.dm_channel, ts=action.dm_ts, text=text, blocks=blocks
        )
    if _clicked_ts(click.body) == action.dm_ts:
        return
    said = "was already done" if done.already else "is done"
    if click.channel_id and click.channel_id.startswith("D"):  # the reminder: it says so
        await click.respond(text=text, blocks=blocks, replace_original=True)
        return
    await tell_privately(
        click.client, user_id=click.user_id, text=f"✅ *{escape(action.text)}* {said}."
    )


def _clicked_ts(body: dict[str, Any]) -> str | None:
    message = body.get("message") or {}
    return message.get("ts") or (body.get("container") or {}).get("message_ts")


# -- what the scheduler sends ---------------------------------------------------------------


async def _due(registry: Registry, due: Due) -> DueAction:
    try:
        return await due_action(registry.runtime.database, team_id=due.team_id, payload=due.payload)
    except Gone as gone:
        raise Drop(str(gone)) from None


async def send_owner_message(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """The owner's message: the action, the meeting, the due date and *Done*."""
    found = await _due(registry, due)
    text, blocks = views.owner_message(found.item, found.record.community.name)
    posted = await client.chat_postMessage(channel=found.owner, text=text, blocks=blocks)
    await record_message(
        registry.runtime.database,
        team_id=due.team_id,
        action_id=found.item.id,
        channel=str(posted["channel"]),
        ts=str(posted["ts"]),
    )


async def send_action_reminder(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """The day before an action is due, to its owner, unless it is done or changed."""
    found = await _due(registry, due)
    text, blocks = views.reminder_message(found.item, found.record.community.name)
    await client.chat_postMessage(channel=found.owner, text=text, blocks=blocks)


# -- `/cop status` and App Home -------------------------------------------------------------


async def overdue_actions(
    registry: Registry, record: CommunityRecord, viewer: str, surface: Surface
) -> list[Block]:
    """Actions past their due date and not done, with *Done* for whoever may press it."""
    if is_closed(record):
        return []  # a closed community's actions are its record, nothing to chase
    runtime = registry.runtime
    items = await overdue(runtime.database, runtime.clock, record=record)
    return views.overdue_blocks(items, viewer=viewer, coordinator=record.is_coordinator(viewer))


def register(registry: Registry) -> None:
    registry.submission(views.ACTIONS_FORM, save_owners_and_dates)
    registry.click(views.EDIT_ACTIONS, open_actions_form)
    registry.click(re.compile(rf"^{views.DONE}(:\d+)?$"), mark_action_done)
    registry.senders.register(
        ASSIGNED,
        partial(send_owner_message, registry),
        description="a message giving someone a meeting's action",
    )
    registry.senders.register(
        REMINDER,
        partial(send_action_reminder, registry),
        description="a reminder of an action due tomorrow",
    )
    registry.sections.append(partial(overdue_actions, registry))
