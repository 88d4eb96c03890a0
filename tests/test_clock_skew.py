"""Two schedulers on hosts whose clocks disagree by far more than a claim's lease, on one
PostgreSQL database: every row is sent once, because claims, leases and due times are compared
on the database's clock, not either host's."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import select

from bot.clock import SystemClock
from bot.dispatch import Dispatcher, Due, Senders, SingleWorkspace
from bot.runtime import Runtime
from fakeslack import FakeSlack
from storage.db import Database
from storage.migrate import upgrade
from storage.models import ScheduledSend
from storage.repositories import scheduled
from tests.conftest import BEN, POSTGRES_SKIP, TEAM, reset_postgres

ROWS = 40
LEASE = timedelta(seconds=2)
SKEW = timedelta(hours=1)  # each way: the hosts disagree by two hours


class SkewedHost(SystemClock):
    """A production clock on a host whose own time is off by `skew`."""

    def __init__(self, skew: timedelta) -> None:
        self.skew = skew

    def now(self) -> datetime:
        return datetime.now(UTC) + self.skew


@pytest.fixture
async def postgres() -> AsyncIterator[Database]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip(f"the clock-skew test runs on PostgreSQL only: {POSTGRES_SKIP}")
    database = Database(url)
    await reset_postgres(database)
    await upgrade(database)
    yield database
    await database.dispose()


async def test_two_schedulers_whose_clocks_differ_by_more_than_the_lease_send_every_row_once(
    postgres: Database,
) -> None:
    with FakeSlack() as slack:
        slack.latency = 0.2  # sends are in flight long enough to be taken twice, if they could
        senders = Senders()

        async def note(due: Due, client: AsyncWebClient) -> None:
            await client.chat_postMessage(channel=BEN, text=f"note {due.id}")

        senders.register("note", note, description="a note")
        client = AsyncWebClient(token="xoxb-skew", base_url=slack.api_url)

        def scheduler(name: str, skew: timedelta) -> Dispatcher:
            runtime = Runtime(database=postgres, clock=SkewedHost(skew))
            return Dispatcher(
                runtime, senders, SingleWorkspace(client), worker=name, lease=LEASE, batch=5
            )

        ahead, behind = scheduler("ahead", SKEW), scheduler("behind", -SKEW)
        # Due two hours ago by either host's clock, so both see them due.
        async with postgres.session() as session:
            for _ in range(ROWS):
                await scheduled.schedule(
                    session,
                    team_id=TEAM,
                    kind="note",
                    due_at=datetime.now(UTC) - 2 * SKEW,
                )

        async def open_rows() -> int:
            async with postgres.session() as session:
                rows = await session.exec(
                    select(ScheduledSend).where(ScheduledSend.state != "sent")
                )
                return len(rows.all())

        async with asyncio.timeout(120):
            while await open_rows():
                await asyncio.gather(ahead.run_until_idle(), behind.run_until_idle())

        dm = slack.workspace.open_dm([BEN])[0]
        counted = Counter(m["text"] for m in slack.messages(dm.id))
        assert len(counted) == ROWS
        assert set(counted.values()) == {1}, counted
        async with postgres.session() as session:
            rows = (await session.exec(select(ScheduledSend))).all()
        assert {r.claimed_by for r in rows} == {"ahead", "behind"}  # both took part
        assert all(r.attempts == 1 for r in rows)  # nobody took a row another still held
        assert slack.problems == []
