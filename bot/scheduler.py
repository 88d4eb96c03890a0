"""The scheduler: APScheduler runs fixed heartbeat jobs, nothing else.

Anything due later is a row in the database; a heartbeat claims the rows that are due and sends
them. APScheduler itself holds no state worth keeping (jobs are re-registered at start-up with
fixed ids, in memory, never pickled), so a process killed at any moment loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

Heartbeat = Callable[[], Awaitable[None]]


def create_scheduler(tick_seconds: float, heartbeats: Mapping[str, Heartbeat]) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    for name, heartbeat in heartbeats.items():
        scheduler.add_job(
            _guarded(name, heartbeat),
            "interval",
            seconds=tick_seconds,
            id=f"heartbeat:{name}",
            replace_existing=True,
            max_instances=1,  # a slow beat is never overlapped by the next
            coalesce=True,  # after a stall, run once, not once per missed tick
            next_run_time=datetime.now(UTC),
        )
    return scheduler


def _guarded(name: str, heartbeat: Heartbeat) -> Heartbeat:
    async def run() -> None:
        try:
            await heartbeat()
        except Exception:  # one bad beat must not stop the next
            log.exception("heartbeat %s failed", name)

    return run
