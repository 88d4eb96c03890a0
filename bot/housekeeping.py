"""Tidying that runs on the scheduler's heartbeat: the retention rules (bot.services.retention)."""

from __future__ import annotations

from bot.runtime import Runtime
from bot.services.retention import Tidied, tidy


async def housekeeping(runtime: Runtime, *, activity_days: int) -> Tidied:
    return await tidy(runtime.database, runtime.clock, activity_days=activity_days)
