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

from bot.__main__ import _drain
from bot.fakeslack import FakeSlack, SlackRequests
from tests.conftest import ASHA, SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    def __init__(self, env: dict[str, str], cwd: Path, mode: str = "run") -> None:
        self.env, self.cwd, self.mode = env, cwd, mode
        self.port = int(env["PORT"])
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", self.mode],
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
        try:
            output, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate(timeout=20)
            raise AssertionError(f"bot did not stop within 20s of SIGTERM:\n{output}") from None
        return output

    def kill(self) -> str:
        """SIGKILL: no shutdown, no cleanup, as when a machine dies."""
        assert self.process is not None
        self.process.kill()
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


async def test_a_stopping_process_lets_work_in_flight_finish_and_cancels_what_hangs() -> None:
    finished: list[str] = []

    async def work() -> None:
        await asyncio.sleep(0.05)
        finished.append("heartbeat")

    async def hung() -> None:
        await asyncio.Event().wait()

    in_flight, stuck = asyncio.create_task(work()), asyncio.create_task(hung())
    await _drain(0.3)
    assert finished == ["heartbeat"] and in_flight.done()
    assert stuck.cancelled()
