"""Meetings: planning them, keeping their reminders in step, RSVPs, and notes afterwards.

Who: a community's coordinators and its facilitators (the roles stage's `facilitators`
answer) schedule, edit and cancel meetings; anyone in the channel can RSVP.

What is planned: the next PLAN_AHEAD sessions of a meeting, never an endless series. Each
planned session has its rows in `scheduled_sends`: its announcement (due when the session
before it ends, so each session is announced once the previous one is over), its reminders
(due before it, dropped rather than sent once it has started), and at its end a prompt for
notes and a row that plans the next session. So a weekly meeting always has its next two
sessions, and their reminders, on the books, and a year-long series costs a handful of rows.

An edit bumps the meeting's plan version, cancels every pending row about the meeting and
plans again; sessions keep their rows (and RSVPs) and move to the new times in order. A
cancellation cancels every pending row and every session still to come.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import zip_longest
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.answers import clean, field_error
from bot.catalogue import ROLES, Option
from bot.clock import Clock
from bot.recurrence import Recurrence, Series, local_time
from bot.services import actions as action_items
from bot.services import live
from bot.services.access import InChannel, community_for
from bot.services.communities import (
    CommunityRecord,
    community_by_id,
    load_record,
    require_coordinator,
    require_open,
)
from bot.services.errors import EditConflict, Gone, InvalidAnswers, NotAllowed
from bot.services.meeting_form import (
    LAUNCH,
    LAUNCH_FIELDS,
    MAX_ACTIONS,
    MEETING,
    MEETING_FIELDS,
    NOTES_FIELDS,
    REMINDER_OFFSETS,
    Details,
    check,
    form_values,
)
from bot.services.sessions import sessions_of
from storage.db import Database
from storage.models import Meeting, MeetingOccurrence
from storage.repositories import communities as community_rows
from storage.repositories import live_messages, scheduled
from storage.repositories import meetings as meeting_rows

# Kinds of scheduled rows this feature sends.
ANNOUNCEMENT = "meeting_announcement"
REMINDER = "meeting_reminder"
NOTES_PROMPT = "meeting_notes_prompt"
PLAN_AHEAD_ROW = "meeting_plan_ahead"

PLAN_AHEAD = 2  # sessions of a series planned at any time
RSVP_ANSWERS = (Option("going", "Going"), Option("maybe", "Maybe"), Option("cant", "Can't go"))

CLOSED_MEETINGS = (
    "This community is closed, so its meetings are cancelled and cannot be planned or changed: "
    "its record is kept in the archive."
)
CLOSED_RSVP = "This community is closed, so its meetings are cancelled and no longer take answers."


@dataclass(frozen=True)
class Session:
    """One session of a meeting, as people see it."""

    meeting: Meeting
    occurrence: MeetingOccurrence
    counts: dict[str, int]

    @property
    def id(self) -> int:
        assert self.occurrence.id is not None
        return self.occurrence.id

    @property
    def cancelled(self) -> bool:
        return self.occurrence.cancelled_at is not None or self.meeting.cancelled_at is not None

    @property
    def subject(self) -> str:
        return occurrence_subject(self.id)

    @property
    def series(self) -> Series:
        return series_of(self.meeting)

    @property
    def local_start(self) -> datetime:
        return local_time(self.occurrence.starts_at, self.meeting.timezone)


@dataclass(frozen=True)
class Planned:
    """What a change left for the caller to do in Slack."""

    meeting: Meeting
    send_now: list[int]  # scheduled rows due at once (announcements)
    redraw: list[str]  # live messages whose content changed


def meeting_subject(meeting_id: int) -> str:
    return f"meeting:{meeting_id}"


def occurrence_subject(occurrence_id: int) -> str:
    return f"occurrence:{occurrence_id}"


def series_of(meeting: Meeting) -> Series:
    return Series(
        first_date=meeting.first_date,
        start_time=meeting.start_time,
        timezone=meeting.timezone,
        recurrence=Recurrence(meeting.recurrence),
        until=meeting.repeat_until,
    )


def facilitators(record: CommunityRecord) -> list[str]:
    return list(record.stages[ROLES.key].answers.get("facilitators") or [])


def can_organise(record: CommunityRecord, user_id: str) -> bool:
    """Coordinators and facilitators plan, change and cancel the community's meetings."""
    return record.is_coordinator(user_id) or user_id in facilitators(record)


