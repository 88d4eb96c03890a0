"""Several web and clock processes of the app on one database, as production runs them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from fakeslack import FakeSlack, SlackRequests
from sandbox.processes import SIGNING_SECRET, Process, environment, free_port
from storage.db import Database
from tests.conftest import ASHA, HOUSING, eventually, reset_postgres


@pytest.fixture(name="database_url")
def cluster_database_url(database_url: str) -> str:
    """conftest's database, emptied on PostgreSQL as a fresh install would be: the processes
    migrate it themselves."""
    if not database_url.startswith("sqlite"):

        async def reset() -> None:
            database = Database(database_url)
            await reset_postgres(database)
            await database.dispose()

        asyncio.run(reset())
    return database_url


@pytest.fixture(name="fake")
def slack_for_a_cluster() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack
        assert slack.problems == []


class Cluster:
    def __init__(self, fake: FakeSlack, database_url: str, workdir: Path) -> None:
        self.fake = fake
        self.env = environment(
            api_url=fake.api_url,
            database_url=database_url,
            SCHEDULER_TICK_SECONDS="0.2",
            SCHEDULER_LEASE_SECONDS="3",
        )
        self.workdir = workdir
        self.requests = SlackRequests(
            SIGNING_SECRET, workspace=fake.workspace, response_url_base=fake.response_url_base
        )
        migrate = Process(["bot", "migrate"], {**self.env, "PORT": str(free_port())}, workdir)
        assert migrate.popen.wait(60) == 0, migrate.output()

    def start(self, mode: str) -> Process:
        return Process(["bot", mode], {**self.env, "PORT": str(free_port())}, self.workdir)

    async def post(
        self, http: aiohttp.ClientSession, process: Process, request: tuple[str, dict[str, str]]
    ) -> None:
        body, headers = request
        async with http.post(f"{process.url}/slack/events", data=body, headers=headers) as r:
            assert r.status == 200, await r.text()

    async def start_community(self, http: aiohttp.ClientSession, web: Process) -> None:
        await self.post(http, web, self.requests.slash_command(text="start", user_id=ASHA))
        [opened] = await self.fake.wait_for("views.open")
        view = self.fake.views[opened.response["view"]["id"]]
        await self.post(
            http, web, self.requests.view_submission(view, ASHA, {"name": {"name": "Housing"}})
        )

    async def join_everyone(
        self, http: aiohttp.ClientSession, webs: list[Process], people: list[str]
    ) -> None:
        for start in range(0, len(people), 50):
            sends = []
            for person in people[start : start + 50]:
                body, headers = self.requests.event_callback(
                    {"type": "member_joined_channel", "user": person, "channel": HOUSING}
                )
                sends += [self.post(http, web, (body, headers)) for web in webs]
            await asyncio.gather(*sends)

    def welcomes(self, people: list[str]) -> Counter[str]:
        """How many welcome DMs each person got."""
        counted: Counter[str] = Counter()
        for person in people:
            dm = self.fake.workspace.open_dm([person])[0]
            counted[person] = sum(
                1 for m in self.fake.messages(dm.id) if m.get("text", "").startswith("Welcome to")
            )
        return counted

    async def until_welcomed(self, people: list[str], *, at_least: int) -> None:
        async def enough_welcomed() -> bool:
            return sum(1 for n in self.welcomes(people).values() if n) >= at_least

        await eventually(enough_welcomed, timeout=240)
