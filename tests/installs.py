"""An app that installs into more than one workspace, and the installs it serves."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.clock import ManualClock
from bot.dispatch import Dispatcher
from bot.pacing import ChannelPacer
from bot.runtime import Runtime
from bot.server import EVENTS_PATH
from bot.settings import load_settings
from fakeslack import FakeSlack, SlackRequests
from storage.db import Database
from tests.conftest import SIGNING_SECRET

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


@pytest.fixture(name="installable")
async def installable_app(
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
        yield Installable(server, http, slack, app.sender), runtime  # its heartbeat, by hand
    await server.close()


async def _post_note(due, client) -> None:
    await client.chat_postMessage(channel="C0HOUSING", text=due.payload["text"])
