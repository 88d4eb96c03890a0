from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Community, Membership
from storage.repositories import scoped


async def add_community(
    session: AsyncSession,
    *,
    team_id: str,
    channel_id: str,
    name: str,
    domain: str,
    timezone: str,
    created_by: str,
    created_at: datetime,
    is_private: bool = False,
) -> Community:
    community = Community(
        team_id=team_id,
        channel_id=channel_id,
        name=name,
        domain=domain,
        timezone=timezone,
        created_by=created_by,
        created_at=created_at,
        is_private=is_private,
    )
    session.add(community)
    await session.flush()
    return community


async def community_for_channel(
    session: AsyncSession, *, team_id: str, channel_id: str
) -> Community | None:
    result = await session.exec(
        select(Community).where(Community.team_id == team_id, Community.channel_id == channel_id)
    )
    return result.first()


async def community_by_id(
    session: AsyncSession, *, team_id: str, community_id: int
) -> Community | None:
    return await scoped.by_id(session, Community, team_id=team_id, row_id=community_id)


async def set_private(
    session: AsyncSession, *, team_id: str, channel_id: str, is_private: bool
) -> bool:
    """Record whether the channel is private; True if its community's record changed."""
    result = await session.exec(
        update(Community)
        .where(
            col(Community.team_id) == team_id,
            col(Community.channel_id) == channel_id,
            col(Community.is_private) != is_private,
        )
        .values(is_private=is_private)
    )
    return result.rowcount > 0


async def communities_in_team(session: AsyncSession, *, team_id: str) -> Sequence[Community]:
    result = await session.exec(
        select(Community).where(Community.team_id == team_id).order_by(col(Community.name))
    )
    return result.all()


async def add_membership(
    session: AsyncSession,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    joined_at: datetime,
    welcomed: bool = False,
    left_at: datetime | None = None,
) -> Membership:
    """Start a membership. Raises IntegrityError if the person's current one has not ended."""
    membership = Membership(
        team_id=team_id,
        community_id=community_id,
        user_id=user_id,
        joined_at=joined_at,
        welcomed=welcomed,
        left_at=left_at,
    )
    session.add(membership)
    await session.flush()
    return membership


async def current_community_ids(session: AsyncSession, *, team_id: str, user_id: str) -> set[int]:
    """Communities the person belongs to now (a membership that has not ended)."""
    result = await session.exec(
        select(Membership.community_id).where(
            Membership.team_id == team_id,
            Membership.user_id == user_id,
            col(Membership.left_at).is_(None),
        )
    )
    return set(result.all())


async def mark_launched(
    session: AsyncSession, *, team_id: str, community_id: int, user_id: str, now: datetime
) -> bool:
    """Launch the community; False if it was launched already (the first launch stands)."""
    launched = {"launched_at": now, "launched_by": user_id}
    return await mark_once(
        session, team_id=team_id, community_id=community_id, moment="launched_at", values=launched
    )


async def mark_once(
    session: AsyncSession, *, team_id: str, community_id: int, moment: str, values: dict[str, Any]
) -> bool:
    """Set `values` on the community unless its `moment` (`launched_at`, `closed_at`) is set
    already; False then. Of two people doing it at once, the first stands."""
    result = await session.exec(
        update(Community)
        .where(
            col(Community.team_id) == team_id,
            col(Community.id) == community_id,
            col(getattr(Community, moment)).is_(None),
        )
        .values(**values)
    )
    return result.rowcount == 1
