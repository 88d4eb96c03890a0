"""Drafts of a community's terms of reference, and who agreed to each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import core_rows, insert_or_merge, table_of
from storage.models import TermsAgreement, TermsDraft
from storage.repositories import scoped

# Built once (`/cop status` and App Home read it every time), its values bound at each read.
_LATEST_DRAFT = (
    select(TermsDraft)
    .where(
        TermsDraft.team_id == bindparam("team_id"),
        TermsDraft.community_id == bindparam("community_id"),
    )
    .order_by(col(TermsDraft.version).desc())
    .limit(1)
)


async def latest_draft(
    session: AsyncSession, *, team_id: str, community_id: int
) -> TermsDraft | None:
    result = await session.exec(
        _LATEST_DRAFT, params={"team_id": team_id, "community_id": community_id}
    )
    return result.first()


async def draft_by_id(session: AsyncSession, *, team_id: str, draft_id: int) -> TermsDraft | None:
    return await scoped.by_id(session, TermsDraft, team_id=team_id, row_id=draft_id)


async def add_draft(session: AsyncSession, draft: TermsDraft) -> TermsDraft:
    """Two drafts racing for the same version cannot both win: the unique constraint refuses
    the second."""
    session.add(draft)
    await session.flush()
    return draft


async def record_publication(
    session: AsyncSession, *, draft_id: int, file_id: str | None, canvas_id: str | None
) -> None:
    await session.exec(
        update(TermsDraft)
        .where(col(TermsDraft.id) == draft_id)
        .values(file_id=file_id, canvas_id=canvas_id)
    )


async def mark_agreed(session: AsyncSession, *, draft_id: int, user_id: str, now: datetime) -> bool:
    """False if the draft was already marked agreed."""
    result = await session.exec(
        update(TermsDraft)
        .where(col(TermsDraft.id) == draft_id, col(TermsDraft.agreed_at).is_(None))
        .values(agreed_by=user_id, agreed_at=now)
    )
    return result.rowcount == 1


async def add_agreement(
    session: AsyncSession, *, team_id: str, draft_id: int, user_id: str, now: datetime
) -> None:
    """A person's "I agree", kept once however often they press it."""
    await session.exec(
        insert_or_merge(session, TermsAgreement)
        .values(team_id=team_id, draft_id=draft_id, user_id=user_id, agreed_at=now)
        .on_conflict_do_nothing(index_elements=["draft_id", "user_id"])
    )


_AGREEMENTS = table_of(TermsAgreement)
_AGREED_PEOPLE = (
    core_select(_AGREEMENTS.c.user_id)
    .where(_AGREEMENTS.c.draft_id == bindparam("draft_id"))
    .order_by(_AGREEMENTS.c.agreed_at, _AGREEMENTS.c.id)
)


async def agreed_people(session: AsyncSession, *, draft_id: int) -> Sequence[str]:
    return [user_id for (user_id,) in await core_rows(session, _AGREED_PEOPLE, draft_id=draft_id)]


_NEWEST = table_of(TermsDraft).alias("newest")
# The newest draft with a row for each person who agreed to it, first first (one row with no
# person when nobody has): `latest_draft` and `agreed_people` in one statement.
_LATEST_WITH_AGREED = (
    select(TermsDraft, _AGREEMENTS.c.user_id)
    .outerjoin(_AGREEMENTS, _AGREEMENTS.c.draft_id == col(TermsDraft.id))
    .where(
        col(TermsDraft.id)
        == core_select(_NEWEST.c.id)
        .where(
            _NEWEST.c.team_id == bindparam("team_id"),
            _NEWEST.c.community_id == bindparam("community_id"),
        )
        .order_by(_NEWEST.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    .order_by(_AGREEMENTS.c.agreed_at, _AGREEMENTS.c.id)
)


async def latest_draft_and_agreed(
    session: AsyncSession, *, team_id: str, community_id: int
) -> tuple[TermsDraft, list[str]] | None:
    """The community's newest draft and who agreed to it, first first, read in one statement;
    None when it has no draft."""
    result = await session.exec(
        _LATEST_WITH_AGREED, params={"team_id": team_id, "community_id": community_id}
    )
    rows = result.all()
    if not rows:
        return None
    return rows[0][0], [user_id for _, user_id in rows if user_id is not None]
