"""What is scheduled for a community and what could not be delivered: for its coordinators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.models import ScheduledSend
from storage.repositories import scheduled


@dataclass(frozen=True)
class Delivery:
    kind: str
    about: str | None  # what it concerns, e.g. a meeting's title, as typed
    due_at: datetime
    error: str | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: ScheduledSend) -> Delivery:
        about = row.payload.get("title")
        return cls(
            kind=row.kind,
            about=str(about) if about else None,
            due_at=row.due_at,
            error=row.last_error,
            finished_at=row.finished_at,
        )


@dataclass(frozen=True)
class Outlook:
    due: list[Delivery]  # soonest first
    due_count: int
    failed: list[Delivery]  # most recent first


async def outlook(
    database: Database, *, team_id: str, community_id: int, limit: int = 8
) -> Outlook:
    async with database.session() as session:
        pending = await scheduled.open_for_community(
            session, team_id=team_id, community_id=community_id
        )
        failed = await scheduled.failed_for_community(
            session, team_id=team_id, community_id=community_id, limit=limit
        )
    return Outlook(
        due=[Delivery.of(r) for r in pending[:limit]],
        due_count=len(pending),
        failed=[Delivery.of(r) for r in failed],
    )
