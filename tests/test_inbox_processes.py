"""Events acked by a real `python -m bot` process that is then killed with SIGKILL: the
restarted process handles every one of them, once. And a DM Slack took just before the kill is
not sent again after the restart.

The kill comes right after the last ack, while most events still wait for their listeners;
each test checks that it did (else it would prove nothing)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from sqlmodel import col, func, select

from fakeslack import FakeSlack
from sandbox.processes import Process
from storage.db import Database
from storage.models import Membership, ProcessedEvent, ScheduledSend
from tests.clusters import Cluster, cluster_database_url, slack_for_a_cluster  # noqa: F401 (fixtures)
from tests.conftest import BEN, HOUSING, eventually

PEOPLE = 200


async def count(database: Database, query: object) -> int:
    async with database.session() as session:
        return int((await session.exec(query)).one())  # type: ignore[call-overload]


async def unhandled_events(database: Database) -> int:
    return await count(
        database,
        select(func.count()).select_from(ProcessedEvent).where(ProcessedEvent.state != "done"),
    )


async def burst(
    cluster: Cluster, http: aiohttp.ClientSession, bot: Process, events: list[dict]
) -> float:
    """Post the events at once; returns when the last was acked (time.monotonic())."""
    requests = [cluster.requests.event_callback(event) for event in events]
    await asyncio.gather(*(cluster.post(http, bot, request) for request in requests))
    return time.monotonic()


async def start_and_join(
    cluster: Cluster, http: aiohttp.ClientSession, bot: Process, people: list[str]
) -> float:
    """Start the community, then everyone joins its channel at once; returns the last ack."""
    await cluster.start_community(http, bot)
    joins = [{"type": "member_joined_channel", "user": p, "channel": HOUSING} for p in people]
    return await burst(cluster, http, bot, joins)


@dataclass
class Run:
    """A `python -m bot run` process against the fake, and the database it uses."""

    cluster: Cluster
    database: Database
    bot: Process
    output: str = ""  # what the process printed, once it has stopped


@asynccontextmanager
async def running(tmp_path: Path, fake: FakeSlack, database_url: str) -> AsyncIterator[Run]:
    cluster = Cluster(fake, database_url, tmp_path)
    database = Database(database_url)
    run = Run(cluster, database, cluster.start("run"))
    try:
        await run.bot.healthy()
        yield run
    finally:
        run.output = run.bot.stop()
        await database.dispose()


async def killed_and_restarted(run: Run, last_ack: float, events: str) -> None:
    """SIGKILL the process, check events were still waiting (else the test proves nothing),
    and start it again."""
    run.bot.popen.kill()
    killed = time.monotonic()
    run.bot.popen.wait(20)
    waited = (killed - last_ack) * 1000
    waiting = await unhandled_events(run.database)
    print(f"killed {waited:.0f} ms after the last ack; {waiting} {events} unhandled")
    assert waiting > 0, "every event was handled before the kill: the test proves nothing"
    run.bot.restart()
    await run.bot.healthy()


async def test_joins_acked_before_a_kill_are_all_welcomed_once_after_the_restart(
    tmp_path: Path,
    fake: FakeSlack,
    database_url: str,
) -> None:
    people = fake.workspace.add_people(PEOPLE)
    async with running(tmp_path, fake, database_url) as run:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=50)) as http:
            last_ack = await start_and_join(run.cluster, http, run.bot, people)
        await killed_and_restarted(run, last_ack, f"of {PEOPLE} joins")
        await run.cluster.until_welcomed(people, at_least=PEOPLE)
        await eventually(lambda: _none_unhandled(run.database), timeout=60)
        await asyncio.sleep(2)  # anything sent twice would arrive by now
        counted = run.cluster.welcomes(people)
    assert set(counted.values()) == {1}, Counter(counted.values())
    assert "Traceback" not in run.output.split("Killed")[-1]


async def _none_unhandled(database: Database) -> bool:
    return await unhandled_events(database) == 0


async def test_leaves_and_an_uninstall_acked_before_a_kill_are_handled_after_the_restart(
    tmp_path: Path,
    fake: FakeSlack,
    database_url: str,
) -> None:
    people = fake.workspace.add_people(PEOPLE)
    async with running(tmp_path, fake, database_url) as run:
        cluster, database, bot = run.cluster, run.database, run.bot
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=50)) as http:
            await start_and_join(cluster, http, bot, people)
            await cluster.until_welcomed(people, at_least=PEOPLE)
            await eventually(lambda: _none_unhandled(database), timeout=60)
            # Everyone leaves, then the workspace uninstalls the app: the uninstall last.
            leaves = [
                {"type": "member_left_channel", "user": p, "channel": HOUSING} for p in people
            ]
            last_ack = await burst(cluster, http, bot, leaves)
            uninstall = cluster.requests.event_callback({"type": "app_uninstalled"})
            await cluster.post(http, bot, uninstall)
            last_ack = time.monotonic()
        await killed_and_restarted(run, last_ack, "events")
        await eventually(lambda: _none_unhandled(database), timeout=120)
        still_members = await count(
            database,
            select(func.count())
            .select_from(Membership)
            .where(col(Membership.user_id).in_(people), col(Membership.left_at).is_(None)),
        )
        still_scheduled = await count(
            database,
            select(func.count())
            .select_from(ScheduledSend)
            .where(col(ScheduledSend.state).in_(("pending", "claimed"))),
        )
    assert still_members == 0  # every leave was handled
    assert still_scheduled == 0  # the uninstall was handled: nothing more will be sent
    assert "Traceback" not in run.output.split("Killed")[-1]


async def test_a_dm_slack_took_just_before_a_kill_is_not_sent_again_after_the_restart(
    tmp_path: Path,
    fake: FakeSlack,
    database_url: str,
) -> None:
    async with running(tmp_path, fake, database_url) as run:
        cluster, database, bot = run.cluster, run.database, run.bot
        async with aiohttp.ClientSession() as http:
            await cluster.start_community(http, bot)
            # Slack takes the welcome DM at once but answers only after the kill.
            fake.hold_answers("chat.postMessage", 30)
            join = {"type": "member_joined_channel", "user": BEN, "channel": HOUSING}
            await cluster.post(http, bot, cluster.requests.event_callback(join))

        async def taken() -> bool:
            return cluster.welcomes([BEN])[BEN] == 1

        await eventually(taken, timeout=60)
        bot.kill()  # between Slack taking the DM and the row's update
        fake.hold_answers("chat.postMessage", None)
        row_query = select(ScheduledSend).where(ScheduledSend.kind == "welcome_dm")
        async with database.session() as session:
            [row] = (await session.exec(row_query)).all()
        assert row.state == "claimed"  # the process died not knowing Slack had taken it

        bot.restart()
        await bot.healthy()

        async def sent() -> bool:
            async with database.session() as session:
                return (await session.exec(row_query)).one().state == "sent"

        await eventually(sent, timeout=60)
        await asyncio.sleep(1)
        async with database.session() as session:
            row = (await session.exec(row_query)).one()
    assert cluster.welcomes([BEN])[BEN] == 1
    assert row.attempts == 2  # tried again after the kill, and found the DM already there
    dm = fake.workspace.open_dm([BEN])[0]
    assert any(c.args.get("channel") == dm.id for c in fake.calls_to("conversations.history"))
