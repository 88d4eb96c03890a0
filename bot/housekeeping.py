"""Tidying that runs on the scheduler's heartbeat."""

from __future__ import annotations

from datetime import timedelta

from bot.runtime import Runtime
from storage.repositories.events import forget_events_before

# Slack stops redelivering an event after about an hour; a day is a wide margin.
REMEMBER_EVENTS_FOR = timedelta(days=1)


async def forget_old_events(runtime: Runtime) -> int:
    async with runtime.database.session() as session:
        return await forget_events_before(session, before=runtime.clock.now() - REMEMBER_EVENTS_FOR)