def require_organiser(record: CommunityRecord, user_id: str) -> None:
    if not can_organise(record, user_id):
        raise NotAllowed(
            "Only this community's coordinators and facilitators can plan its meetings."
        )


# -- planning ---------------------------------------------------------------------------


async def create_meeting(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    submitted: dict[str, Any],
    purpose: str = MEETING,
) -> Planned:
    now = clock.now()
    details = check(
        submitted, fields=LAUNCH_FIELDS if purpose == LAUNCH else MEETING_FIELDS, now=now
    )
    async with _changing(database) as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        if purpose == LAUNCH:
            require_coordinator(record, user_id)  # the launch is the coordinators' to call
        require_organiser(record, user_id)
        require_open(record, CLOSED_MEETINGS)  # a closed community plans nothing more
        meeting = Meeting(
            team_id=team_id,
            community_id=community_id,
            purpose=purpose,
            organiser=user_id,
            created_at=now,
            updated_at=now,
            updated_by=user_id,
            **_columns(details),
        )
        await meeting_rows.add_meeting(session, meeting)
        send_now = await _plan(session, meeting, now)
    return Planned(meeting=meeting, send_now=send_now, redraw=[])


async def edit_meeting(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    meeting_id: int,
    user_id: str,
    submitted: dict[str, Any],
) -> Planned:
    now = clock.now()
    async with _changing(database) as session:
        meeting, record = await _changeable(session, team_id=team_id, meeting_id=meeting_id)
        fields = LAUNCH_FIELDS if meeting.purpose == LAUNCH else MEETING_FIELDS
        details = check(submitted, fields=fields, now=now)
        require_organiser(record, user_id)
        await _next_version(session, meeting)
        for name, value in _columns(details).items():
            setattr(meeting, name, value)
        meeting.updated_at, meeting.updated_by = now, user_id
        session.add(meeting)
        await scheduled.cancel(
            session,
            team_id=team_id,
            community_id=meeting.community_id,
            subject=meeting_subject(meeting_id),
            now=now,
        )
        send_now = await _plan(session, meeting, now)
        redraw = await _changed_sessions(session, meeting, now)
    return Planned(meeting=meeting, send_now=send_now, redraw=redraw)


async def cancel_meeting(
    database: Database, clock: Clock, *, team_id: str, meeting_id: int, user_id: str
) -> Planned:
    """Cancel the meeting and every session still to come: nothing about it stays pending."""
    now = clock.now()
    async with _changing(database) as session:
        meeting, record = await _changeable(session, team_id=team_id, meeting_id=meeting_id)
        require_organiser(record, user_id)
        redraw = await _cancel(session, meeting, user_id=user_id, now=now)
    return Planned(meeting=meeting, send_now=[], redraw=redraw)


async def _cancel(
    session: AsyncSession, meeting: Meeting, *, user_id: str, now: datetime
) -> list[str]:
    """Cancel the meeting, its pending rows and its sessions still to come; returns the
    live messages (announcements) that must now show it cancelled."""
    assert meeting.id is not None
    await _next_version(session, meeting)
    meeting.cancelled_at, meeting.cancelled_by = now, user_id
    session.add(meeting)
    await scheduled.cancel(
        session,
        team_id=meeting.team_id,
        community_id=meeting.community_id,
        subject=meeting_subject(meeting.id),
        now=now,
    )
    for occurrence in await meeting_rows.occurrences_of(session, meeting_id=meeting.id):
        if occurrence.cancelled_at is None and occurrence.starts_at > now:
            occurrence.cancelled_at = now
            session.add(occurrence)
    return await _changed_sessions(session, meeting, now)


async def cancel_for_closure(
    session: AsyncSession, *, team_id: str, community_id: int, user_id: str, now: datetime
) -> list[str]:
    """In the closure's unit of work: cancel every meeting with a session still to come, as a
    coordinator cancelling it would. Returns the announcements to redraw. A meeting changed at
    the same moment refuses the closure (EditConflict), so no change slips in after it."""
    redraw: list[str] = []
    for meeting in await meeting_rows.active_meetings(
        session, team_id=team_id, community_id=community_id
    ):
        assert meeting.id is not None
        sessions = await meeting_rows.occurrences_of(session, meeting_id=meeting.id)
        if any(o.cancelled_at is None and o.starts_at > now for o in sessions):
            redraw += await _cancel(session, meeting, user_id=user_id, now=now)
    return redraw


