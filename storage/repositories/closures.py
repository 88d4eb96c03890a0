"""Closures, captured knowledge, and the record an archive is compiled from (its memberships
are `sustaining.memberships`, the whole history)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Closure,
    KnowledgeCapture,
    Meeting,
    MeetingOccurrence,
    StageRevision,
)
from storage.repositories import communities, scoped


async def closure_for(session: AsyncSession, *, team_id: str, community_id: int) -> Closure | None:
    query = scoped.of_community(Closure, team_id=team_id, community_id=community_id)
    return (await session.exec(query)).first()


async def closure_by_id(session: AsyncSession, *, team_id: str, closure_id: int) -> Closure | None:
    return await scoped.by_id(session, Closure, team_id=team_id, row_id=closure_id)


async def mark_closed(
    session: AsyncSession, *, team_id: str, community_id: int, now: datetime
) -> bool:
    """Close the community; False if it was closed already (the first closure stands)."""
    closed = {"closed_at": now}
    return await communities.mark_once(
        session, team_id=team_id, community_id=community_id, moment="closed_at", values=closed
    )


async def mark_celebrated(session: AsyncSession, *, closure_id: int, now: datetime) -> bool:
    result = await session.exec(
        update(Closure)
        .where(col(Closure.id) == closure_id, col(Closure.celebrated_at).is_(None))
        .values(celebrated_at=now)
    )
    return result.rowcount == 1


async def record_archive(
    session: AsyncSession, *, closure_id: int, file_id: str | None, permalink: str | None
) -> None:
    await session.exec(
        update(Closure)
        .where(col(Closure.id) == closure_id)
        .values(archive_file_id=file_id, archive_permalink=permalink)
    )


async def latest_capture_version(session: AsyncSession, *, closure_id: int, user_id: str) -> int:
    result = await session.exec(
        select(func.max(KnowledgeCapture.version)).where(
            KnowledgeCapture.closure_id == closure_id, KnowledgeCapture.user_id == user_id
        )
    )
    return int(result.one() or 0)


async def captures(session: AsyncSession, *, closure_id: int) -> Sequence[KnowledgeCapture]:
    """Every answer, oldest first: the last one per person is their current answer."""
    result = await session.exec(
        select(KnowledgeCapture)
        .where(KnowledgeCapture.closure_id == closure_id)
        .order_by(col(KnowledgeCapture.submitted_at), col(KnowledgeCapture.id))
    )
    return result.all()


async def answered(session: AsyncSession, *, closure_id: int) -> set[str]:
    result = await session.exec(
        select(KnowledgeCapture.user_id).where(KnowledgeCapture.closure_id == closure_id).distinct()
    )
    return set(result.all())


async def stage_history(
    session: AsyncSession, *, community_id: int, stage: str
) -> Sequence[StageRevision]:
    result = await session.exec(
        select(StageRevision)
        .where(StageRevision.community_id == community_id, StageRevision.stage == stage)
        .order_by(col(StageRevision.version))
    )
    return result.all()


async def sessions_held(
    session: AsyncSession, *, community_id: int, before: datetime
) -> Sequence[tuple[Meeting, MeetingOccurrence]]:
    """Sessions that took place (started before `before`, not cancelled), oldest first."""
    result = await session.exec(
        select(Meeting, MeetingOccurrence)
        .join(MeetingOccurrence, col(MeetingOccurrence.meeting_id) == col(Meeting.id))
        .where(
            MeetingOccurrence.community_id == community_id,
            col(MeetingOccurrence.cancelled_at).is_(None),
            col(MeetingOccurrence.starts_at) < before,
        )
        .order_by(col(MeetingOccurrence.starts_at))
    )
    return list(result.all())
