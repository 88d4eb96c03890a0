"""Which Slack teams a database holds data for."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


async def teams_other_than(session: AsyncSession, *, team_id: str, limit: int = 3) -> list[str]:
    """Up to `limit` teams other than `team_id` that any table holds a row for."""
    found: set[str] = set()
    for table in SQLModel.metadata.sorted_tables:
        column = table.columns.get("team_id")
        if column is None:
            continue
        rows = await session.exec(
            select(column).where(column != team_id).distinct().limit(limit)  # type: ignore[call-overload]
        )
        found.update(str(team) for team in rows.scalars().all())
        if len(found) >= limit:
            break
    return sorted(found)[:limit]