async def plan_ahead(database: Database, clock: Clock, *, team_id: str, meeting_id: int) -> Planned:
    """Keep the next sessions planned: run when a session ends."""
    now = clock.now()
    async with _changing(database) as session:
        meeting = await _active_meeting(session, team_id=team_id, meeting_id=meeting_id)
        send_now = await _plan(session, meeting, now)
    return Planned(meeting=meeting, send_now=send_now, redraw=[])


async def _active_meeting(session: AsyncSession, *, team_id: str, meeting_id: int) -> Meeting:
    meeting = await meeting_rows.meeting_by_id(session, team_id=team_id, meeting_id=meeting_id)
    if meeting is None:
        raise Gone("That meeting no longer exists.")
    if meeting.cancelled_at is not None:
        raise Gone("That meeting was cancelled.")
    return meeting


async def _changeable(
    session: AsyncSession, *, team_id: str, meeting_id: int
) -> tuple[Meeting, CommunityRecord]:
    """The meeting and its community, if it may still be changed: not cancelled, and its
    community not closed (checked first, so people are told why rather than "cancelled")."""
    meeting = await meeting_rows.meeting_by_id(session, team_id=team_id, meeting_id=meeting_id)
    if meeting is None:
        raise Gone("That meeting no longer exists.")
    record = await load_record(session, team_id=team_id, community_id=meeting.community_id)
    require_open(record, CLOSED_MEETINGS)
    return await _active_meeting(session, team_id=team_id, meeting_id=meeting_id), record


@asynccontextmanager
async def _changing(database: Database) -> AsyncIterator[AsyncSession]:
    """A unit of work that changes a meeting's plan. If a concurrent change took the same
    session number first, the database refuses ours and the caller is told to try again."""
    try:
        async with database.session() as session:
            yield session
    except IntegrityError:
        raise EditConflict(None, None) from None


async def _next_version(session: AsyncSession, meeting: Meeting) -> None:
    """Claim the next plan version, or refuse if another change got there first."""
    assert meeting.id is not None
    seen = meeting.plan_version
    if not await meeting_rows.bump_plan_version(session, meeting_id=meeting.id, seen=seen):
        raise EditConflict(None, None)
    meeting.plan_version = seen + 1  # as stored (the ORM has synchronised it already)


def _columns(details: Details) -> dict[str, Any]:
    return {
        "title": details.title,
        "agenda": details.agenda,
        "first_date": details.first_date,
        "start_time": details.start_time,
        "duration_minutes": details.duration_minutes,
        "timezone": details.timezone,
        "format": details.format,
        "place": details.place,
        "recurrence": details.recurrence,
        "repeat_until": details.until,
        "reminders": details.reminders,
        "facilitator": details.facilitator,
    }


