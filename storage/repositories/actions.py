"""Meeting actions: the rows a meeting's notes agreed, each with its owner, due date and done
state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import bindparam
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Meeting, MeetingAction, MeetingOccurrence
from storage.repositories import scoped


async def action_by_id(
    session: AsyncSession, *, team_id: str, action_id: int
) -> MeetingAction | None:
    return await scoped.by_id(session, MeetingAction, team_id=team_id, row_id=action_id)


async def of_occurrence(
    session: AsyncSession, *, team_id: str, occurrence_id: int
) -> Sequence[MeetingAction]:
    """A session's actions, in the order its notes list them."""
    result = await session.exec(
        select(MeetingAction)
        .where(MeetingAction.team_id == team_id, MeetingAction.occurrence_id == occurrence_id)
        .order_by(col(MeetingAction.position), col(MeetingAction.id))
    )
    return result.all()


async def of_occurrences(
    session: AsyncSession, *, occurrence_ids: Sequence[int]
) -> dict[int, list[MeetingAction]]:
    """Each session's actions, in order, for many sessions in one read."""
    found: dict[int, list[MeetingAction]] = {}
    if not occurrence_ids:
        return found
    result = await session.exec(
        select(MeetingAction)
        .where(col(MeetingAction.occurrence_id).in_(occurrence_ids))
        .order_by(col(MeetingAction.occurrence_id), col(MeetingAction.position))
    )
    for action in result.all():
        found.setdefault(action.occurrence_id, []).append(action)
    return found


# Built once (`/cop status` and App Home read it every time), its values bound at each read.
_OPEN_DUE_BEFORE = (
    select(MeetingAction, Meeting, MeetingOccurrence)
    .join(MeetingOccurrence, col(MeetingOccurrence.id) == col(MeetingAction.occurrence_id))
    .join(Meeting, col(Meeting.id) == col(MeetingOccurrence.meeting_id))
    .where(
        MeetingAction.team_id == bindparam("team_id"),
        MeetingAction.community_id == bindparam("community_id"),
        col(MeetingAction.done_at).is_(None),
        col(MeetingAction.due).is_not(None),
        col(MeetingAction.due) < bindparam("day"),
    )
    .order_by(col(MeetingAction.due), col(MeetingAction.id))
)


async def open_due_before(
    session: AsyncSession, *, team_id: str, community_id: int, day: date
) -> Sequence[tuple[MeetingAction, Meeting, MeetingOccurrence]]:
    """The community's actions not done whose due date is before `day`, earliest first, each
    with the meeting and session that agreed it."""
    result = await session.exec(
        _OPEN_DUE_BEFORE, params={"team_id": team_id, "community_id": community_id, "day": day}
    )
    return result.all()


async def remove(session: AsyncSession, *, action_ids: Sequence[int]) -> None:
    if action_ids:
        await session.exec(delete(MeetingAction).where(col(MeetingAction.id).in_(action_ids)))
