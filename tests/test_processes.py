"""Several real processes on one database, and one killed mid-dispatch: every welcome goes out,
none twice across processes, and a SIGKILL loses nothing.

1,000 people join; their join events go to two web processes (each event to both, as a
redelivery could); the welcome DMs are sent by the clock processes."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import aiohttp

from fakeslack import FakeSlack
from tests.clusters import Cluster, cluster_database_url, slack_for_a_cluster  # noqa: F401 (fixtures)

PEOPLE = 1000


async def test_two_web_and_two_clock_processes_welcome_everyone_exactly_once(
    tmp_path: Path, fake: FakeSlack, database_url: str
) -> None:
    cluster = Cluster(fake, database_url, tmp_path)
    people = fake.workspace.add_people(PEOPLE)
    webs = [cluster.start("web"), cluster.start("web")]
    clocks = [cluster.start("clock"), cluster.start("clock")]
    try:
        for process in webs + clocks:
            await process.healthy()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=50)) as http:
            await cluster.start_community(http, webs[0])
            await cluster.join_everyone(http, webs, people)
        await cluster.until_welcomed(people, at_least=PEOPLE)
        await asyncio.sleep(2)  # anything sent twice would arrive by now
        counted = cluster.welcomes(people)
    finally:
        outputs = [p.stop() for p in webs + clocks]

    assert set(counted.values()) == {1}, Counter(counted.values())
    assert all("Traceback" not in output for output in outputs)


async def test_a_clock_killed_mid_dispatch_loses_nothing(
    tmp_path: Path, fake: FakeSlack, database_url: str
) -> None:
    cluster = Cluster(fake, database_url, tmp_path)
    people = fake.workspace.add_people(PEOPLE)
    web = cluster.start("web")
    await web.healthy()
    fake.latency = 0.01  # slow enough that the kill lands in the middle of the dispatch
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=50)) as http:
            await cluster.start_community(http, web)
            await cluster.join_everyone(http, [web], people)
        clock = cluster.start("clock")
        await cluster.until_welcomed(people, at_least=PEOPLE // 3)
        clock.kill()
        sent_before = sum(cluster.welcomes(people).values())
        assert sent_before < PEOPLE, "the dispatch finished before the kill"
        clock.restart()
        await cluster.until_welcomed(people, at_least=PEOPLE)
        await asyncio.sleep(2)
        counted = cluster.welcomes(people)
    finally:
        web.stop()
        clock.stop()
    duplicates = sum(counted.values()) - PEOPLE
    print(f"killed after {sent_before} welcomes; {duplicates} sent twice")
    assert all(counted[p] >= 1 for p in people)
    # Only what was in flight at the kill can go twice: at most one claimed batch.
    assert duplicates <= 100
