"""Closing a community: the closure's plan and the celebration on the closing day (what the
members capture meanwhile is `bot.services.capture`).

`/cop close` makes the community read-only at once (see `bot.services.communities.is_closed`), cancels
everything it had pending (reminders, meetings, follow-ups) in the same unit of work, and plans
the closure's own sends: a prompt in the channel and to every member now, at most the
configured reminders to those who have not answered, and the celebration on the closing date.
Every one has a dedupe key, so a retried request or a double click sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from bot.answers import clean, field_error, is_empty
from bot.catalogue import GOVERNANCE, ROLES, Field, Kind, Option
from bot.clock import Clock
from bot.services import counting
from bot.services.communities import CLOSED_NOTE as CLOSED_NOTE
from bot.services.communities import CommunityRecord, load_record, require_coordinator, require_open
from bot.services.errors import EditConflict, Gone, InvalidAnswers
from bot.services.joining import lapse_pending_requests
from bot.services.meetings import cancel_for_closure
from bot.services.milestones import Milestone, milestones_in, today_for
from bot.text import escape, mention
from storage.db import Database
from storage.models import Closure, Community, KnowledgeCapture
from storage.repositories import closures as closure_rows
from storage.repositories import meetings as meeting_rows
from storage.repositories import members as member_rows
from storage.repositories import scheduled
from storage.repositories import sustaining as history_rows

CAPTURE_PROMPT = "capture_prompt"  # the channel post
CAPTURE_INVITE = "capture_invite"  # one member's DM
CAPTURE_REMINDER = "capture_reminder"
CELEBRATION = "closure_celebration"
CAPTURE_KINDS = (CAPTURE_PROMPT, CAPTURE_INVITE, CAPTURE_REMINDER)
CELEBRATE_AT = time(9, 0)  # on the closing date, in the community's time zone
DEFAULT_CAPTURE_DAYS = 14
MAX_CAPTURE_DAYS = 90

CONCLUDED, SPLIT, OTHER = "concluded", "split", "other"
CLOSE_FIELDS: tuple[Field, ...] = (
    Field(
        "reason",
        "Why is the community closing?",
        Kind.CHOICE,
        required=True,
        options=(
            Option(CONCLUDED, "Its area of interest has reached a conclusion"),
            Option(SPLIT, "It is splitting into sub-communities"),
            Option(OTHER, "Another reason (say which below)"),
        ),
    ),
    Field("note", "A note for the members", Kind.TEXT, max_length=1000),
    Field("closing_date", "Closing date (the celebration)", Kind.DATE, required=True),
    Field(
        "capture_days",
        "Days members have to share what they learned",
        Kind.NUMBER,
        required=True,
        minimum=1,
        maximum=MAX_CAPTURE_DAYS,
    ),
    Field("recipients", "Who receives the knowledge", Kind.USERS),
)
LEVEL_ORDER = {"core": 0, "active": 1}  # core and active members are asked first


def closure_subject(closure_id: int) -> str:
    return f"closure:{closure_id}"


@dataclass(frozen=True)
class Closing:
    record: CommunityRecord
    closure: Closure
    send_now: list[int]  # the prompts, for `send_now` after the ack
    redraw: list[str]  # announcements of the meetings it cancelled, to show them cancelled


def _validate(submitted: dict[str, Any], today: date) -> tuple[dict[str, Any], date, int]:
    submitted = clean(submitted)
    errors = {
        spec.key: error
        for spec in CLOSE_FIELDS
        if (error := field_error(spec, submitted.get(spec.key))) is not None
    }
    if submitted.get("reason") == OTHER and is_empty(submitted.get("note")):
        errors["note"] = "Please say why the community is closing."
    closing = today
    if "closing_date" not in errors:
        closing = date.fromisoformat(str(submitted["closing_date"]))
        if closing < today:
            errors["closing_date"] = "The closing date cannot be in the past."
    if errors:
        raise InvalidAnswers(errors)
    return submitted, closing, int(submitted["capture_days"])


@dataclass(frozen=True)
class ClosePlan:
    """What closing would do, checked but not yet done: shown on the confirmation step."""

    record: CommunityRecord
    answers: dict[str, Any]
    closing_date: date
    capture_days: int
    members: int
    meetings: int  # meetings with a session still to come, which closing cancels


async def check_close(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    submitted: dict[str, Any],
) -> ClosePlan:
    """Everything `close_community` would refuse, refused now and nothing changed: the close
    form's first step, so the confirmation only ever offers a closure that can happen."""
    now = clock.now()
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        answers, closing, days = _closable(record, user_id=user_id, submitted=submitted, now=now)
        members = await counting.members_now(session, community_id=community_id, now=now)
        meetings = 0
        for meeting in await meeting_rows.active_meetings(
            session, team_id=team_id, community_id=community_id
        ):
            assert meeting.id is not None
            sessions = await meeting_rows.occurrences_of(session, meeting_id=meeting.id)
            meetings += any(o.cancelled_at is None and o.starts_at > now for o in sessions)
    return ClosePlan(record, answers, closing, days, len(members), meetings)


