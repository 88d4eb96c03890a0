"""How meetings look in Slack: the form, the announcement with its RSVP buttons, reminders,
the `/cop meetings` list, and the notes prompt, form and message; and the Slack work that
follows a change to a meeting (`after_change`, `redraw_session`), shared by the meetings,
launch and closure features."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.catalogue import Field
from bot.recurrence import describe as describe_series
from bot.services.meeting_form import DURATION, FORMAT, NOTES_FIELDS, REMINDER_OFFSETS
from bot.services.meetings import RSVP_ANSWERS, Planned, Session, session_by_id
from bot.text import escape, mention, slack_time, truncate
from handlers.action_views import EDIT_ACTIONS, action_line
from handlers.blocks import Block, actions, button, context, modal, plain, section
from handlers.forms import input_block
from handlers.live import redraw
from storage.models import MeetingAction

if TYPE_CHECKING:
    from handlers.registry import Registry

MEETING_FORM = "meeting_form"
NOTES_FORM = "meeting_notes"
RSVP = "rsvp"  # action ids "rsvp:going" etc.; the value is the session's id
EDIT = "meeting_edit"
CANCEL = "meeting_cancel"
WRITE_NOTES = "meeting_write_notes"
ADD_TO_CALENDAR = "meeting_add_to_calendar"  # the value is the meeting's id
AGENDA_LIMIT = 1500
OCCURRENCE = re.compile(r"^occurrence:(\d+)$")  # a session's live-message subject

BEFORE = {
    "1w": "in a week",
    "1d": "tomorrow",
    "1h": "in an hour",
    "15m": "in 15 minutes",
}
assert BEFORE.keys() == REMINDER_OFFSETS.keys()


def meeting_form(
    *,
    title: str,
    fields: tuple[Field, ...],
    values: dict[str, Any],
    metadata: dict[str, Any],
    callback_id: str = MEETING_FORM,
) -> dict[str, Any]:
    return modal(
        title=title,
        callback_id=callback_id,
        submit="Save",
        close="Cancel",
        metadata=metadata,
        blocks=[input_block(spec, values.get(spec.key)) for spec in fields],
    )


def when(session: Session) -> str:
    """The session's time, in each reader's own zone, then the meeting's own clock time."""
    local = session.local_start
    own = f"{local:%H:%M} {session.meeting.timezone}"
    return f"{slack_time(session.occurrence.starts_at, '{date_long_pretty} at {time}')} ({own})"


def where(session: Session) -> str:
    meeting = session.meeting
    parts = [
        DURATION.option_label(str(meeting.duration_minutes)),
        FORMAT.option_label(meeting.format),
    ]
    if meeting.place:
        parts.append(escape(meeting.place))
    return " · ".join(parts)


def counts(session: Session) -> str:
    return " · ".join(f"{session.counts.get(o.value, 0)} {o.label.lower()}" for o in RSVP_ANSWERS)


def announcement(session: Session) -> tuple[str, list[Block]]:
    """The message in the channel: what, when, where, and RSVP buttons that show the counts."""
    meeting = session.meeting
    title = escape(meeting.title)
    if session.cancelled:
        text = f"Cancelled: {title}, {when(session)}"
        return text, [section(f"~{title}~ *Cancelled*\n~{when(session)}~")]
    lines = [f"📅 *{title}*", when(session), where(session)]
    if meeting.recurrence != "none":
        lines.append(f"_{describe_series(session.series)}_")
    blocks: list[Block] = [section("\n".join(lines), accessory=add_to_calendar(session))]
    if meeting.agenda:
        blocks.append(section(f"*Agenda*\n{escape(truncate(meeting.agenda, AGENDA_LIMIT))}"))
    blocks.append(
        actions(
            *(
                button(
                    f"{o.label} ({session.counts.get(o.value, 0)})",
                    action_id=f"{RSVP}:{o.value}",
                    value=str(session.id),
                    style="primary" if o.value == "going" else None,
                )
                for o in RSVP_ANSWERS
            ),
            block_id=f"rsvp.{session.id}",
        )
    )
    blocks.append(context(f"{counts(session)} · organised by {mention(meeting.organiser)}"))
    return f"{title}: {when(session)}", blocks


def add_to_calendar(session: Session) -> Block:
    """The button that sends the person the meeting's `.ics` (the whole series) by DM."""
    return button("Add to calendar", action_id=ADD_TO_CALENDAR, value=str(session.meeting.id))


