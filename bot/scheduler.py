"""The scheduler: APScheduler runs fixed heartbeat jobs, nothing else.

Anything due later is a row in the database; a heartbeat claims the rows that are due and sends
them. APScheduler itself holds no state worth keeping (jobs are re-registered at start-up with
fixed ids, in memory, never pickled), so a process killed at any moment loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

Heartbeat = Callable[[], Awaitable[None]]


class Heartbeats(AsyncIOScheduler):
    """APScheduler, stopped without cutting a beat off midway: APScheduler's own shutdown
    cancels a running coroutine job, and one cancelled inside a database call can leave its
    connection half-closed and the event loop unable to finish."""

    def __init__(self) -> None:
        super().__init__(timezone=UTC)
        self.beating: set[asyncio.Task[object]] = set()

    async def stop(self) -> None:
        if not self.running:
            return
        self.pause()  # no new beats
        await asyncio.gather(*self.beating, return_exceptions=True)
        self.shutdown(wait=False)
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn


def create_scheduler(tick_seconds: float, heartbeats: Mapping[str, Heartbeat]) -> Heartbeats:
    scheduler = Heartbeats()
    for name, heartbeat in heartbeats.items():
        scheduler.add_job(
            _guarded(name, heartbeat, scheduler.beating),
            "interval",
            seconds=tick_seconds,
            id=f"heartbeat:{name}",
            replace_existing=True,
            max_instances=1,  # a slow beat is never overlapped by the next
            coalesce=True,  # after a stall, run once, not once per missed tick
            next_run_time=datetime.now(UTC),
        )
    return scheduler


def _guarded(name: str, heartbeat: Heartbeat, beating: set[asyncio.Task[object]]) -> Heartbeat:
    async def run() -> None:
        task = asyncio.current_task()
        if task is not None:
            beating.add(task)
        try:
            await heartbeat()
        except Exception:  # one bad beat must not stop the next
            log.exception("heartbeat %s failed", name)
        finally:
            beating.discard(task)  # type: ignore[arg-type]

    return run
