"""The sandbox's page, driven as a person in a browser drives it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import pytest

from bot.settings import load_sandbox_settings
from sandbox import Sandbox, running_sandbox
from storage.db import Database
from tests.conftest import ASHA, HOUSING

State = dict[str, Any]


@dataclass
class Answer:
    status: int
    json: Any


class Page:
    """What the sandbox page does, as HTTP calls to the sandbox's API."""

    def __init__(self, sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
        self.sandbox = sandbox
        self.http = http
        self.api = f"{sandbox.url}/api"

    async def state(self, viewer: str = ASHA) -> State:
        async with self.http.get(f"{self.api}/state", params={"as": viewer}) as response:
            assert response.status == 200
            return dict(await response.json())

    async def post(self, path: str, body: dict[str, Any]) -> Answer:
        async with self.http.post(f"{self.api}/{path}", json=body) as response:
            return Answer(response.status, await response.json())

    async def type(self, text: str, *, viewer: str = ASHA, channel: str = HOUSING) -> Answer:
        return await self.post("command", {"as": viewer, "channel": channel, "text": text})

    async def until(
        self,
        check: Callable[[State], Any],
        *,
        viewer: str = ASHA,
        timeout: float = 30.0,  # noqa: ASYNC109
    ) -> Any:
        """The first truthy `check(state)`: the app works after its ack, as with Slack."""
        deadline = time.monotonic() + timeout
        while True:
            state = await self.state(viewer)
            found = check(state)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"the page never showed it; last state: {state}")
            await asyncio.sleep(0.02)

    async def modal(self, callback_id: str, *, viewer: str = ASHA, depth: int = 1) -> State:
        def top(state: State) -> State | None:
            stack = state["modal"]
            if len(stack) == depth and stack[-1]["callback_id"] == callback_id:
                return dict(stack[-1])
            return None

        return dict(await self.until(top, viewer=viewer))

    async def start_community(self) -> None:
        assert (await self.type("/cop start")).json == {"status": 200}
        view = await self.modal("community_start")
        values = {"domain": {"domain": "Housing policy and practice"}}
        answer = await self.post("submit", {"as": ASHA, "view_id": view["id"], "values": values})
        assert answer.json == {"status": 200, "errors": {}}
        await self.until(lambda s: "community of practice" in texts(s["messages"][HOUSING]))


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text")) for m in messages)


@pytest.fixture(name="sandbox")
async def sandbox_on_the_test_database(
    database: Database, database_url: str
) -> AsyncIterator[Sandbox]:
    settings = replace(load_sandbox_settings({"DATABASE_URL": database_url}), port=0)
    async with running_sandbox(settings, database) as running:
        yield running
        assert running.slack.problems == [], "Slack would have refused these calls"
