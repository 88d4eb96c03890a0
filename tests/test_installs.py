"""Installing in many workspaces through OAuth: each team's token stored, used for that team's
requests and scheduled work, and forgotten (with its work stopped) when it uninstalls."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.app import create_app
from bot.clock import ManualClock
from bot.dispatch import Dispatcher
from bot.pacing import ChannelPacer
from bot.runtime import Runtime
from bot.server import EVENTS_PATH
from bot.settings import load_settings
from fakeslack import FakeSlack, SlackRequests
from storage.db import Database
from storage.models import Installation, ScheduledSend
from storage.repositories import scheduled
from tests.conftest import SIGNING_SECRET, eventually

SECOND = "T0SECOND"
TOKEN = "xoxb-t0second-fake-token"
KEY = "0Hk0VJAR7G8KmDzVXBvdmvxQhbFMbl3AwHuK-WkzyQA="  # a Fernet key, for tests only


class Installable:
    def __init__(
        self,
        server: TestServer,
        http: aiohttp.ClientSession,
        slack: FakeSlack,
        dispatcher: Dispatcher,
    ) -> None:
        self.server, self.http, self.slack, self.dispatcher = server, http, slack, dispatcher

    def requests(self, team_id: str) -> SlackRequests:
        return SlackRequests(
            SIGNING_SECRET,
            team_id=team_id,
            workspace=self.slack.workspace,
            response_url_base=self.slack.response_url_base,
        )

    async def post(self, body: str, headers: dict[str, str]) -> int:
        async with self.http.post(
            self.server.make_url(EVENTS_PATH), data=body, headers=headers
        ) as r:
            return r.status

    async def install(self, team_id: str, code: str) -> int:
        async with self.http.get(self.server.make_url("/slack/install")) as page:
            assert page.status == 200
            html = await page.text()
            cookie = page.headers["Set-Cookie"].split(";")[0]
        link = re.search(r'href="([^"]+oauth/v2/authorize[^"]+)"', html)
        assert link is not None
        query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
        assert query["client_id"] == ["fake-client-id"]
        assert "commands" in query["scope"][0].split(",")
        self.slack.grant_install(code, team_id=team_id, team_name="Second workspace")
        async with self.http.get(
            self.server.make_url(f"/slack/oauth_redirect?code={code}&state={query['state'][0]}"),
            headers={"Cookie": cookie},
        ) as redirect:
            return redirect.status


@pytest.fixture
async def installable(
    slack: FakeSlack, database: Database, database_url: str, clock: ManualClock
) -> AsyncIterator[tuple[Installable, Runtime]]:
    settings = load_settings(
        {
            "SLACK_CLIENT_ID": "fake-client-id",
            "SLACK_CLIENT_SECRET": "fake-client-secret",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database_url,
            "TOKEN_ENCRYPTION_KEYS": KEY,
        }
    )
    runtime = Runtime(database=database, clock=clock)
    app = create_app(settings, runtime, pacer=ChannelPacer(0), scheduler=False)
    app.senders.register("note", _post_note, description="a note")
    server = TestServer(app.web, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Installable(server, http, slack, app.dispatcher(worker="test")), runtime
    await server.close()


async def _post_note(due, client) -> None:
    await client.chat_postMessage(channel="C0HOUSING", text=due.payload["text"])


async def test_a_second_workspace_installs_and_is_served_with_its_own_token(
    installable: tuple[Installable, Runtime], slack: FakeSlack
) -> None:
    app, runtime = installable
    assert await app.install(SECOND, "code-1") == 200
    async with runtime.database.session() as session:
        [row] = (await session.exec(select(Installation))).all()
    assert row.team_id == SECOND

    assert await app.post(*app.requests(SECOND).slash_command(text="start")) == 200
    [opened] = await slack.wait_for("views.open")
    assert opened.token == TOKEN

    # A team that never installed is not served.
    assert await app.post(*app.requests("T0NEVER").slash_command(text="start")) == 200
    assert len(slack.calls_to("views.open")) == 1


async def test_an_install_redirect_cannot_be_replayed(
    installable: tuple[Installable, Runtime], slack: FakeSlack
) -> None:
    app, _ = installable
    async with app.http.get(app.server.make_url("/slack/install")) as page:
        html = await page.text()
        cookie = page.headers["Set-Cookie"].split(";")[0]
    state = re.search(r"state=([\w-]+)", html).group(1)  # type: ignore[union-attr]
    slack.grant_install("code-a", team_id=SECOND)
    slack.grant_install("code-b", team_id=SECOND)
    url = "/slack/oauth_redirect?code={}&state=" + state
    async with app.http.get(
        app.server.make_url(url.format("code-a")), headers={"Cookie": cookie}
    ) as r:
        assert r.status == 200
    async with app.http.get(
        app.server.make_url(url.format("code-b")), headers={"Cookie": cookie}
    ) as r:
        assert r.status >= 400
    async with app.http.get(app.server.make_url(url.format("code-b"))) as r:  # no cookie
        assert r.status >= 400


async def test_scheduled_work_uses_the_teams_token_and_stops_at_uninstall(
    installable: tuple[Installable, Runtime], slack: FakeSlack, clock: ManualClock
) -> None:
    app, runtime = installable
    await app.install(SECOND, "code-1")
    async with runtime.database.session() as session:
        for text in ("before", "after"):
            await scheduled.schedule(
                session, team_id=SECOND, kind="note", due_at=clock.now(), payload={"text": text}
            )
    dispatcher = app.dispatcher
    dispatcher.batch = 1
    await dispatcher.run_once()
    [sent] = slack.calls_to("chat.postMessage")
    assert (sent.args["text"], sent.token) == ("before", TOKEN)

    event = {"type": "app_uninstalled"}
    assert await app.post(*app.requests(SECOND).event_callback(event)) == 200

    async def uninstalled() -> bool:
        async with runtime.database.session() as session:
            return not (await session.exec(select(Installation))).all()

    await eventually(uninstalled)
    async with runtime.database.session() as session:
        states = sorted(r.state for r in (await session.exec(select(ScheduledSend))).all())
    assert states == ["cancelled", "sent"]
    assert await dispatcher.run_until_idle() == 0
    assert len(slack.calls_to("chat.postMessage")) == 1
