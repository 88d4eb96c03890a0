"""Workspaces that uninstalled the app, waiting to be erased."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import add_new
from storage.models import TeamDeparture


async def record_departure(
    session: AsyncSession, *, team_id: str, departed_at: datetime, erase_at: datetime
) -> bool:
    """Schedule the team's erasure; False if it already is (both uninstall events arrive, and
    Slack may send either twice): the first date stands."""
    return await add_new(
        session, TeamDeparture(team_id=team_id, departed_at=departed_at, erase_at=erase_at)
    )


async def cancel_departure(session: AsyncSession, *, team_id: str) -> bool:
    result = await session.exec(delete(TeamDeparture).where(col(TeamDeparture.team_id) == team_id))
    return result.rowcount > 0


async def due_departures(session: AsyncSession, *, now: datetime) -> Sequence[str]:
    result = await session.exec(
        select(TeamDeparture.team_id).where(col(TeamDeparture.erase_at) <= now)
    )
    return result.all()


async def departure_of(session: AsyncSession, *, team_id: str) -> TeamDeparture | None:
    result = await session.exec(select(TeamDeparture).where(TeamDeparture.team_id == team_id))
    return result.first()
