"""Meetings, their planned occurrences, and RSVPs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, func, update
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select as EntitySelect

from storage.db import core_rows, insert_or_merge, table_of
from storage.models import Meeting, MeetingOccurrence, Rsvp
from storage.repositories import scoped


async def add_meeting(session: AsyncSession, meeting: Meeting) -> Meeting:
    session.add(meeting)
    await session.flush()
    return meeting


async def meeting_by_id(session: AsyncSession, *, team_id: str, meeting_id: int) -> Meeting | None:
    return await scoped.by_id(session, Meeting, team_id=team_id, row_id=meeting_id)


async def bump_plan_version(session: AsyncSession, *, meeting_id: int, seen: int) -> bool:
    """Move the meeting to its next plan version, if it is still at the one the caller read.
    False when someone else changed it meanwhile: two edits never both re-plan from one state."""
    result = await session.exec(
        update(Meeting)
        .where(col(Meeting.id) == meeting_id, col(Meeting.plan_version) == seen)
        .values(plan_version=seen + 1)
    )
    return result.rowcount == 1


async def active_meetings(
    session: AsyncSession, *, team_id: str, community_id: int
) -> Sequence[Meeting]:
    query = scoped.of_community(Meeting, team_id=team_id, community_id=community_id)
    result = await session.exec(
        query.where(col(Meeting.cancelled_at).is_(None)).order_by(col(Meeting.id))
    )
    return result.all()


async def occurrences_of(session: AsyncSession, *, meeting_id: int) -> Sequence[MeetingOccurrence]:
    """Every occurrence ever planned for a meeting, cancelled ones too, in order."""
    result = await session.exec(
        select(MeetingOccurrence)
        .where(MeetingOccurrence.meeting_id == meeting_id)
        .order_by(col(MeetingOccurrence.seq))
    )
    return result.all()


async def occurrence_by_id(
    session: AsyncSession, *, team_id: str, occurrence_id: int
) -> MeetingOccurrence | None:
    return await scoped.by_id(session, MeetingOccurrence, team_id=team_id, row_id=occurrence_id)


async def occurrence_with_meeting(
    session: AsyncSession, *, team_id: str, occurrence_id: int
) -> tuple[MeetingOccurrence, Meeting] | None:
    """A session of a meeting and its meeting, by an id a payload carried, in this team only."""
    occurrence = await occurrence_by_id(session, team_id=team_id, occurrence_id=occurrence_id)
    if occurrence is None:
        return None
    meeting = await meeting_by_id(session, team_id=team_id, meeting_id=occurrence.meeting_id)
    assert meeting is not None  # a session is deleted with its meeting
    return occurrence, meeting


async def add_occurrence(session: AsyncSession, occurrence: MeetingOccurrence) -> None:
    session.add(occurrence)
    await session.flush()


async def upcoming_occurrences(
    session: AsyncSession, *, team_id: str, community_id: int, now: datetime, limit: int = 20
) -> Sequence[tuple[MeetingOccurrence, Meeting]]:
    """Occurrences not cancelled and not yet over, soonest first, with their meeting."""
    result = await session.exec(
        _UPCOMING,
        params={"team_id": team_id, "community_id": community_id, "now": now, "limit": limit},
    )
    return [(occurrence, meeting) for occurrence, meeting in result.all()]


# The answers an RSVP row holds (`bot.services.meetings.RSVP_ANSWERS` offers these and
# no others: `set_rsvp`'s callers refuse any other).
ANSWERS = ("going", "maybe", "cant")


async def upcoming_with_counts(
    session: AsyncSession, *, team_id: str, community_id: int, now: datetime, limit: int = 20
) -> list[tuple[MeetingOccurrence, Meeting, dict[str, int]]]:
    """`upcoming_occurrences`, each with how many people gave each answer (the answers
    nobody gave left out, as `rsvp_counts_for` leaves them), read in one statement."""
    result = await session.exec(
        _UPCOMING_COUNTED,
        params={"team_id": team_id, "community_id": community_id, "now": now, "limit": limit},
    )
    return [
        (occurrence, meeting, {a: n for a, n in zip(ANSWERS, counts, strict=True) if n})
        for occurrence, meeting, *counts in result.all()
    ]


async def set_rsvp(
    session: AsyncSession,
    *,
    team_id: str,
    occurrence_id: int,
    user_id: str,
    answer: str,
    now: datetime,
) -> None:
    """One row per person per occurrence: insert it, or change its answer, in one statement.

    An upsert rather than read-then-write, so two clicks from the same person at once cannot
    both insert, and clicks from different people never touch each other's rows.
    """
    statement = insert_or_merge(session, Rsvp).values(
        team_id=team_id,
        occurrence_id=occurrence_id,
        user_id=user_id,
        answer=answer,
        answered_at=now,
    )
    await session.exec(
        statement.on_conflict_do_update(
            index_elements=["occurrence_id", "user_id"],
            set_={
                "answer": statement.excluded.answer,
                "answered_at": statement.excluded.answered_at,
            },
        )
    )


async def rsvp_counts(session: AsyncSession, *, occurrence_id: int) -> dict[str, int]:
    """How many people gave each answer: always counted from the rows."""
    result = await session.exec(
        select(Rsvp.answer, func.count())
        .where(Rsvp.occurrence_id == occurrence_id)
        .group_by(col(Rsvp.answer))
    )
    return {answer: count for answer, count in result.all()}


async def occurrences_started_between(
    session: AsyncSession, *, team_id: str, community_id: int, start: datetime, end: datetime
) -> Sequence[tuple[MeetingOccurrence, Meeting]]:
    """Sessions (not cancelled) that started in [start, end), oldest first."""
    result = await session.exec(
        _STARTED_IN,
        params={"team_id": team_id, "community_id": community_id, "start": start, "end": end},
    )
    return [(occurrence, meeting) for occurrence, meeting in result.all()]


def _session_query(
    *where: ColumnElement[bool],
) -> EntitySelect[tuple[MeetingOccurrence, Meeting]]:
    """The community's occurrences that are not cancelled (nor is their meeting), narrowed by
    `where`, soonest first, each with its meeting."""
    return (
        select(MeetingOccurrence, Meeting)
        .join(Meeting, col(Meeting.id) == col(MeetingOccurrence.meeting_id))
        .where(
            MeetingOccurrence.team_id == bindparam("team_id"),
            MeetingOccurrence.community_id == bindparam("community_id"),
            col(MeetingOccurrence.cancelled_at).is_(None),
            col(Meeting.cancelled_at).is_(None),
            *where,
        )
        .order_by(col(MeetingOccurrence.starts_at), col(MeetingOccurrence.id))
    )


# Built once, with their values bound at each read (`/cop status` reads the next sessions).
_UPCOMING = _session_query(col(MeetingOccurrence.ends_at) > bindparam("now")).limit(
    bindparam("limit")
)
_RSVP_ROWS = table_of(Rsvp)
# Each session's count of one answer, as a column of the session's row.
_UPCOMING_COUNTED = (
    _session_query(col(MeetingOccurrence.ends_at) > bindparam("now"))
    .add_columns(
        *(
            core_select(func.count())
            .select_from(_RSVP_ROWS)
            .where(
                _RSVP_ROWS.c.occurrence_id == col(MeetingOccurrence.id),
                _RSVP_ROWS.c.answer == answer,
            )
            .scalar_subquery()
            for answer in ANSWERS
        )
    )
    .limit(bindparam("limit"))
)
_STARTED_IN = _session_query(
    col(MeetingOccurrence.starts_at) >= bindparam("start"),
    col(MeetingOccurrence.starts_at) < bindparam("end"),
)


class Held(NamedTuple):
    """A session that started, as the figures and milestones count it: no ORM objects."""

    occurrence_id: int
    starts_at: datetime
    title: str  # its meeting's, as typed
    purpose: str  # its meeting's
    going: int  # how many people answered each RSVP answer
    maybe: int
    cant: int


_OCCURRENCES = table_of(MeetingOccurrence)
_MEETINGS = table_of(Meeting)


def _session_columns(*columns: ColumnElement[Any]) -> Select[Any]:
    """A select of `columns` over the community's sessions that are not cancelled (nor is
    their meeting), soonest first: `_sessions`' rows, built once with their values bound."""
    return (
        core_select(*columns)
        .join_from(_OCCURRENCES, _MEETINGS, _MEETINGS.c.id == _OCCURRENCES.c.meeting_id)
        .where(
            _OCCURRENCES.c.team_id == bindparam("team_id"),
            _OCCURRENCES.c.community_id == bindparam("community_id"),
            _OCCURRENCES.c.cancelled_at.is_(None),
            _MEETINGS.c.cancelled_at.is_(None),
        )
        .order_by(_OCCURRENCES.c.starts_at, _OCCURRENCES.c.id)
    )


