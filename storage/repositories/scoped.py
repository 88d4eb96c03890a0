"""Rows found by an id within one team. Ids arrive inside Slack payloads, so every such lookup
is scoped by the team the payload came from: an id from another workspace finds nothing."""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage import models

Row = TypeVar(
    "Row",
    models.Closure,
    models.Community,
    models.Invitation,
    models.JoinRequest,
    models.LibraryEntry,
    models.Meeting,
    models.MeetingAction,
    models.MeetingOccurrence,
    models.Membership,
    models.TermsDraft,
)
CommunityRow = TypeVar(
    "CommunityRow", models.Closure, models.Meeting, models.ScheduledSend, models.TermsDraft
)


async def by_id(
    session: AsyncSession, table: type[Row], *, team_id: str, row_id: int
) -> Row | None:
    result = await session.exec(select(table).where(table.team_id == team_id, table.id == row_id))
    return result.first()


def of_community(
    table: type[CommunityRow], *, team_id: str, community_id: int
) -> SelectOfScalar[CommunityRow]:
    """The query for a community's rows of `table`, to narrow and order further."""
    return select(table).where(table.team_id == team_id, table.community_id == community_id)