async def _plan(session: AsyncSession, meeting: Meeting, now: datetime) -> list[int]:
    """Bring the meeting's next sessions and their rows in line with it. Returns the ids of
    rows due at once. Safe to run again: the dedupe keys carry the plan version, so a second
    run at the same version adds nothing."""
    assert meeting.id is not None
    everything = list(await meeting_rows.occurrences_of(session, meeting_id=meeting.id))
    active = [o for o in everything if o.cancelled_at is None]
    still_to_start = [o for o in active if o.starts_at > now]
    starts = series_of(meeting).starts_after(now, PLAN_AHEAD)
    length = timedelta(minutes=meeting.duration_minutes)
    next_seq = max((o.seq for o in everything), default=0) + 1
    # Sessions still to come keep their rows (and RSVPs) and take the new times in order.
    for occurrence, start in zip_longest(still_to_start, starts):
        if occurrence is None:
            occurrence = MeetingOccurrence(
                team_id=meeting.team_id,
                community_id=meeting.community_id,
                meeting_id=meeting.id,
                seq=next_seq,
                starts_at=start,
                ends_at=start + length,
            )
            next_seq += 1
            await meeting_rows.add_occurrence(session, occurrence)
            active.append(occurrence)
        elif start is None:
            occurrence.cancelled_at = now  # the series now ends sooner
            session.add(occurrence)
        else:
            occurrence.starts_at, occurrence.ends_at = start, start + length
            session.add(occurrence)
    await session.flush()

    community = await community_rows.community_by_id(
        session, team_id=meeting.team_id, community_id=meeting.community_id
    )
    assert community is not None  # a meeting goes with its community
    channels = {
        ANNOUNCEMENT: community.channel_id,
        REMINDER: community.channel_id,
        NOTES_PROMPT: notes_recipient(meeting),
    }
    planned = sorted((o for o in active if o.cancelled_at is None), key=lambda o: o.seq)
    announced = await live_messages.subjects_posted(
        session,
        team_id=meeting.team_id,
        subjects=[occurrence_subject(o.id) for o in planned if o.id is not None],
    )
    send_now: list[int] = []
    previous_end: datetime | None = None
    for occurrence in planned:
        if occurrence.ends_at <= now:
            previous_end = occurrence.ends_at
            continue
        assert occurrence.id is not None
        if occurrence.starts_at > now:
            if occurrence_subject(occurrence.id) not in announced:
                # Announced when the session before it is over, or now if that is past.
                due = max(now, previous_end) if previous_end is not None else now
                row_id = await _schedule(session, meeting, occurrence, channels, ANNOUNCEMENT, due)
                if row_id is not None and due <= now:
                    send_now.append(row_id)
            for code in meeting.reminders:
                due = occurrence.starts_at - REMINDER_OFFSETS[code]
                if due > now:  # a "week before" reminder is never sent three days before
                    await _schedule(
                        session, meeting, occurrence, channels, REMINDER, due, before=code
                    )
        await _schedule(session, meeting, occurrence, channels, NOTES_PROMPT, occurrence.ends_at)
        await _schedule(session, meeting, occurrence, channels, PLAN_AHEAD_ROW, occurrence.ends_at)
        previous_end = occurrence.ends_at
    return send_now


async def _schedule(
    session: AsyncSession,
    meeting: Meeting,
    occurrence: MeetingOccurrence,
    channels: dict[str, str],
    kind: str,
    due_at: datetime,
    *,
    before: str | None = None,
) -> int | None:
    """One row about a session, posting to its kind's channel in `channels` (if any). Its
    dedupe key names the plan version, the session, the kind (and the reminder), so planning
    twice at one version adds it once."""
    assert meeting.id is not None and occurrence.id is not None
    key = f"meeting:{meeting.id}:v{meeting.plan_version}:o{occurrence.id}:{kind}"
    payload: dict[str, Any] = {
        "meeting_id": meeting.id,
        "occurrence_id": occurrence.id,
        "starts_at": occurrence.starts_at.isoformat(),
        "version": meeting.plan_version,
        "title": meeting.title,
    }
    if before is not None:
        key, payload["before"] = f"{key}:{before}", before
    row = await scheduled.schedule(
        session,
        team_id=meeting.team_id,
        community_id=meeting.community_id,
        kind=kind,
        due_at=due_at,
        subject=meeting_subject(meeting.id),
        dedupe_key=key,
        payload=payload,
        channel=channels.get(kind),
        # An announcement or reminder for a session that has begun is pointless: dropped.
        stale_at=occurrence.starts_at if kind in (ANNOUNCEMENT, REMINDER) else None,
    )
    return row.id if row is not None else None


async def _changed_sessions(session: AsyncSession, meeting: Meeting, now: datetime) -> list[str]:
    """Sessions not yet over whose announcements must show the change, noted as changed."""
    assert meeting.id is not None
    subjects = [
        occurrence_subject(o.id)
        for o in await meeting_rows.occurrences_of(session, meeting_id=meeting.id)
        if o.id is not None and o.ends_at > now
    ]
    for subject in subjects:
        await live_messages.bump(session, team_id=meeting.team_id, subject=subject)
    return subjects


# -- reading ----------------------------------------------------------------------------


async def upcoming(
    database: Database, clock: Clock, *, team_id: str, community_id: int, limit: int = 20
) -> list[Session]:
    """Sessions not cancelled and not over, soonest first."""
    async with database.session() as session:
        counted = await meeting_rows.upcoming_with_counts(
            session, team_id=team_id, community_id=community_id, now=clock.now(), limit=limit
        )
    return [Session(m, o, counts) for o, m, counts in counted]


