"""Actions that get done: each action a meeting's notes agree is a row with an owner, a due date
and a done state.

Who: whoever may write a meeting's notes (its facilitator, its organiser, the community's
coordinators and facilitators) gives each action an owner and a due date; the owner or a
coordinator marks it done.

What is sent: when an action gets an owner (or a new one, or a new due date) the owner gets a
message with a *Done* button (a scheduled row sent at once); the day before it is due, at
REMIND_AT in the community's time zone, a reminder (a scheduled row). Both are keyed by the
action and its `version`, which every change of owner or due date bumps, so each change plans
them afresh and each is sent once. Done, removed from the notes, or the community closed: they
are dropped.

Overdue (not done, due before today where the community is) is decided in one place,
`overdue`, which `/cop status`, App Home, the health digest and the sponsor report all use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.services.communities import (
    CommunityRecord,
    is_closed,
    load_record,
    require_open,
)
from bot.services.errors import Gone, InvalidAnswers, NotAllowed
from bot.services.milestones import today_for
from bot.stand_ins import is_erased
from storage.db import Database
from storage.models import Meeting, MeetingAction, MeetingOccurrence
from storage.repositories import actions as action_rows
from storage.repositories import meetings as meeting_rows
from storage.repositories import scheduled

# Kinds of scheduled rows this feature sends.
ASSIGNED = "action_assigned"  # the owner's message with its Done button
REMINDER = "action_reminder"  # the day before it is due

REMIND_AT = time(9, 0)  # the day before, in the community's time zone
STALE_AFTER = timedelta(hours=15)  # a reminder later than the day's end is pointless

CLOSED_ACTIONS = (
    "This community is closed, so its meetings' actions can no longer be changed: they are "
    "kept as its record, in the archive."
)
NOT_ALLOWED_ASSIGN = (
    "Only the meeting's facilitator, its organiser, or the community's coordinators and "
    "facilitators can give its actions owners and dates."
)
NOT_ALLOWED_DONE = "Only the action's owner or a coordinator can mark it done."


def subject(action_id: int) -> str:
    return f"action:{action_id}"


@dataclass(frozen=True)
class ActionItem:
    """An action as people see it, with the meeting that agreed it."""

    action: MeetingAction
    meeting_title: str  # as typed: escape before posting
    held_on: date  # the session's day, where the community is

    @property
    def id(self) -> int:
        assert self.action.id is not None
        return self.action.id


def may_assign(record: CommunityRecord, meeting: Meeting, user_id: str) -> bool:
    """Whoever may write the meeting's notes may give its actions owners and dates."""
    return (
        user_id in (meeting.facilitator, meeting.organiser)
        or record.is_coordinator(user_id)
        or user_id in record.facilitators
    )


def _held_on(record: CommunityRecord, occurrence: MeetingOccurrence) -> date:
    return occurrence.starts_at.astimezone(ZoneInfo(record.community.timezone)).date()


# -- from the notes -------------------------------------------------------------------------


async def sync_from_notes(
    session: AsyncSession, *, occurrence: MeetingOccurrence, lines: Sequence[str], now: datetime
) -> None:
    """Make the session's actions the notes' lines, in their order. A line kept as it was keeps
    its row (owner, due date, done); a line no longer there takes its row and what was planned
    for it away; a new line is a new row with no owner and no date."""
    assert occurrence.id is not None
    existing = list(
        await action_rows.of_occurrence(
            session, team_id=occurrence.team_id, occurrence_id=occurrence.id
        )
    )
    for position, line in enumerate(lines):
        kept = next((a for a in existing if a.text == line), None)
        if kept is not None:
            existing.remove(kept)
            kept.position = position
            session.add(kept)
            continue
        session.add(
            MeetingAction(
                team_id=occurrence.team_id,
                community_id=occurrence.community_id,
                occurrence_id=occurrence.id,
                position=position,
                text=line,
                created_at=now,
            )
        )
    for gone in existing:
        assert gone.id is not None
        await scheduled.cancel(
            session,
            team_id=gone.team_id,
            community_id=gone.community_id,
            subject=subject(gone.id),
            now=now,
        )
    await action_rows.remove(session, action_ids=[a.id for a in existing if a.id is not None])
    await session.flush()


async def actions_of(
    database: Database, *, team_id: str, occurrence_id: int
) -> list[MeetingAction]:
    async with database.session() as session:
        return list(
            await action_rows.of_occurrence(session, team_id=team_id, occurrence_id=occurrence_id)
        )


