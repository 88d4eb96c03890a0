"""Where one scheduler process's time goes when it drains a backlog: per row, the Slack call
(and, within it, waiting for the channel's turn), confirming the claim and recording the send,
and the CPU it used. The fake Slack runs in a
process of its own (50 ms latency), as in bench/dispatch.py; the dispatcher runs here, timed.

    python -m bench.dispatch_steps [--rows 3000] [--channels 300] [--in-flight 8]
        [--database-url postgresql://...] [--http]
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from multiprocessing.synchronize import Event
from typing import Any

from bench.common import (
    add_channels,
    database_in_a_folder,
    dispatching_app,
    fake_slack,
    options,
    post,
    rows_due_now,
)
from bot.pacing import ChannelPacer
from storage.repositories import scheduled

spent: defaultdict[str, float] = defaultdict(float)


def timed(step: str, function: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await function(*args, **kwargs)
        finally:
            spent[step] += time.perf_counter() - started

    return run


def timed_turn(
    turn: Callable[[str], AbstractAsyncContextManager[None]],
) -> Callable[[str], AbstractAsyncContextManager[None]]:
    """The pacer's `turn`, counting the wait for it as "wait for the channel's turn"."""

    @asynccontextmanager
    async def run(channel: str) -> AsyncIterator[None]:
        started = time.perf_counter()
        async with turn(channel):
            spent["wait for the channel's turn"] += time.perf_counter() - started
            yield

    return run


def serve_slack(channels: int, http: bool, urls: Any, done: Event) -> None:
    with fake_slack(http=http) as slack:
        add_channels(slack, channels)
        urls.put((slack.api_url, slack.ca_file))
        done.wait()
        slack.problems.clear()


async def drain(
    database_url: str,
    slack: tuple[str, str | None],
    rows: int,
    channels: int,
    in_flight: int,
) -> None:
    api_url, ca_file = slack
    await rows_due_now(database_url, rows, channels)
    # The steps, timed where the dispatcher calls them.
    scheduled.confirm_claims = timed("confirm the claim", scheduled.confirm_claims)  # type: ignore[assignment]
    scheduled.finish = timed("record the send", scheduled.finish)  # type: ignore[assignment]
    pacer = ChannelPacer()
    pacer.turn = timed_turn(pacer.turn)  # type: ignore[method-assign]
    cultivate = dispatching_app(
        database_url, api_url, send=timed("Slack call", post), pacer=pacer, ca_file=ca_file
    )
    dispatcher = cultivate.dispatcher(worker="steps", concurrency=in_flight)
    started, cpu, sent = time.perf_counter(), time.process_time(), 0
    while handled := await dispatcher.run_once():
        sent += handled
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await cultivate.slack_session.close()
    await cultivate.runtime.database.dispose()
    print(
        f"{rows} rows across {channels} channels, {in_flight} sends in flight, Slack over "
        f"{'HTTPS' if ca_file else 'plain HTTP'}\n"
    )
    print("| figure | value |\n| --- | ---: |")
    print(f"| rows a second | {sent / elapsed:.0f} |")
    for step, seconds in spent.items():
        print(f"| {step}, ms a row | {1000 * seconds / sent:.1f} |")
    print(f"| CPU, ms a row | {1000 * cpu / sent:.1f} |")
    print(f"| share of the time the process was busy | {cpu / elapsed:.0%} |")


def main(rows: int, channels: int, in_flight: int, database_url: str | None, http: bool) -> None:
    context = multiprocessing.get_context("spawn")
    urls, done = context.Queue(), context.Event()
    slack = context.Process(target=serve_slack, args=(channels, http, urls, done))
    slack.start()
    try:
        with database_in_a_folder(database_url) as (_, url):
            asyncio.run(drain(url, urls.get(timeout=30), rows, channels, in_flight))
    finally:
        done.set()
        slack.join()


if __name__ == "__main__":
    given = options(__doc__, rows=3_000, channels=300, in_flight=8)
    main(given.rows, given.channels, given.in_flight, given.database_url, given.http)