# Each session's count of each answer (`Held`'s last columns), as columns of its row.
_HELD_COLUMNS = (
    _OCCURRENCES.c.id,
    _OCCURRENCES.c.starts_at,
    _MEETINGS.c.title,
    _MEETINGS.c.purpose,
    *(
        core_select(func.count())
        .select_from(_RSVP_ROWS)
        .where(_RSVP_ROWS.c.occurrence_id == _OCCURRENCES.c.id, _RSVP_ROWS.c.answer == answer)
        .scalar_subquery()
        .label(answer)
        for answer in ANSWERS
    ),
)
_STARTED_BETWEEN = _session_columns(*_HELD_COLUMNS).where(
    _OCCURRENCES.c.starts_at >= bindparam("start"), _OCCURRENCES.c.starts_at < bindparam("end")
)
_ALL_HELD = _session_columns(*_HELD_COLUMNS)


async def held_between(
    session: AsyncSession, *, team_id: str, community_id: int, start: datetime, end: datetime
) -> list[Held]:
    """`occurrences_started_between`, as the few columns the figures and milestones read."""
    rows = await core_rows(
        session,
        _STARTED_BETWEEN,
        team_id=team_id,
        community_id=community_id,
        start=start,
        end=end,
    )
    return [Held(*row) for row in rows]


async def every_session(session: AsyncSession, *, team_id: str, community_id: int) -> list[Held]:
    """Every session (not cancelled) of the community's meetings, past and planned, soonest
    first, as the few columns the figures, milestones and next step read, with its RSVP
    counts."""
    rows = await core_rows(session, _ALL_HELD, team_id=team_id, community_id=community_id)
    return [Held(*row) for row in rows]


_RSVP_COUNTS = (
    core_select(_RSVP_ROWS.c.occurrence_id, _RSVP_ROWS.c.answer, func.count())
    .where(_RSVP_ROWS.c.occurrence_id.in_(bindparam("occurrence_ids", expanding=True)))
    .group_by(_RSVP_ROWS.c.occurrence_id, _RSVP_ROWS.c.answer)
)


async def rsvp_counts_for(
    session: AsyncSession, *, occurrence_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    if not occurrence_ids:
        return {}
    rows = await core_rows(session, _RSVP_COUNTS, occurrence_ids=list(occurrence_ids))
    counts: dict[int, dict[str, int]] = {}
    for occurrence_id, answer, count in rows:
        counts.setdefault(occurrence_id, {})[answer] = count
    return counts