async def next_meetings(
    database: Database, clock: Clock, *, team_id: str, community_id: int
) -> list[Session]:
    """Each meeting's next session, soonest first: what `/cop meetings` lists."""
    sessions = await upcoming(database, clock, team_id=team_id, community_id=community_id)
    seen: set[int] = set()
    firsts = []
    for s in sessions:
        if s.meeting.id not in seen:
            seen.add(s.meeting.id or 0)
            firsts.append(s)
    return firsts


async def session_by_id(database: Database, *, team_id: str, occurrence_id: int) -> Session:
    async with database.session() as session:
        return await _session(session, team_id=team_id, occurrence_id=occurrence_id)


async def _session(session: AsyncSession, *, team_id: str, occurrence_id: int) -> Session:
    found = await meeting_rows.occurrence_with_meeting(
        session, team_id=team_id, occurrence_id=occurrence_id
    )
    if found is None:
        raise Gone("That meeting no longer exists.")
    occurrence, meeting = found
    counts = await meeting_rows.rsvp_counts(session, occurrence_id=occurrence_id)
    return Session(meeting, occurrence, counts)


async def meeting_for_edit(
    database: Database, clock: Clock, *, team_id: str, meeting_id: int, user_id: str
) -> tuple[Meeting, dict[str, Any]]:
    """The meeting and its form's values, for someone allowed to change it."""
    now = clock.now()
    async with database.session() as session:
        meeting, record = await _changeable(session, team_id=team_id, meeting_id=meeting_id)
        require_organiser(record, user_id)
        sessions = await meeting_rows.occurrences_of(session, meeting_id=meeting_id)
    next_start = next(
        (o.starts_at for o in sessions if o.cancelled_at is None and o.starts_at > now), None
    )
    return meeting, form_values(meeting, next_start)


def still_current(session: Session, payload: dict[str, Any]) -> str | None:
    """Why a scheduled row about this session should not go out, or None if it should."""
    if session.cancelled:
        return "the meeting was cancelled"
    if payload.get("starts_at") != session.occurrence.starts_at.isoformat():
        return "the meeting was moved"
    if payload.get("version") != session.meeting.plan_version:
        return "the meeting was changed"
    return None


async def due_session(database: Database, *, team_id: str, payload: dict[str, Any]) -> Session:
    """The session a scheduled row is about, if the row should still go out; Gone (saying
    why not) if the session was removed, cancelled, moved or changed since it was planned."""
    found = await session_by_id(
        database, team_id=team_id, occurrence_id=int(payload["occurrence_id"])
    )
    reason = still_current(found, payload)
    if reason is not None:
        raise Gone(reason)
    return found


async def meeting_channel(database: Database, *, team_id: str, community_id: int) -> str:
    """The channel a community's meetings are announced in: its own."""
    record = await community_by_id(database, team_id=team_id, community_id=community_id)
    return record.community.channel_id


async def planned_launch(
    database: Database, clock: Clock, *, team_id: str, community_id: int
) -> Session | None:
    """The launch workshop's next session, if one is planned."""
    sessions = await upcoming(database, clock, team_id=team_id, community_id=community_id)
    return next((s for s in sessions if s.meeting.purpose == LAUNCH), None)


# -- RSVPs and notes -------------------------------------------------------------------


async def record_announcement(
    database: Database, *, session: Session, channel_id: str, ts: str
) -> None:
    await live.record_message(
        database,
        team_id=session.meeting.team_id,
        community_id=session.meeting.community_id,
        subject=session.subject,
        channel_id=channel_id,
        ts=ts,
    )


async def rsvp(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    occurrence_id: int,
    user_id: str,
    answer: str,
    in_channel: InChannel | None = None,
) -> Session:
    """Record someone's answer (replacing any earlier one) and note the announcement changed.
    A private channel's meetings take answers only from the people in it."""
    if answer not in {o.value for o in RSVP_ANSWERS}:
        raise InvalidAnswers({"answer": "Not an answer we know."})
    async with database.session() as session:
        meeting = (await _session(session, team_id=team_id, occurrence_id=occurrence_id)).meeting
    await community_for(
        database,
        team_id=team_id,
        user_id=user_id,
        community_id=meeting.community_id,
        in_channel=in_channel,
    )
    now = clock.now()
    async with database.session() as session:
        found = await _session(session, team_id=team_id, occurrence_id=occurrence_id)
        record = await load_record(
            session, team_id=team_id, community_id=found.meeting.community_id
        )
        require_open(record, CLOSED_RSVP)
        if found.cancelled:
            raise Gone("That meeting was cancelled.")
        if found.occurrence.ends_at <= now:
            raise Gone("That meeting is over.")
        await meeting_rows.set_rsvp(
            session,
            team_id=team_id,
            occurrence_id=occurrence_id,
            user_id=user_id,
            answer=answer,
            now=now,
        )
        await live_messages.bump(session, team_id=team_id, subject=found.subject)
    return found


