"""A community's settings rows (welcomes, sustaining…): one row per community, created on its
first save, each save stamped with who changed it and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import SustainingSettings, WelcomeSettings

Row = TypeVar("Row", WelcomeSettings, SustainingSettings)


# Each model's read, built once (`/cop status` reads the sustaining settings every time).
_FIND = {
    model: select(model).where(model.community_id == bindparam("community_id"))
    for model in (WelcomeSettings, SustainingSettings)
}


async def find(session: AsyncSession, model: type[Row], *, community_id: int) -> Row | None:
    result = await session.exec(_FIND[model], params={"community_id": community_id})
    return result.first()  # type: ignore[return-value]


async def save(
    session: AsyncSession,
    model: type[Row],
    *,
    team_id: str,
    community_id: int,
    values: dict[str, Any],
    updated_by: str,
    updated_at: datetime,
) -> Row:
    """Set `values` on the community's row, making it if there is none."""
    found = await find(session, model, community_id=community_id)
    if found is None:
        found = model(
            team_id=team_id,
            community_id=community_id,
            updated_by=updated_by,
            updated_at=updated_at,
        )
    for key, value in values.items():
        setattr(found, key, value)
    found.updated_by, found.updated_at = updated_by, updated_at
    session.add(found)
    await session.flush()
    return found
