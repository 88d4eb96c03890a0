"""Private calendar addresses (kept as the SHA-256 of their secret) and the meetings a
community's calendar shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CalendarFeed, Meeting, MeetingOccurrence
from storage.repositories import scoped


async def feed_by_hash(session: AsyncSession, *, token_hash: str) -> CalendarFeed | None:
    """The address whose secret hashes to `token_hash`: the secret alone names its team."""
    result = await session.exec(select(CalendarFeed).where(CalendarFeed.token_hash == token_hash))
    return result.first()


async def feed_of(
    session: AsyncSession, *, team_id: str, community_id: int, user_id: str
) -> CalendarFeed | None:
    result = await session.exec(
        select(CalendarFeed).where(
            CalendarFeed.team_id == team_id,
            CalendarFeed.community_id == community_id,
            CalendarFeed.user_id == user_id,
        )
    )
    return result.first()


async def replace_feed(
    session: AsyncSession,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    token_hash: str,
    now: datetime,
) -> None:
    """The person's address for the community, replacing the one they had (which stops
    working in the same unit of work)."""
    await session.exec(
        delete(CalendarFeed).where(
            col(CalendarFeed.team_id) == team_id,
            col(CalendarFeed.community_id) == community_id,
            col(CalendarFeed.user_id) == user_id,
        )
    )
    session.add(
        CalendarFeed(
            team_id=team_id,
            community_id=community_id,
            user_id=user_id,
            token_hash=token_hash,
            created_at=now,
        )
    )
    await session.flush()


async def revoke_all(session: AsyncSession, *, team_id: str, community_id: int) -> int:
    result = await session.exec(
        delete(CalendarFeed).where(
            col(CalendarFeed.team_id) == team_id, col(CalendarFeed.community_id) == community_id
        )
    )
    return result.rowcount


async def meetings_of(
    session: AsyncSession, *, team_id: str, community_id: int, limit: int
) -> Sequence[Meeting]:
    """The community's meetings, cancelled ones too, the most recently planned first."""
    query = scoped.of_community(Meeting, team_id=team_id, community_id=community_id)
    result = await session.exec(query.order_by(col(Meeting.id).desc()).limit(limit))
    return result.all()


async def cancelled_occurrences(
    session: AsyncSession, *, meeting_ids: Sequence[int]
) -> Sequence[MeetingOccurrence]:
    if not meeting_ids:
        return []
    result = await session.exec(
        select(MeetingOccurrence).where(
            col(MeetingOccurrence.meeting_id).in_(meeting_ids),
            col(MeetingOccurrence.cancelled_at).is_not(None),
        )
    )
    return result.all()
