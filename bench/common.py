"""What the benchmarks set up alike: their command line, a database (PostgreSQL if given, else
a SQLite file in a temporary folder), the fake Slack with the benchmark's channels (over HTTPS,
as Slack is, unless --http), real Cultivate processes migrated and pointed at both, trusting
its certificate, and, for the dispatch benchmarks, rows due at once and the app that sends
them."""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine, event

from bot.app import Cultivate, create_app
from bot.clock import ManualClock
from bot.dispatch import Due
from bot.pacing import ChannelPacer
from bot.runtime import Runtime
from bot.services.communities import start_community
from bot.settings import load_settings
from fakeslack import FakeSlack, SlackRequests
from fakeslack.workspace import BOT_USER_ID, Channel
from sandbox.processes import SIGNING_SECRET, Process, empty_database, environment, free_port
from sandbox.seeding import CHANNEL, COORDINATOR, TEAM, fill
from storage.db import Database
from storage.migrate import upgrade
from storage.repositories import scheduled

KIND = "bench_post"  # the dispatch benchmarks' rows: a post in a channel


def options(doc: str, **defaults: float | str) -> argparse.Namespace:
    """The command line: an option for each default (`in_flight` as `--in-flight`, of the
    default's type), then `--database-url` and `--http`; the help is the first paragraph of
    `doc`."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    for name, default in defaults.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--http",
        action="store_true",
        help="the fake Slack speaks plain HTTP (default HTTPS, so a new connection costs a "
        "TLS handshake as it does against Slack)",
    )
    return parser.parse_args()


def fake_slack(*, http: bool = False) -> FakeSlack:
    """The fake Slack as the benchmarks run it: HTTPS with a certificate of its own, unless
    `http`; say which in the figures' heading with `scheme`."""
    return FakeSlack(tls=not http)


def scheme(slack: FakeSlack) -> str:
    return "HTTPS" if slack.tls else "plain HTTP"


@contextmanager
def database_in_a_folder(database_url: str | None) -> Iterator[tuple[Path, str]]:
    """A temporary folder, and the database to use: the one given, or a SQLite file in it."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        yield folder, database_url or f"sqlite:///{folder / 'bench.db'}"


def add_channels(slack: FakeSlack, channels: int) -> None:
    """Channels C00000… with the app in each, and Slack answering after 50 ms."""
    for n in range(channels):
        channel = Channel(f"C{n:05d}", f"bench-{n}", members=[BOT_USER_ID])
        slack.workspace.channels[channel.id] = channel
    slack.latency = 0.05


@dataclass
class Processes:
    """Real Cultivate processes against the fake Slack, on one migrated database."""

    slack: FakeSlack
    workdir: Path
    url: str
    env: dict[str, str]

    def start(self, argv: list[str]) -> Process:
        """A process (`python -m` argv) serving on a port of its own."""
        return Process(argv, {**self.env, "PORT": str(free_port())}, self.workdir)

    def requests(self) -> SlackRequests:
        """Requests signed as Slack signs them, from the fake's workspace."""
        return SlackRequests(
            SIGNING_SECRET,
            workspace=self.slack.workspace,
            response_url_base=self.slack.response_url_base,
        )


@asynccontextmanager
async def migrated(
    database_url: str | None, *, http: bool = False, **extra: str
) -> AsyncIterator[Processes]:
    """The fake Slack (HTTPS unless `http`), and the database emptied and migrated as
    `python -m bot migrate` does; `extra` goes into every process's environment."""
    with fake_slack(http=http) as slack, database_in_a_folder(database_url) as (workdir, url):
        env = environment(api_url=slack.api_url, database_url=url, ca_file=slack.ca_file, **extra)
        processes = Processes(slack, workdir, url, env)
        await empty_database(url)
        processes.start(["bot", "migrate"]).popen.wait(60)
        yield processes


async def post(due: Due, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel=due.payload["channel"], text=due.payload["text"])


def dispatching_app(
    database_url: str,
    api_url: str,
    *,
    send: Callable[[Due, AsyncWebClient], Awaitable[None]] = post,
    pacer: ChannelPacer | None = None,
    worker: str | None = None,
    ca_file: str | None = None,
    in_flight: int | None = None,
) -> Cultivate:
    """The app as a clock process builds it, with one more kind of row to send (`KIND`),
    trusting `ca_file` (an HTTPS fake's certificate); `in_flight` as SCHEDULER_IN_FLIGHT, if
    given."""
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": database_url,
            **({"SLACK_CA_FILE": ca_file} if ca_file else {}),
            **({"SCHEDULER_IN_FLIGHT": str(in_flight)} if in_flight else {}),
        }
    )
    cultivate = create_app(
        settings,
        Runtime(database=Database(database_url)),
        pacer=pacer,
        web_server=False,
        worker=worker,
    )
    cultivate.senders.register(KIND, send, description="a benchmark post")
    return cultivate


async def rows_due_now(
    database_url: str, rows: int, channels: int, *, due_in: timedelta = timedelta(0)
) -> None:
    """An empty, migrated database with `rows` posts due now (or in `due_in`), spread over the
    channels."""
    await empty_database(database_url)
    database = Database(database_url)
    await upgrade(database)
    now = datetime.now(UTC) + due_in
    async with database.session() as session:
        for n in range(rows):
            await scheduled.schedule(
                session,
                team_id="T0CULTIV8",
                kind=KIND,
                due_at=now,
                payload={"channel": f"C{n % channels:05d}", "text": f"row {n}"},
                channel=f"C{n % channels:05d}",
            )
    await database.dispose()


async def filled_community(
    database_url: str, *, size: int, meetings: int, now: datetime
) -> tuple[Cultivate, int]:
    """The app as a web process builds it (Slack never called: nothing is sent) on an empty,
    migrated database holding one community with every stage answered, `size` members and
    `meetings` meetings (and as many of everything else): what `bench.status` and
    `bench.save` measure against. The community's id is returned beside."""
    await empty_database(database_url)
    cultivate = dispatching_app(database_url, "http://127.0.0.1:9/api/")
    database = cultivate.runtime.database
    await upgrade(database)
    community = await start_community(
        database,
        ManualClock(now),
        team_id=TEAM,
        channel_id=CHANNEL,
        name="Housing policy",
        domain="Housing policy across councils",
        timezone="UTC",
        starter=COORDINATOR,
    )
    community_id = community.id or 0
    await fill(
        database, community_id=community_id, size=size, meetings=meetings, now=now, capped=True
    )
    return cultivate, community_id


@contextmanager
def statements_run(engine: Engine) -> Iterator[list[str]]:
    """The SQL of each statement run on `engine` while in the block."""
    statements: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)


async def print_profile(
    work: Callable[[], Awaitable[None]], times: int, *, cumulative: int = 40, own: int = 25
) -> None:
    """Where `times` runs of `work` spend their CPU (cProfile on process time): the functions
    with the most time under them, then those with the most time of their own."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(times):
        await work()
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(cumulative)
    stats.sort_stats("tottime").print_stats(own)


def cpu_cells(cpu: list[float]) -> str:
    """CPU times' p50, mean and p90 (ms), as a Markdown table row's cells."""
    p90 = statistics.quantiles(cpu, n=10)[-1]
    return f"{statistics.median(cpu):.2f} | {statistics.mean(cpu):.2f} | {p90:.2f}"