def reminder(session: Session, before: str) -> tuple[str, list[Block]]:
    title = escape(session.meeting.title)
    text = f"⏰ *{title}* starts {BEFORE.get(before, 'soon')}: {when(session)}\n{where(session)}"
    return text, [section(text, accessory=add_to_calendar(session))]


def meetings_list(sessions: list[Session], *, can_manage: bool) -> list[Block]:
    """`/cop meetings`: each meeting's next session, with edit and cancel for its organisers."""
    if not sessions:
        return [section("No meetings are planned. `/cop meeting` plans one.")]
    blocks: list[Block] = []
    for session in sessions:
        meeting = session.meeting
        lines = [f"*{escape(meeting.title)}*", when(session), where(session)]
        if meeting.recurrence != "none":
            lines.append(f"_{describe_series(session.series)}_")
        lines.append(counts(session))
        blocks.append(section("\n".join(lines)))
        if can_manage:
            cancel = button(
                "Cancel meeting", action_id=f"{CANCEL}:{meeting.id}", value=str(meeting.id)
            )
            cancel["style"] = "danger"
            cancel["confirm"] = {
                "title": plain("Cancel this meeting?"),
                "text": plain(
                    "Every session still to come is cancelled, and nobody is reminded of it."
                ),
                "confirm": plain("Cancel it"),
                "deny": plain("Keep it"),
            }
            blocks.append(
                actions(
                    button("Edit", action_id=f"{EDIT}:{meeting.id}", value=str(meeting.id)),
                    cancel,
                )
            )
    return blocks[:50]


def notes_prompt(session: Session) -> tuple[str, list[Block]]:
    title = escape(session.meeting.title)
    text = f"How did *{title}* go? Add its notes and actions and I'll post them in the channel."
    return text, [
        section(f"{text}\n{when(session)}"),
        actions(button("Add notes and actions", action_id=WRITE_NOTES, value=str(session.id))),
    ]


def notes_form(session: Session, agreed: Sequence[MeetingAction]) -> dict[str, Any]:
    occurrence = session.occurrence
    values = {"notes": occurrence.notes, "actions": "\n".join(a.text for a in agreed)}
    return modal(
        title="Notes and actions",
        callback_id=NOTES_FORM,
        submit="Post",
        close="Cancel",
        metadata={"session": session.id},
        blocks=[
            context(f"*{escape(session.meeting.title)}*, {when(session)}"),
            *(input_block(spec, values.get(spec.key)) for spec in NOTES_FIELDS),
        ],
    )


def notes_message(session: Session, agreed: Sequence[MeetingAction]) -> tuple[str, list[Block]]:
    """The notes in the channel, with each action's owner, due date and done state, and a
    button for owners and dates (the service checks who may)."""
    occurrence = session.occurrence
    title = escape(session.meeting.title)
    blocks: list[Block] = [
        section(f"📝 *Notes from {title}*, {when(session)}"),
        section(escape(occurrence.notes or "")),
    ]
    if agreed:
        listed = "\n".join(f"• {action_line(a)}" for a in agreed)
        blocks.append(section(f"*Actions*\n{listed}"))
        blocks.append(
            actions(
                button("Owners and dates", action_id=EDIT_ACTIONS, value=str(session.id)),
                block_id=f"actions.{session.id}",
            )
        )
    if occurrence.notes_by:
        blocks.append(context(f"Written by {mention(occurrence.notes_by)}"))
    return f"Notes from {title}", blocks


async def after_change(registry: Registry, planned: Planned, client: AsyncWebClient) -> None:
    """Send what a change scheduled for now (announcements), and redraw what it changed."""
    await registry.dispatcher.send_now(planned.send_now)
    for subject in planned.redraw:
        await redraw_session(registry, client, team_id=planned.meeting.team_id, subject=subject)


async def redraw_session(
    registry: Registry, client: AsyncWebClient, *, team_id: str, subject: str
) -> None:
    """Redraw a session's announcement (its RSVP counts, or its cancellation) in place."""
    match = OCCURRENCE.match(subject)
    if match is None:
        return
    occurrence_id = int(match.group(1))
    database = registry.runtime.database

    async def render() -> tuple[str, list[Block]]:
        return announcement(
            await session_by_id(database, team_id=team_id, occurrence_id=occurrence_id)
        )

    await redraw(registry.runtime, client, team_id=team_id, subject=subject, render=render)
