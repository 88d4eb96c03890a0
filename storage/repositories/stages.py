from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import JSON, Integer, Select, String, Table, and_, bindparam, exists, func, insert
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import table_of
from storage.models import Community, StageRevision
from storage.types import UTCDateTime


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


class Revision(NamedTuple):
    """A stage's current revision as its record reads it (`StageRecord.of`): no ORM object."""

    stage: str
    version: int
    answers: dict[str, Any]
    edited_by: str
    edited_at: datetime


_REVISIONS = table_of(StageRevision)


def _community_with_revisions() -> Select[Any]:
    newer = _REVISIONS.alias("newer")
    newest = ~exists().where(
        newer.c.community_id == _REVISIONS.c.community_id,
        newer.c.stage == _REVISIONS.c.stage,
        newer.c.version > _REVISIONS.c.version,
    )
    return (
        select(
            Community,
            _REVISIONS.c.stage,
            _REVISIONS.c.version,
            _REVISIONS.c.answers,
            _REVISIONS.c.edited_by,
            _REVISIONS.c.edited_at,
        )
        .outerjoin(_REVISIONS, and_(_REVISIONS.c.community_id == Community.id, newest))
        .where(
            Community.team_id == bindparam("team_id"),
            Community.id == bindparam("community_id"),
        )
    )


# Built once: a save's statements are its hot path, and building one costs more CPU than
# running it. SQLAlchemy caches the compiled form; the values go in as parameters. The
# revisions come as columns: only the community is an ORM object (the record holds it).
_COMMUNITY_WITH_REVISIONS = _community_with_revisions()


async def community_with_revisions(
    session: AsyncSession, *, team_id: str, community_id: int
) -> tuple[Community, dict[str, Revision]] | None:
    """A community and the current revision of each of its stages, in one query (one round
    trip): None if the team has no such community."""
    result = await session.exec(
        _COMMUNITY_WITH_REVISIONS, params={"team_id": team_id, "community_id": community_id}
    )
    rows = result.all()
    if not rows:
        return None
    return rows[0][0], {row[1]: Revision(*row[1:]) for row in rows if row[1] is not None}


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


def _add_revision_unless_edited() -> ReturningInsert[tuple[int]]:
    edited_since = exists().where(
        StageRevision.community_id == bindparam("community_id"),
        StageRevision.stage == bindparam("stage"),
        StageRevision.version > bindparam("since_version"),
        StageRevision.edited_by != bindparam("edited_by"),
    )
    values = select(
        bindparam("team_id", type_=String()),
        bindparam("community_id", type_=Integer()),
        bindparam("stage", type_=String()),
        bindparam("version", type_=Integer()),
        bindparam("answers", type_=JSON()),
        bindparam("edited_by", type_=String()),
        bindparam("edited_at", type_=UTCDateTime()),
    ).where(~edited_since)
    table: Table = StageRevision.__table__  # type: ignore[attr-defined]
    columns = ["team_id", "community_id", "stage", "version", "answers", "edited_by", "edited_at"]
    return insert(table).from_select(columns, values).returning(table.c.id)


_ADD_REVISION_UNLESS_EDITED = _add_revision_unless_edited()


async def add_revision_unless_edited(
    session: AsyncSession, *, revision: StageRevision, since_version: int
) -> bool:
    """Insert the (new, unsaved) version unless someone other than its editor saved the stage
    after `since_version`: the check inside the write, one statement. False when someone did
    (then `newest_revision_by_others` says who). Two writers racing for the same version
    number meet the unique constraint, as in `add_revision`."""
    result = await session.exec(
        _ADD_REVISION_UNLESS_EDITED,
        params={**revision.model_dump(exclude={"id"}), "since_version": since_version},
    )
    revision.id = result.scalar_one_or_none()
    return revision.id is not None
