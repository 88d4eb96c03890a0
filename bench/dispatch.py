"""Draining scheduled messages: 10,000 rows due at once across 1,000 channels, sent to the fake
Slack answering after 50 ms and allowing one message a second per channel (429 beyond), by one
and by two scheduler processes on one PostgreSQL (or SQLite) database.

The ideal is what the per-channel limit allows: with 10 rows a channel and one a second, the
last one cannot go before 9 s. Each scheduler process is a real OS process running Cultivate's
Dispatcher (batch, lease, concurrency as in production) with a sender that posts the row.

As in production, the schedulers are running when the rows come due: the rows are written due
tomorrow, the processes started, and once each has had its first heartbeat the rows are made
due now and the clock starts. How long the processes took to start is printed beside.

    python -m bench.dispatch [--rows 10000] [--channels 1000] [--in-flight N]
        [--database-url postgresql://...] [--http]

`--in-flight` is each process's SCHEDULER_IN_FLIGHT (default: the setting's default).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event

from sqlalchemy import func, select, update

from bench.common import (
    add_channels,
    database_in_a_folder,
    dispatching_app,
    fake_slack,
    options,
    rows_due_now,
)
from bot.dispatch import DEFAULT_IN_FLIGHT
from storage.db import Database
from storage.models import ScheduledSend


def scheduler_process(
    database_url: str, api_url: str, ca_file: str | None, worker: str, in_flight: int, ready: Event
) -> None:
    async def run() -> None:
        cultivate = dispatching_app(
            database_url, api_url, worker=worker, ca_file=ca_file, in_flight=in_flight
        )
        dispatcher = cultivate.sender
        await dispatcher.run_once()  # nothing is due yet
        ready.set()
        while True:  # the heartbeat, back to back: the benchmark measures the drain
            if await dispatcher.run_once() == 0:
                await asyncio.sleep(0.2)

    asyncio.run(run())


async def remaining(database_url: str) -> int:
    database = Database(database_url)
    async with database.session() as session:
        result = await session.exec(
            select(func.count()).select_from(ScheduledSend).where(ScheduledSend.state != "sent")
        )
        count = result.one()[0]
    await database.dispose()
    return count


async def due_now(database_url: str) -> None:
    """Every row due now: what the schedulers find at their next heartbeat."""
    database = Database(database_url)
    async with database.session() as session:
        await session.exec(update(ScheduledSend).values(due_at=datetime.now(UTC)))
    await database.dispose()


async def measure(
    database_url: str, rows: int, channels: int, processes: int, http: bool, in_flight: int
) -> tuple[float, float, int, int]:
    with fake_slack(http=http) as slack:
        add_channels(slack, channels)
        slack.rate_limit_per_channel(1.0)
        await rows_due_now(database_url, rows, channels, due_in=timedelta(days=1))
        context = multiprocessing.get_context("spawn")
        readiness = [context.Event() for _ in range(processes)]
        workers = [
            context.Process(
                target=scheduler_process,
                args=(database_url, slack.api_url, slack.ca_file, f"clock-{i}", in_flight, ready),
            )
            for i, ready in enumerate(readiness)
        ]
        spawned = time.perf_counter()
        for worker in workers:
            worker.start()
        for ready in readiness:
            await asyncio.to_thread(ready.wait, 120)
        start_up = time.perf_counter() - spawned
        await due_now(database_url)
        started = time.perf_counter()
        for _ in range(24_000):  # polls a quarter second apart: at most 100 minutes
            if not await remaining(database_url):
                break
            await asyncio.sleep(0.25)
        elapsed = time.perf_counter() - started
        for worker in workers:
            worker.terminate()
            worker.join()
        sent = [c for c in slack.calls_to("chat.postMessage") if c.ok]
        limited = sum(1 for c in slack.calls_to("chat.postMessage") if c.status == 429)
        texts = {c.args["text"] for c in sent}
        assert len(texts) == rows, f"{rows - len(texts)} rows never reached Slack"
        slack.problems.clear()
        return elapsed, start_up, len(sent) - rows, limited


async def main(
    rows: int, channels: int, in_flight: int, database_url: str | None, http: bool
) -> None:
    with database_in_a_folder(database_url) as (_, url):
        ideal = (rows / channels - 1) * 1.0
        print(
            f"{rows} rows due at once across {channels} channels; Slack answers after 50 ms "
            f"and allows 1 message/s per channel, over {'plain HTTP' if http else 'HTTPS'}; "
            f"{in_flight} sends in flight a process; "
            f"database {url.split(':')[0]}\n"
        )
        print(
            "| scheduler processes | time to drain (s) | ideal (s) | ratio | sent twice | 429s "
            "| start-up, before the rows came due (s) |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for processes in (1, 2):
            elapsed, start_up, twice, limited = await measure(
                url, rows, channels, processes, http, in_flight
            )
            print(
                f"| {processes} | {elapsed:.1f} | {ideal:.1f} | {elapsed / ideal:.1f} | {twice} "
                f"| {limited} | {start_up:.1f} |"
            )


if __name__ == "__main__":
    given = options(__doc__, rows=10_000, channels=1_000, in_flight=DEFAULT_IN_FLIGHT)
    asyncio.run(main(given.rows, given.channels, given.in_flight, given.database_url, given.http))
