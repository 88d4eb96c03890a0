"""A workspace leaving: the app uninstalled, or its bot token revoked; and its erasure."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.clock import Clock
from storage.db import Database
from storage.repositories import departures, installations, retention, scheduled

log = logging.getLogger(__name__)


async def forget_workspace(
    database: Database, clock: Clock, *, team_id: str, retention_days: int
) -> int:
    """Drop the team's token, stop everything it had scheduled and schedule the erasure of
    every row of the team in `retention_days`, in one unit of work. Until then a reinstall
    picks its communities up again (and cancels the erasure)."""
    now = clock.now()
    async with database.session() as session:
        await installations.delete_installation(session, team_id=team_id)
        cancelled = await scheduled.cancel_team(session, team_id=team_id, now=now)
        await departures.record_departure(
            session,
            team_id=team_id,
            departed_at=now,
            erase_at=now + timedelta(days=retention_days),
        )
    log.info(
        "team %s uninstalled the app; cancelled %d scheduled sends; its data is erased in %d days",
        team_id,
        cancelled,
        retention_days,
    )
    return cancelled


async def erase_workspace(database: Database, *, team_id: str) -> int:
    """Every row of the team, its token and any pending erasure included, in one unit of work.
    Returns how many rows were deleted."""
    async with database.session() as session:
        deleted = await retention.delete_team(session, team_id=team_id)
    log.info("team %s erased: %d rows deleted", team_id, deleted)
    return deleted


async def erase_departed_workspaces(database: Database, clock: Clock) -> list[str]:
    """Erase the teams whose retention period after uninstalling has run out."""
    async with database.session() as session:
        due = list(await departures.due_departures(session, now=clock.now()))
    for team_id in due:
        await erase_workspace(database, team_id=team_id)
    return due
