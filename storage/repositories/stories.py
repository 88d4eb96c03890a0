"""Members' value stories: one row per person, community and period, updated when they answer
again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ValueStory


async def story(
    session: AsyncSession, *, community_id: int, user_id: str, period: str
) -> ValueStory | None:
    result = await session.exec(
        select(ValueStory).where(
            ValueStory.community_id == community_id,
            ValueStory.user_id == user_id,
            ValueStory.period == period,
        )
    )
    return result.first()


async def keep(
    session: AsyncSession,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    period: str,
    answers: dict[str, Any],
    consent: str,
    answered_at: datetime,
) -> ValueStory:
    """The person's story for the period: made, or updated if they answered before."""
    found = await story(session, community_id=community_id, user_id=user_id, period=period)
    if found is None:
        found = ValueStory(
            team_id=team_id,
            community_id=community_id,
            user_id=user_id,
            period=period,
            answers=answers,
            consent=consent,
            answered_at=answered_at,
        )
    else:
        found.answers, found.consent, found.answered_at = answers, consent, answered_at
    session.add(found)
    await session.flush()
    return found


async def answered_between(
    session: AsyncSession, *, community_id: int, start: datetime, end: datetime
) -> Sequence[ValueStory]:
    """Stories last answered in [start, end), oldest first."""
    result = await session.exec(
        select(ValueStory)
        .where(
            ValueStory.community_id == community_id,
            col(ValueStory.answered_at) >= start,
            col(ValueStory.answered_at) < end,
        )
        .order_by(col(ValueStory.answered_at), col(ValueStory.id))
    )
    return result.all()


async def count(session: AsyncSession, *, community_id: int, before: datetime) -> int:
    """Stories last answered before `before`."""
    result = await session.exec(
        select(func.count()).where(
            ValueStory.community_id == community_id, col(ValueStory.answered_at) < before
        )
    )
    return int(result.one())
