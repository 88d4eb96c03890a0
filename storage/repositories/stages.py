from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import StageRevision


async def latest_revision(
    session: AsyncSession, *, community_id: int, stage: str
) -> StageRevision | None:
    result = await session.exec(
        select(StageRevision)
        .where(StageRevision.community_id == community_id, StageRevision.stage == stage)
        .order_by(col(StageRevision.version).desc())
        .limit(1)
    )
    return result.first()


async def latest_revisions(
    session: AsyncSession, *, community_ids: Sequence[int]
) -> dict[tuple[int, str], StageRevision]:
    """The current revision of every stage of these communities, keyed by (community, stage)."""
    if not community_ids:
        return {}
    newest = (
        select(
            StageRevision.community_id,
            StageRevision.stage,
            func.max(StageRevision.version).label("version"),
        )
        .where(col(StageRevision.community_id).in_(community_ids))
        .group_by(col(StageRevision.community_id), col(StageRevision.stage))
        .subquery()
    )
    result = await session.exec(
        select(StageRevision).join(
            newest,
            (StageRevision.community_id == newest.c.community_id)
            & (StageRevision.stage == newest.c.stage)
            & (StageRevision.version == newest.c.version),
        )
    )
    return {(r.community_id, r.stage): r for r in result.all()}


async def newest_revision_by_others(
    session: AsyncSession, *, community_id: int, stage: str, after_version: int, user_id: str
) -> StageRevision | None:
    """The newest version someone other than `user_id` saved after `after_version`, if any."""
    result = await session.exec(
        select(StageRevision)
        .where(
            StageRevision.community_id == community_id,
            StageRevision.stage == stage,
            StageRevision.version > after_version,
            StageRevision.edited_by != user_id,
        )
        .order_by(col(StageRevision.version).desc())
        .limit(1)
    )
    return result.first()


async def add_revision(
    session: AsyncSession,
    *,
    team_id: str,
    community_id: int,
    stage: str,
    version: int,
    answers: dict[str, Any],
    edited_by: str,
    edited_at: datetime,
) -> StageRevision:
    """Insert a version. Two writers racing for the same version number cannot both win:
    the unique constraint refuses the second, and the caller decides what to tell its user."""
    revision = StageRevision(
        team_id=team_id,
        community_id=community_id,
        stage=stage,
        version=version,
        answers=answers,
        edited_by=edited_by,
        edited_at=edited_at,
    )
    session.add(revision)
    await session.flush()
    return revision
