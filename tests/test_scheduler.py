"""The scheduler's heartbeats: a beat runs at once and is never cut off by a stop."""

from __future__ import annotations

import asyncio

from bot.scheduler import create_scheduler


async def test_stopping_lets_a_beat_in_progress_finish() -> None:
    started = asyncio.Event()
    finished: list[str] = []

    async def beat() -> None:
        started.set()
        await asyncio.sleep(0.05)  # a beat halfway through its database work
        finished.append("beat")

    scheduler = create_scheduler(60, {"dispatch": beat})
    scheduler.start()
    await asyncio.wait_for(started.wait(), timeout=5)
    await scheduler.stop()
    assert finished == ["beat"]
    assert not scheduler.running
    await scheduler.stop()  # stopping twice is harmless