def notes_recipient(meeting: Meeting) -> str:
    """Who is asked for notes after a session: its facilitator, or whoever organised it."""
    return meeting.facilitator or meeting.organiser


async def save_notes(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    occurrence_id: int,
    user_id: str,
    submitted: dict[str, Any],
) -> Session:
    answers = clean(submitted)
    errors = {f.key: e for f in NOTES_FIELDS if (e := field_error(f, answers.get(f.key)))}
    actions = [line.strip(" •-*\t") for line in (answers.get("actions") or "").splitlines()]
    actions = [a for a in actions if a]
    if len(actions) > MAX_ACTIONS:
        errors["actions"] = f"Please keep this to {MAX_ACTIONS} actions or fewer."
    if errors:
        raise InvalidAnswers(errors)
    async with database.session() as session:
        found = await _session(session, team_id=team_id, occurrence_id=occurrence_id)
        record = await load_record(
            session, team_id=team_id, community_id=found.meeting.community_id
        )
        meeting = found.meeting
        if user_id not in (meeting.facilitator, meeting.organiser) and not can_organise(
            record, user_id
        ):
            raise NotAllowed(
                "Only the meeting's facilitator, its organiser, or the community's "
                "coordinators and facilitators can write its notes."
            )
        occurrence = found.occurrence
        occurrence.notes = answers["notes"]
        occurrence.notes_by, occurrence.notes_at = user_id, clock.now()
        session.add(occurrence)
        await action_items.sync_from_notes(
            session, occurrence=occurrence, lines=actions, now=clock.now()
        )
    return found


async def record_notes_message(
    database: Database, *, team_id: str, occurrence_id: int, ts: str
) -> None:
    async with database.session() as session:
        occurrence = await meeting_rows.occurrence_by_id(
            session, team_id=team_id, occurrence_id=occurrence_id
        )
        if occurrence is not None:
            occurrence.notes_ts = ts
            session.add(occurrence)


# -- meetings as other features see them: held (for health figures), and the next one --


@dataclass(frozen=True)
class MeetingHeld:
    title: str  # as typed: escape before posting
    starts_at: datetime  # aware, UTC
    going: int
    maybe: int = 0
    cant: int = 0


async def meetings_held(
    database: Database, record: CommunityRecord, *, start: datetime, end: datetime
) -> list[MeetingHeld]:
    """`meetings_between`, for a community already loaded (`/cop status` has it)."""
    held = [h for h in await sessions_of(database, record) if start <= h.starts_at < end]
    return _with_counts(held)


async def meetings_between(
    database: Database, *, team_id: str, community_id: int, start: datetime, end: datetime
) -> list[MeetingHeld]:
    """Meetings that started in [start, end), oldest first."""
    async with database.session() as session:
        held = await meeting_rows.held_between(
            session, team_id=team_id, community_id=community_id, start=start, end=end
        )
    return _with_counts(held)


def _with_counts(held: list[meeting_rows.Held]) -> list[MeetingHeld]:
    return [
        MeetingHeld(title=h.title, starts_at=h.starts_at, going=h.going, maybe=h.maybe, cant=h.cant)
        for h in held
    ]


@dataclass(frozen=True)
class UpcomingMeeting:
    title: str  # as a coordinator typed it: escape before posting
    starts_at: datetime  # aware, UTC
    where: str | None = None  # a room or a link, as typed


async def next_meeting(
    database: Database, clock: Clock, *, team_id: str, community_id: int
) -> UpcomingMeeting | None:
    """The community's next meeting after now, or None if none is planned."""
    now = clock.now()
    sessions = await upcoming(database, clock, team_id=team_id, community_id=community_id, limit=5)
    for session in sessions:
        if session.occurrence.starts_at > now and not session.cancelled:
            return UpcomingMeeting(
                title=session.meeting.title,
                starts_at=session.occurrence.starts_at,
                where=session.meeting.place or None,
            )
    return None
