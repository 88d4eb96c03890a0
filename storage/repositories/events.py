from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedEvent


async def first_delivery(
    session: AsyncSession, *, team_id: str, event_id: str, received_at: datetime
) -> bool:
    """Record an event id; False if it was recorded before (a redelivery)."""
    try:
        async with session.begin_nested():
            session.add(ProcessedEvent(team_id=team_id, event_id=event_id, received_at=received_at))
    except IntegrityError:
        return False
    return True


async def forget_events_before(session: AsyncSession, *, before: datetime) -> int:
    result = await session.exec(
        delete(ProcessedEvent).where(col(ProcessedEvent.received_at) < before)
    )
    return result.rowcount
