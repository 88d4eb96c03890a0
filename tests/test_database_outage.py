"""The database restarting in the middle of a dispatch: nothing is lost, and what is sent twice
is bounded by what was in flight when it went away."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from datetime import timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.app import SingleWorkspace
from bot.clock import ManualClock
from bot.dispatch import Dispatcher, Due, Senders
from bot.runtime import Runtime
from fakeslack import FakeSlack
from storage.db import Database
from storage.migrate import upgrade
from storage.models import ScheduledSend
from storage.repositories import scheduled
from tests.conftest import POSTGRES_SKIP, TEAM, reset_postgres
from tests.tcp_proxy import Proxy

ROWS = 300


async def test_dispatch_survives_the_database_restarting(
    slack: FakeSlack, clock: ManualClock
) -> None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip(POSTGRES_SKIP)
    direct = Database(url)
    await reset_postgres(direct)
    await upgrade(direct)
    async with direct.session() as session:
        for n in range(ROWS):
            await scheduled.schedule(
                session, team_id=TEAM, kind="note", due_at=clock.now(), payload={"n": n}
            )

    parsed = make_url(url)
    proxy = Proxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    proxied = Database(parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(False))

    async def post(due: Due, client: AsyncWebClient) -> None:
        await client.chat_postMessage(channel="C0HOUSING", text=f"note {due.payload['n']}")

    senders = Senders()
    senders.register("note", post, description="a note")
    client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
    dispatcher = Dispatcher(
        Runtime(database=proxied, clock=clock),
        senders,
        SingleWorkspace(client),
        worker="survivor",
        batch=20,
        lease=timedelta(minutes=5),
    )

    async def heartbeat() -> None:
        # As the scheduler's guard does: a failed beat is logged, and the next one runs.
        with contextlib.suppress(Exception):
            await dispatcher.run_once()

    for _ in range(3):
        await heartbeat()
    slack.latency = 0.02  # slow sends, so the cut lands in the middle of a batch
    beating = asyncio.create_task(heartbeat())
    await slack.wait_for("chat.postMessage", count=70)
    await proxy.cut()  # the database goes away mid-dispatch…
    await beating
    for _ in range(3):
        await heartbeat()
    slack.latency = 0
    await proxy.start()  # …and comes back
    for _ in range(60):
        await heartbeat()
        clock.advance(timedelta(minutes=6))  # let any claim stranded by the outage expire
        async with direct.session() as session:
            states = Counter(r.state for r in (await session.exec(select(ScheduledSend))).all())
        if states == Counter({"sent": ROWS}):
            break
    await proxy.cut()
    await proxied.dispose()
    await direct.dispose()

    assert states == Counter({"sent": ROWS})
    sent = Counter(c.args["text"] for c in slack.calls_to("chat.postMessage") if c.ok)
    assert set(sent) == {f"note {n}" for n in range(ROWS)}
    duplicates = sum(sent.values()) - ROWS
    assert duplicates <= 20  # at most one batch was in flight when the database went away
