"""A workspace leaving: the app uninstalled, or its bot token revoked."""

from __future__ import annotations

import logging

from bot.clock import Clock
from storage.db import Database
from storage.repositories import installations, scheduled

log = logging.getLogger(__name__)


async def forget_workspace(database: Database, clock: Clock, *, team_id: str) -> int:
    """Drop the team's token and stop everything it had scheduled, in one unit of work.
    Its communities and their history stay: a reinstall picks them up again."""
    async with database.session() as session:
        await installations.delete_installation(session, team_id=team_id)
        cancelled = await scheduled.cancel_team(session, team_id=team_id, now=clock.now())
    log.info("team %s uninstalled the app; cancelled %d scheduled sends", team_id, cancelled)
    return cancelled