def _closable(
    record: CommunityRecord, *, user_id: str, submitted: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], date, int]:
    """The close form's answers, or what both steps of closing refuse."""
    require_coordinator(record, user_id)
    require_open(record)  # a second submission of the form closes nothing twice
    return _validate(submitted, today_for(record.community, now))


def reason_words(reason: str, note: str, by: str) -> str:
    """Why it closed, and the coordinator's note, as one paragraph (escaped) for every message
    the closure sends: the announcement, the prompts and the celebration."""
    if reason == OTHER:  # the note says which reason: it is the why
        return f"*Why, from {mention(by)}:* {escape(note)}"
    lines = [f"*Why:* {CLOSE_FIELDS[0].option_label(reason)}."]
    if note:
        lines.append(f"*A note from {mention(by)}:* {escape(note)}")
    return "\n".join(lines)


def reason_of(closure: Closure) -> str:
    """Why this closure happened, in words, and who closed it."""
    return reason_words(closure.reason, closure.note, closure.closed_by)


async def close_community(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    submitted: dict[str, Any],
    recipient_channel: str | None,
    reminder_days: tuple[int, ...],
) -> Closing:
    """Close the community (coordinators only) and plan the capture and the celebration."""
    now = clock.now()
    try:
        async with database.session() as session:
            record = await load_record(session, team_id=team_id, community_id=community_id)
            answers, closing, days = _closable(
                record, user_id=user_id, submitted=submitted, now=now
            )
            community = record.community
            if not await closure_rows.mark_closed(
                session, team_id=team_id, community_id=community_id, now=now
            ):
                require_open(await load_record(session, team_id=team_id, community_id=community_id))
            # Its meetings still to come are cancelled, as a coordinator cancelling each would.
            redraw = await cancel_for_closure(
                session, team_id=team_id, community_id=community_id, user_id=user_id, now=now
            )
            # Everything it had pending (meeting and milestone reminders, follow-ups) stops.
            await scheduled.cancel(session, team_id=team_id, community_id=community_id, now=now)
            # Whoever is still waiting to join is told it has closed (after the cancel above).
            await lapse_pending_requests(
                session, team_id=team_id, community_id=community_id, closed_by=user_id, now=now
            )
            closure = Closure(
                team_id=team_id,
                community_id=community_id,
                reason=str(answers["reason"]),
                note=str(answers.get("note") or ""),
                closing_date=closing,
                capture_days=days,
                recipients=list(answers.get("recipients") or []),
                recipient_channel=recipient_channel or None,
                closed_by=user_id,
                started_at=now,
            )
            session.add(closure)
            await session.flush()
            assert closure.id is not None
            send_now = await _plan(session, community, closure, now, reminder_days)
            await session.refresh(community)
    except IntegrityError:
        raise Gone("This community was closed a moment ago by another coordinator.") from None
    except EditConflict:
        raise Gone(
            "Someone changed one of its meetings at the same moment. Nothing was closed: "
            "please submit again."
        ) from None
    record = CommunityRecord(community=community, stages=record.stages)
    return Closing(record=record, closure=closure, send_now=send_now, redraw=redraw)


