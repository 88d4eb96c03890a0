from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Installation, OAuthState


async def save_installation(session: AsyncSession, *, installation: Installation) -> None:
    """Insert, or replace the team's previous installation (a reinstall brings a new token)."""
    await session.exec(
        delete(Installation).where(col(Installation.team_id) == installation.team_id)
    )
    session.add(installation)
    await session.flush()


async def installation_for_team(session: AsyncSession, *, team_id: str) -> Installation | None:
    result = await session.exec(select(Installation).where(Installation.team_id == team_id))
    return result.first()


async def delete_installation(session: AsyncSession, *, team_id: str) -> int:
    result = await session.exec(delete(Installation).where(col(Installation.team_id) == team_id))
    return result.rowcount


async def add_state(session: AsyncSession, *, state: str, expires_at: datetime) -> None:
    session.add(OAuthState(state=state, expires_at=expires_at))
    await session.flush()


async def consume_state(session: AsyncSession, *, state: str, now: datetime) -> bool:
    """True once for a state that was issued and has not expired; it is gone afterwards."""
    result = await session.exec(
        delete(OAuthState).where(col(OAuthState.state) == state, col(OAuthState.expires_at) > now)
    )
    return result.rowcount == 1


async def all_installations(session: AsyncSession) -> list[Installation]:
    result = await session.exec(select(Installation).order_by(col(Installation.id)))
    return list(result.all())


async def delete_expired_states(session: AsyncSession, *, now: datetime) -> int:
    result = await session.exec(delete(OAuthState).where(col(OAuthState.expires_at) <= now))
    return result.rowcount
