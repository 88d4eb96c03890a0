"""`python -m bot` as a person runs it: a real process, signed HTTP, a restart in between."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.fakeslack import FakeSlack, SlackRequests
from tests.conftest import ASHA, SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.port = int(env["PORT"])
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    async def start(self, http: aiohttp.ClientSession) -> None:
        self.process = self.spawn()
        for _ in range(200):
            if self.process.poll() is not None:
                raise AssertionError(f"bot exited: {self.process.stdout.read()}")  # type: ignore[union-attr]
            try:
                async with http.get(f"{self.url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError("bot did not become healthy")

    def stop(self) -> str:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=20)
        return output


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack
        assert slack.problems == []


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_answers_survive_a_restart(
    tmp_path: Path, fake: FakeSlack, http: aiohttp.ClientSession
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env |= {
        "PYTHONPATH": str(ROOT),
        "PORT": str(free_port()),
        "SLACK_BOT_TOKEN": "xoxb-process",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "SCHEDULER_TICK_SECONDS": "1",
    }
    bot = BotProcess(env, tmp_path)
    requests = SlackRequests(
        SIGNING_SECRET, workspace=fake.workspace, response_url_base=fake.response_url_base
    )

    async def send(body: str, headers: dict[str, str]) -> str:
        async with http.post(f"{bot.url}/slack/events", data=body, headers=headers) as r:
            assert r.status == 200
            return await r.text()

    await bot.start(http)
    await send(*requests.slash_command(text="start", user_id=ASHA))
    [opened] = await fake.wait_for("views.open")
    start_view = fake.views[opened.response["view"]["id"]]
    await send(*requests.view_submission(start_view, ASHA, {"name": {"name": "Housing"}}))
    await send(*requests.slash_command(text="scope", user_id=ASHA))
    scope_call = (await fake.wait_for("views.open", count=2))[-1]
    scope_view = fake.views[scope_call.response["view"]["id"]]
    reply = await send(
        *requests.view_submission(scope_view, ASHA, {"need": {"need": "Yes, badly"}})
    )
    assert reply == ""
    bot.stop()

    assert (tmp_path / "cultivate.db").exists()  # the default database, in the working directory
    await bot.start(http)
    try:
        await send(*requests.slash_command(text="scope", user_id=ASHA))
        reopened = (await fake.wait_for("views.open", count=3))[-1].args["view"]
        need = next(b for b in reopened["blocks"] if b.get("block_id") == "need")
        assert need["element"]["initial_value"] == "Yes, badly"
    finally:
        output = bot.stop()
    assert "Traceback" not in output
    assert "xoxb-process" not in output


@pytest.mark.parametrize(
    ("argv", "credentials"),
    [
        ([], {}),  # nothing set: someone trying Cultivate out
        (["sandbox"], {"SLACK_BOT_TOKEN": "xoxb-real", "SLACK_SIGNING_SECRET": "s"}),
    ],
    ids=["no-credentials", "explicit"],
)
async def test_python_m_bot_opens_the_sandbox(
    tmp_path: Path, http: aiohttp.ClientSession, argv: list[str], credentials: dict[str, str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    port = free_port()
    env |= {"PYTHONPATH": str(ROOT), "PORT": str(port), **credentials}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *argv,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
        url = f"http://127.0.0.1:{port}/sandbox"
        assert line.startswith(f"Cultivate sandbox: open {url} ")
        assert "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in line
        async with http.get(url) as response:
            assert response.status == 200
            assert "sandbox.js" in await response.text()
        command = {"as": ASHA, "channel": "C0HOUSING", "text": "/cop help"}
        async with http.post(f"{url}/api/command", json=command) as response:
            assert await response.json() == {"status": 200}
        async with http.get(f"{url}/api/state", params={"as": ASHA}) as response:
            [answer] = (await response.json())["ephemerals"]
        assert "/cop start" in answer["text"]
    finally:
        process.send_signal(signal.SIGTERM)
        rest, errors = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0
    assert rest == b""  # the one line, nothing more
    assert b"Traceback" not in errors
    assert (tmp_path / "sandbox.db").exists()  # its own database, not cultivate.db
    assert not (tmp_path / "cultivate.db").exists()