async def _plan(
    session: Any,
    community: Community,
    closure: Closure,
    now: datetime,
    reminder_days: tuple[int, ...],
) -> list[int]:
    assert closure.id is not None and community.id is not None
    subject, key = closure_subject(closure.id), f"closure:{closure.id}"
    common = {"team_id": community.team_id, "community_id": community.id, "subject": subject}
    payload = {"closure_id": closure.id}
    ids: list[int] = []

    async def due_now(kind: str, payload: dict[str, Any], dedupe_key: str, channel: str) -> None:
        # Sent straight after the commit: the caller hands these ids to send_now.
        row = await scheduled.schedule(
            session,
            kind=kind,
            due_at=now,
            payload=payload,
            dedupe_key=dedupe_key,
            channel=channel,
            **common,
        )
        if row is not None and row.id is not None:
            ids.append(row.id)

    await due_now(CAPTURE_PROMPT, payload, f"{key}:prompt", community.channel_id)
    members = await member_rows.current_members(session, community_id=community.id)
    ordered = sorted(members, key=lambda m: LEVEL_ORDER.get(m.level or "", 2))
    ends = now + timedelta(days=closure.capture_days)
    for membership in ordered:
        person = {**payload, "user": membership.user_id}
        await due_now(
            CAPTURE_INVITE, person, f"{key}:invite:{membership.user_id}", membership.user_id
        )
        for number, day in enumerate(reminder_days[:2], start=1):
            due = now + timedelta(days=day)
            if due >= ends:
                continue  # the period is over by then
            await scheduled.schedule(
                session,
                kind=CAPTURE_REMINDER,
                due_at=due,
                payload={**person, "number": number},
                dedupe_key=f"{key}:reminder:{number}:{membership.user_id}",
                stale_at=ends,
                channel=membership.user_id,
                **common,
            )
    await scheduled.schedule(
        session,
        kind=CELEBRATION,
        due_at=max(now, celebration_moment(community, closure.closing_date)),
        payload=payload,
        dedupe_key=f"{key}:celebration",
        channel=community.channel_id,
        **common,
    )
    return ids


def celebration_moment(community: Community, day: date) -> datetime:
    return datetime.combine(day, CELEBRATE_AT, tzinfo=ZoneInfo(community.timezone))


# -- the closure, found --------------------------------------------------------------------


async def closure_by_id(database: Database, *, team_id: str, closure_id: int) -> Closure:
    async with database.session() as session:
        closure = await closure_rows.closure_by_id(session, team_id=team_id, closure_id=closure_id)
    if closure is None:
        raise Gone("That closure no longer exists.")
    return closure


async def closure_for(database: Database, *, team_id: str, community_id: int) -> Closure | None:
    async with database.session() as session:
        return await closure_rows.closure_for(session, team_id=team_id, community_id=community_id)


# -- the celebration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Celebration:
    record: CommunityRecord
    closure: Closure
    milestones_done: list[Milestone]
    meetings_held: int
    members: list[str]
    coordinators: list[str]
    facilitators: list[str]
    roles: list[tuple[str, list[str]]]
    highlights: list[tuple[str, str]]  # (author, achievements)


async def celebrate(
    database: Database, clock: Clock, *, team_id: str, closure_id: int
) -> Celebration:
    """What the celebration says, from the record; the capture's remaining sends stop."""
    now = clock.now()
    async with database.session() as session:
        closure = await closure_rows.closure_by_id(session, team_id=team_id, closure_id=closure_id)
        if closure is None or closure.id is None:
            raise Gone("That closure no longer exists.")
        record = await load_record(session, team_id=team_id, community_id=closure.community_id)
        await closure_rows.mark_celebrated(session, closure_id=closure.id, now=now)
        await scheduled.cancel(
            session,
            team_id=team_id,
            community_id=closure.community_id,
            kinds=CAPTURE_KINDS,
            now=now,
        )
        held = await closure_rows.sessions_held(
            session, community_id=closure.community_id, before=now
        )
        members = await history_rows.memberships(session, community_id=closure.community_id)
        latest: dict[str, KnowledgeCapture] = {
            c.user_id: c for c in await closure_rows.captures(session, closure_id=closure.id)
        }
    roles = record.stages[ROLES.key].answers
    return Celebration(
        record=record,
        closure=closure,
        milestones_done=[m for m in milestones_in(record.stages[GOVERNANCE.key].answers) if m.done],
        meetings_held=len(held),
        members=counting.took_part(members),
        coordinators=list(roles.get("coordinators") or []),
        facilitators=list(roles.get("facilitators") or []),
        roles=[
            (str(item.get("role")), list(item.get("people") or []))
            for item in roles.get("assignments") or []
            if item.get("people")
        ],
        highlights=[
            (user, str(c.answers["achievements"]))
            for user, c in latest.items()
            if c.answers.get("achievements")
        ],
    )


async def record_archive(
    database: Database, *, closure_id: int, file_id: str | None, permalink: str | None
) -> None:
    async with database.session() as session:
        await closure_rows.record_archive(
            session, closure_id=closure_id, file_id=file_id, permalink=permalink
        )
