"""The harness every test builds on: a fake Slack on a local port, the real app served over
HTTP, and requests signed the way Slack signs them.

Every app test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL too.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from sqlalchemy import text

from bot.app import Cultivate as App
from bot.app import create_app
from bot.clock import ManualClock
from bot.pacing import ChannelPacer
from bot.runtime import Runtime
from bot.server import BOLT_LISTENER_TASK, EVENTS_PATH, after_acks
from bot.settings import Settings, load_settings
from fakeslack import FakeSlack, SlackRequests
from storage.db import Database
from storage.migrate import upgrade

SIGNING_SECRET = "test-signing-secret"
POSTGRES_SKIP = "PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql://127.0.0.1:5432/test)"

# The seeded workspace of the fake Slack (fakeslack/workspace.py).
TEAM = "T0CULTIV8"
ASHA, BEN, CARMEN, NOOR = "U0ASHA", "U0BEN", "U0CARMEN", "U0NOOR"
HOUSING = "C0HOUSING"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """The fake Slack. Anything it refused that a test did not clear fails the test."""
    with FakeSlack() as fake:
        yield fake
        assert fake.problems == [], "Slack would have refused these calls"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cultivate.db'}"
        return
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip(POSTGRES_SKIP)
    yield url


async def reset_postgres(database: Database) -> None:
    """Each test starts from an empty schema, as a fresh install would."""
    async with database.engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    if not db.is_sqlite:
        await reset_postgres(db)
    await upgrade(db)
    yield db
    await db.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


def settings_for(slack: FakeSlack, database_url: str, **extra: str) -> Settings:
    return load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database_url,
            **({"SLACK_CA_FILE": slack.ca_file} if slack.ca_file else {}),  # an HTTPS fake's
            **extra,
        }
    )


async def eventually(condition: Callable[[], Awaitable[bool]], *, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Wait for work the app does after its ack (listeners keep running once Slack is answered)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{condition.__name__} did not become true within {timeout}s")
        await asyncio.sleep(0.01)


# Bolt acks a request, then runs its listener as a task of this name; `settled()` waits for
# those. Checked here so a Bolt that renames it fails loudly instead of settling too soon.
assert BOLT_LISTENER_TASK in inspect.getsource(AsyncioListenerRunner.run)


@dataclass
class Reply:
    """What the app answered over HTTP."""

    status: int
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Cultivate:
    """The running app, and a person clicking and typing in Slack."""

    def __init__(
        self, server: TestServer, http: aiohttp.ClientSession, slack: FakeSlack, app: App
    ) -> None:
        self.server = server
        self.http = http
        self.slack = slack
        self.app = app
        self.runtime = app.runtime
        # The scheduler's heartbeat, run by hand: tests move the clock, then call `tick()`.
        self.dispatcher = app.sender
        self.requests = SlackRequests(
            SIGNING_SECRET,
            workspace=slack.workspace,
            response_url_base=slack.response_url_base,
        )

    async def tick(self) -> int:
        """One heartbeat after another until nothing more is due at the clock's time."""
        return await self.dispatcher.run_until_idle()

    @property
    def database(self) -> Database:
        return self.runtime.database

    async def settled(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until every listener Bolt started after an ack has finished: after this, an
        event that should have done nothing has had its chance to do something."""
        async with asyncio.timeout(timeout):
            await after_acks()

    async def post(self, body: str, headers: Mapping[str, str]) -> Reply:
        async with self.http.post(
            self.server.make_url(EVENTS_PATH), data=body, headers=headers
        ) as r:
            return Reply(r.status, await r.text())

    async def command(self, text: str, *, user: str = ASHA, channel: str = HOUSING) -> Reply:
        return await self.post(
            *self.requests.slash_command(text=text, user_id=user, channel_id=channel)
        )

    async def submit(
        self, view: Mapping[str, Any], values: Mapping[str, Mapping[str, Any]], *, user: str = ASHA
    ) -> Reply:
        reply = await self.post(*self.requests.view_submission(view, user_id=user, values=values))
        if reply.status == 200 and view.get("id"):
            self.slack.answer_submission(str(view["id"]), reply.body)
        return reply

    async def click(
        self,
        action: Mapping[str, Any],
        *,
        user: str = ASHA,
        view: Mapping[str, Any] | None = None,
        channel: str | None = None,
        message: Mapping[str, Any] | None = None,
    ) -> Reply:
        return await self.post(
            *self.requests.block_actions(
                user, [action], channel_id=channel, message=message, view=view
            )
        )

    async def shortcut(
        self,
        message: Mapping[str, Any],
        callback_id: str,
        *,
        user: str = ASHA,
        channel: str = HOUSING,
    ) -> Reply:
        """A person chooses a message shortcut from ``message``'s menu in ``channel``."""
        return await self.post(*self.requests.message_action(user, channel, message, callback_id))

    async def suggest(
        self, view: Mapping[str, Any], block_id: str, typed: str, *, user: str = ASHA
    ) -> Reply:
        """A person types into an external select of ``view``: the options the app offers."""
        return await self.post(
            *self.requests.block_suggestion(
                view, user, block_id=block_id, action_id=block_id, value=typed
            )
        )

    async def event(self, event: Mapping[str, Any], **kwargs: Any) -> Reply:
        return await self.post(*self.requests.event_callback(event, **kwargs))

    async def opened_view(
        self, callback_id: str, *, count: int = 1, method: str = "views.open"
    ) -> dict[str, Any]:
        """The newest modal the app opened (or pushed) with this callback_id, as Slack holds it."""
        # Only calls Slack answered: a refused views.open (an expired trigger) opened nothing.
        calls = await self.slack.wait_for(
            method, lambda c: c.ok and c.args["view"].get("callback_id") == callback_id, count=count
        )
        return self.slack.views[calls[-1].response["view"]["id"]]

    async def ephemeral(self, *, count: int = 1) -> dict[str, Any]:
        """The newest answer sent to a command's response_url."""
        calls = await self.slack.wait_for("response_url", count=count)
        return calls[-1].args


@pytest.fixture
async def cultivate(
    slack: FakeSlack, database: Database, database_url: str, clock: ManualClock
) -> AsyncIterator[Cultivate]:
    async with serving_app(slack, database, database_url, clock) as app:
        yield app


@asynccontextmanager
async def serving_app(
    slack: FakeSlack, database: Database, database_url: str, clock: ManualClock, **settings: str
) -> AsyncIterator[Cultivate]:
    """The real app served over HTTP, with any settings given beside the test's own."""
    runtime = Runtime(database=database, clock=clock)
    # No pacing: tests post many messages to one channel; tests/test_pacing.py covers it. No
    # heartbeats: tests move the clock, then tick by hand.
    app = create_app(
        settings_for(slack, database_url, **settings),
        runtime,
        pacer=ChannelPacer(0),
        scheduler=False,
    )
    server = TestServer(app.web, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Cultivate(server, http, slack, app)
    await server.close()


@pytest.fixture
async def community(cultivate: Cultivate) -> Cultivate:
    """Asha's community in #housing, on London time, with what starting it sent cleared.

    A module whose tests need more (answers saved, people joined) keeps its own fixture of this
    name, named for what it adds."""
    # Imported here: the steps build on this module's harness, so it cannot import them first.
    from tests.steps import start_community

    await start_community(cultivate, timezone="Europe/London")
    cultivate.slack.clear()
    return cultivate
