"""Tidying that runs on the scheduler's heartbeat: the retention rules (bot.services.retention)."""

from __future__ import annotations

from bot.runtime import Runtime
from bot.services.retention import EVENT_IDS_KEPT, Tidied, tidy
from storage.repositories.events import forget_events_before

REMEMBER_EVENTS_FOR = EVENT_IDS_KEPT


async def housekeeping(runtime: Runtime, *, activity_days: int) -> Tidied:
    return await tidy(runtime.database, runtime.clock, activity_days=activity_days)


async def forget_old_events(runtime: Runtime) -> int:
    async with runtime.database.session() as session:
        return await forget_events_before(session, before=runtime.clock.now() - REMEMBER_EVENTS_FOR)
