"""`python -m bot` as a person runs it: a real process, signed HTTP, a restart in between."""

from __future__ import annotations

import asyncio
import json
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
        # Output goes to a file: a pipe nobody reads fills up and blocks a chatty process.
        self.log = self.cwd / f"bot-{self.port}.log"
        with self.log.open("a") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "bot"],
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def output(self) -> str:
        return self.log.read_text()

    async def start(self, http: aiohttp.ClientSession) -> None:
        self.process = self.spawn()
        for _ in range(200):
            if self.process.poll() is not None:
                raise AssertionError(f"bot exited: {self.output()}")
            try:
                async with http.get(f"{self.url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError("bot did not become healthy")

    def stop(self) -> str:
        """Stop it as a platform would (SIGTERM) and return everything it printed so far."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)
        return self.output()


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


def process_env(fake: FakeSlack, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    return env | {
        "PYTHONPATH": str(ROOT),
        "PORT": str(free_port()),
        "SLACK_BOT_TOKEN": "xoxb-process-secret-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        **extra,
    }


async def test_json_logs_carry_team_and_request_ids_and_never_a_token(
    tmp_path: Path, fake: FakeSlack, http: aiohttp.ClientSession
) -> None:
    bot = BotProcess(process_env(fake, LOG_LEVEL="DEBUG", LOG_FORMAT="json"), tmp_path)
    requests = SlackRequests(
        SIGNING_SECRET, workspace=fake.workspace, response_url_base=fake.response_url_base
    )
    await bot.start(http)
    try:
        body, headers = requests.slash_command(text="start", user_id=ASHA)
        async with http.post(f"{bot.url}/slack/events", data=body, headers=headers) as r:
            assert r.status == 200
        await fake.wait_for("views.open")
    finally:
        output = bot.stop()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert lines, "no log lines"
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert any(line.get("team_id") == "T0CULTIV8" and line.get("request_id") for line in lines)
    assert "process-secret-token" not in output


async def test_a_database_that_is_down_gets_a_clear_message_and_a_retry(tmp_path: Path) -> None:
    with FakeSlack() as fake:
        env = process_env(fake, DATABASE_URL="postgresql://nobody@127.0.0.1:9/none")
        bot = BotProcess(env, tmp_path)
        bot.process = bot.spawn()
        await asyncio.sleep(4)
        output = bot.stop()
    assert "cannot reach the database" in output
    assert output.count("retrying in") >= 2
    assert "Traceback" not in output
