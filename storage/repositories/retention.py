"""Deleting what has outlived its purpose: old activity, finished scheduled rows, a departed
workspace's every row."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete
from sqlmodel import SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ActivityDay, ScheduledSend
from storage.repositories.scheduled import OPEN_STATES


async def delete_activity_before(session: AsyncSession, *, day: date) -> int:
    result = await session.exec(delete(ActivityDay).where(col(ActivityDay.day) < day))
    return result.rowcount


async def delete_finished_sends_before(session: AsyncSession, *, before: datetime) -> int:
    result = await session.exec(
        delete(ScheduledSend).where(
            col(ScheduledSend.state).not_in(OPEN_STATES),
            col(ScheduledSend.finished_at) < before,
        )
    )
    return result.rowcount


async def delete_team(session: AsyncSession, *, team_id: str) -> int:
    """Every row of the team, in every table that has a team id, children before parents.
    Walking the schema rather than a list means a new table is never forgotten."""
    deleted = 0
    for table in reversed(SQLModel.metadata.sorted_tables):
        if "team_id" in table.c:
            result = await session.exec(delete(table).where(table.c.team_id == team_id))
            deleted += result.rowcount
    return deleted