async def actions_of_sessions(
    database: Database, *, occurrence_ids: Sequence[int]
) -> dict[int, list[MeetingAction]]:
    async with database.session() as session:
        return await action_rows.of_occurrences(session, occurrence_ids=occurrence_ids)


# -- owners and due dates -------------------------------------------------------------------


@dataclass(frozen=True)
class ForEditing:
    record: CommunityRecord
    meeting: Meeting
    occurrence: MeetingOccurrence
    actions: list[MeetingAction]
    today: date  # where the community is: a due date before it is refused


async def _occurrence(
    session: AsyncSession, *, team_id: str, occurrence_id: int
) -> tuple[MeetingOccurrence, Meeting]:
    found = await meeting_rows.occurrence_with_meeting(
        session, team_id=team_id, occurrence_id=occurrence_id
    )
    if found is None:
        raise Gone("That meeting no longer exists.")
    return found


async def _assignable(
    session: AsyncSession, *, team_id: str, occurrence_id: int, user_id: str
) -> tuple[MeetingOccurrence, Meeting, CommunityRecord]:
    """A session whose actions this person may give owners and dates, in an open community."""
    occurrence, meeting = await _occurrence(session, team_id=team_id, occurrence_id=occurrence_id)
    record = await load_record(session, team_id=team_id, community_id=meeting.community_id)
    if not may_assign(record, meeting, user_id):
        raise NotAllowed(NOT_ALLOWED_ASSIGN)
    require_open(record, CLOSED_ACTIONS)
    return occurrence, meeting, record


async def for_editing(
    database: Database, clock: Clock, *, team_id: str, occurrence_id: int, user_id: str
) -> ForEditing:
    """A session's actions, for someone who may give them owners and dates."""
    async with database.session() as session:
        occurrence, meeting, record = await _assignable(
            session, team_id=team_id, occurrence_id=occurrence_id, user_id=user_id
        )
        assert occurrence.id is not None
        found = await action_rows.of_occurrence(
            session, team_id=team_id, occurrence_id=occurrence.id
        )
        today = today_for(record.community, clock.now())
        return ForEditing(record, meeting, occurrence, list(found), today)


@dataclass(frozen=True)
class Assigned:
    """What a save of owners and dates left to do in Slack."""

    record: CommunityRecord
    meeting: Meeting
    occurrence: MeetingOccurrence
    actions: list[MeetingAction]
    send_now: list[int]  # the owners' messages, to send at once


def owner_key(action_id: int) -> str:
    return f"owner.{action_id}"


def due_key(action_id: int) -> str:
    return f"due.{action_id}"


async def assign(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    occurrence_id: int,
    user_id: str,
    chosen: dict[int, tuple[str | None, date | None]],
    bots: set[str],
) -> Assigned:
    """Save each action's owner and due date (`chosen`, by action id; an id that is not one of
    this session's actions is ignored). A due date before today, or an owner who is an app, is
    refused under its field, and nothing is saved."""
    now = clock.now()
    send_now: list[int] = []
    async with database.session() as session:
        occurrence, meeting, record = await _assignable(
            session, team_id=team_id, occurrence_id=occurrence_id, user_id=user_id
        )
        today = today_for(record.community, now)
        found = list(
            await action_rows.of_occurrence(session, team_id=team_id, occurrence_id=occurrence_id)
        )
        errors: dict[str, str] = {}
        changed: list[MeetingAction] = []
        for action in found:
            assert action.id is not None
            if action.id not in chosen:
                continue
            owner, due = chosen[action.id]
            if owner is not None and owner in bots:
                errors[owner_key(action.id)] = "Choose a person: an app cannot do an action."
            if due is not None and due != action.due and due < today:
                errors[due_key(action.id)] = "This date has passed: choose today or a later day."
            if (owner, due) != (action.owner, action.due):
                changed.append(action)
        if errors:
            raise InvalidAnswers(errors)
        for action in changed:
            action.owner, action.due = chosen[action.id or 0]
            action.version += 1
            session.add(action)
            send_now += await _replan(session, record=record, action=action, now=now)
        await session.flush()
        return Assigned(record, meeting, occurrence, found, send_now)


