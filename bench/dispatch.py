"""Draining scheduled messages: 10,000 rows due at once across 1,000 channels, sent to the fake
Slack answering after 50 ms and allowing one message a second per channel (429 beyond), by one
and by two scheduler processes on one PostgreSQL (or SQLite) database.

The ideal is what the per-channel limit allows: with 10 rows a channel and one a second, the
last one cannot go before 9 s. Each scheduler process is a real OS process running Cultivate's
Dispatcher (batch, lease, concurrency as in production) with a sender that posts the row.

    python -m bench.dispatch [--rows 10000] [--channels 1000] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select

from bot.app import create_app
from bot.dispatch import Due
from bot.runtime import Runtime
from bot.settings import Settings, load_settings
from fakeslack import FakeSlack
from fakeslack.workspace import BOT_USER_ID, Channel
from sandbox.processes import SIGNING_SECRET, empty_database
from storage.db import Database
from storage.migrate import upgrade
from storage.models import ScheduledSend
from storage.repositories import scheduled

KIND = "bench_post"


async def post(due: Due, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel=due.payload["channel"], text=due.payload["text"])


def bench_settings(database_url: str, api_url: str) -> Settings:
    return load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": database_url,
        }
    )


def scheduler_process(database_url: str, api_url: str, worker: str) -> None:
    async def run() -> None:
        database = Database(database_url)
        # The app as a clock process builds it, with one more kind of row to send.
        cultivate = create_app(
            bench_settings(database_url, api_url),
            Runtime(database=database),
            web_server=False,
            worker=worker,
        )
        cultivate.senders.register(KIND, post, description="a benchmark post")
        dispatcher = cultivate.sender
        while True:  # the heartbeat, back to back: the benchmark measures the drain
            if await dispatcher.run_once() == 0:
                await asyncio.sleep(0.2)

    asyncio.run(run())


async def prepare(database_url: str, rows: int, channels: int) -> None:
    await empty_database(database_url)
    database = Database(database_url)
    await upgrade(database)
    now = datetime.now(UTC)
    async with database.session() as session:
        for n in range(rows):
            await scheduled.schedule(
                session,
                team_id="T0CULTIV8",
                kind=KIND,
                due_at=now,
                payload={"channel": f"C{n % channels:05d}", "text": f"row {n}"},
            )
    await database.dispose()


async def remaining(database_url: str) -> int:
    database = Database(database_url)
    async with database.session() as session:
        result = await session.exec(
            select(func.count()).select_from(ScheduledSend).where(ScheduledSend.state != "sent")
        )
        count = result.one()[0]
    await database.dispose()
    return count


async def measure(
    database_url: str, rows: int, channels: int, processes: int
) -> tuple[float, int, int]:
    with FakeSlack() as slack:
        for n in range(channels):
            channel = Channel(f"C{n:05d}", f"bench-{n}", members=[BOT_USER_ID])
            slack.workspace.channels[channel.id] = channel
        slack.latency = 0.05
        slack.rate_limit_per_channel(1.0)
        await prepare(database_url, rows, channels)
        context = multiprocessing.get_context("spawn")
        workers = [
            context.Process(
                target=scheduler_process, args=(database_url, slack.api_url, f"clock-{i}")
            )
            for i in range(processes)
        ]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
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
        return elapsed, len(sent) - rows, limited


async def main(rows: int, channels: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        ideal = (rows / channels - 1) * 1.0
        print(
            f"{rows} rows due at once across {channels} channels; Slack answers after 50 ms "
            f"and allows 1 message/s per channel; database {url.split(':')[0]}\n"
        )
        print("| scheduler processes | time to drain (s) | ideal (s) | ratio | sent twice | 429s |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for processes in (1, 2):
            elapsed, twice, limited = await measure(url, rows, channels, processes)
            print(
                f"| {processes} | {elapsed:.1f} | {ideal:.1f} | {elapsed / ideal:.1f} | {twice} | {limited} |"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    asyncio.run(main(options.rows, options.channels, options.database_url))