async def _replan(
    session: AsyncSession, *, record: CommunityRecord, action: MeetingAction, now: datetime
) -> list[int]:
    """Cancel what was planned for the action and plan its owner's message (returned, to send
    at once) and its reminder again, from its owner and due date."""
    assert action.id is not None
    await scheduled.cancel(
        session,
        team_id=action.team_id,
        community_id=action.community_id,
        subject=subject(action.id),
        now=now,
    )
    if action.owner is None or action.done_at is not None:
        return []
    payload = {"action": action.id, "version": action.version, "user": action.owner}
    message = await scheduled.schedule(
        session,
        team_id=action.team_id,
        community_id=action.community_id,
        kind=ASSIGNED,
        due_at=now,
        subject=subject(action.id),
        dedupe_key=f"{ASSIGNED}:{action.id}:v{action.version}",
        payload=payload,
        channel=action.owner,
    )
    if action.due is not None:
        zone = ZoneInfo(record.community.timezone)
        due_at = datetime.combine(action.due - timedelta(days=1), REMIND_AT, zone)
        if due_at > now:
            await scheduled.schedule(
                session,
                team_id=action.team_id,
                community_id=action.community_id,
                kind=REMINDER,
                due_at=due_at,
                stale_at=due_at + STALE_AFTER,
                subject=subject(action.id),
                dedupe_key=(f"{REMINDER}:{action.id}:{action.due.isoformat()}:v{action.version}"),
                payload={**payload, "due": action.due.isoformat()},
                channel=action.owner,
            )
    return [message.id] if message is not None and message.id is not None else []


# -- done -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Done:
    item: ActionItem
    record: CommunityRecord
    already: bool  # it was done before this click


async def mark_done(
    database: Database, clock: Clock, *, team_id: str, action_id: int, user_id: str
) -> Done:
    """Mark an action done: only its owner or a coordinator may, whatever button they pressed.
    Done twice is harmless: the second time changes nothing."""
    now = clock.now()
    async with database.session() as session:
        action = await action_rows.action_by_id(session, team_id=team_id, action_id=action_id)
        if action is None:
            raise Gone("That action is no longer in the meeting's notes.")
        record = await load_record(session, team_id=team_id, community_id=action.community_id)
        if user_id != action.owner and not record.is_coordinator(user_id):
            raise NotAllowed(NOT_ALLOWED_DONE)
        occurrence, meeting = await _occurrence(
            session, team_id=team_id, occurrence_id=action.occurrence_id
        )
        already = action.done_at is not None
        if not already:
            require_open(record, CLOSED_ACTIONS)
            action.done_at, action.done_by = now, user_id
            session.add(action)
            await scheduled.cancel(
                session,
                team_id=team_id,
                community_id=action.community_id,
                subject=subject(action_id),
                now=now,
            )
        item = ActionItem(action, meeting.title, _held_on(record, occurrence))
        return Done(item, record, already)


async def record_message(
    database: Database, *, team_id: str, action_id: int, channel: str, ts: str
) -> None:
    """Keep where the owner's message is, to change it in place when the action is done."""
    async with database.session() as session:
        action = await action_rows.action_by_id(session, team_id=team_id, action_id=action_id)
        if action is not None:
            action.dm_channel, action.dm_ts = channel, ts
            session.add(action)


# -- what the scheduler sends ---------------------------------------------------------------


@dataclass(frozen=True)
class DueAction:
    item: ActionItem
    record: CommunityRecord
    owner: str


async def due_action(database: Database, *, team_id: str, payload: dict[str, Any]) -> DueAction:
    """The action a scheduled row is about, if it still makes sense to send: still there, at
    the version planned, not done, its owner still a person, its community open."""
    async with database.session() as session:
        action = await action_rows.action_by_id(
            session, team_id=team_id, action_id=int(payload.get("action") or 0)
        )
        if action is None:
            raise Gone("the action was removed from the notes")
        if action.version != payload.get("version"):
            raise Gone("the action's owner or due date changed since")
        if action.done_at is not None:
            raise Gone("the action is done")
        if action.owner is None or is_erased(action.owner):
            raise Gone("the action has no owner")
        record = await load_record(session, team_id=team_id, community_id=action.community_id)
        if is_closed(record):
            raise Gone("the community is closed")
        occurrence, meeting = await _occurrence(
            session, team_id=team_id, occurrence_id=action.occurrence_id
        )
        item = ActionItem(action, meeting.title, _held_on(record, occurrence))
        return DueAction(item, record, action.owner)


# -- overdue: the one definition ------------------------------------------------------------


async def overdue(database: Database, clock: Clock, *, record: CommunityRecord) -> list[ActionItem]:
    """The community's overdue actions: not done, due before today in the community's time
    zone, earliest due first. Every surface that shows overdue actions asks here."""
    community = record.community
    assert community.id is not None
    day = today_for(community, clock.now())
    async with database.session() as session:
        found = await action_rows.open_due_before(
            session, team_id=community.team_id, community_id=community.id, day=day
        )
    return [ActionItem(a, meeting.title, _held_on(record, held)) for a, meeting, held in found]
