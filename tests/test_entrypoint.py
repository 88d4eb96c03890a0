"""`python -m bot` as a person runs it: a real process, signed HTTP, a restart in between."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.__main__ import _drain
from fakeslack import FakeSlack, SlackRequests
from sandbox.processes import ROOT, Process, environment, free_port
from tests.conftest import ASHA, SIGNING_SECRET

TOKEN = "xoxb-process-secret-token"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack
        assert slack.problems == []


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def bot_process(fake: FakeSlack, workdir: Path, **extra: str) -> Process:
    env = environment(
        api_url=fake.api_url,
        database_url=None,  # the default: cultivate.db in the working directory
        **{
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "LOG_LEVEL": "INFO",
            **extra,
        },
    )
    return Process(["bot"], env, workdir)


def signed(fake: FakeSlack) -> SlackRequests:
    return SlackRequests(
        SIGNING_SECRET, workspace=fake.workspace, response_url_base=fake.response_url_base
    )


async def test_answers_survive_a_restart(
    tmp_path: Path, fake: FakeSlack, http: aiohttp.ClientSession
) -> None:
    bot = bot_process(fake, tmp_path, SCHEDULER_TICK_SECONDS="1")
    requests = signed(fake)

    async def send(body: str, headers: dict[str, str]) -> str:
        async with http.post(f"{bot.url}/slack/events", data=body, headers=headers) as r:
            assert r.status == 200
            return await r.text()

    await bot.healthy()
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
    bot.restart()
    await bot.healthy()
    try:
        await send(*requests.slash_command(text="scope", user_id=ASHA))
        reopened = (await fake.wait_for("views.open", count=3))[-1].args["view"]
        need = next(b for b in reopened["blocks"] if b.get("block_id") == "need")
        assert need["element"]["initial_value"] == "Yes, badly"
    finally:
        output = bot.stop()
    assert "Traceback" not in output
    assert TOKEN not in output


async def test_json_logs_carry_team_and_request_ids_and_never_a_token(
    tmp_path: Path, fake: FakeSlack, http: aiohttp.ClientSession
) -> None:
    bot = bot_process(fake, tmp_path, LOG_LEVEL="DEBUG", LOG_FORMAT="json")
    await bot.healthy()
    try:
        body, headers = signed(fake).slash_command(text="start", user_id=ASHA)
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


async def test_a_database_that_is_down_gets_a_clear_message_and_a_retry(
    tmp_path: Path, fake: FakeSlack
) -> None:
    bot = bot_process(fake, tmp_path, DATABASE_URL="postgresql://nobody@127.0.0.1:9/none")
    # Wait for the second retry rather than a fixed time: on a loaded machine the imports alone
    # can take seconds, and a fixed sleep then saw only one retry.
    for _ in range(600):
        if bot.output().count("retrying in") >= 2 or bot.popen.poll() is not None:
            break
        await asyncio.sleep(0.1)
    output = bot.stop()
    assert "cannot reach the database" in output
    assert output.count("retrying in") >= 2
    assert "Traceback" not in output


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


# Libraries a process uses only when it makes a picture, a document, a calendar file, a
# migration or an encrypted token: each costs every process resident memory if loaded at start.
USED_LATER = ("matplotlib", "docx", "icalendar", "alembic", "cryptography")

IDLE_APP = f"""
import sys
from bot.app import create_app
from bot.runtime import Runtime
from bot.settings import load_settings
from storage.db import Database
from storage.models import Table

environ = {{"SLACK_BOT_TOKEN": "xoxb-idle", "SLACK_SIGNING_SECRET": "idle"}}
settings = load_settings(environ | {{"DATABASE_URL": "sqlite:///idle.db"}})
create_app(settings, Runtime(database=Database(settings.database_url)))
loaded = [name for name in {USED_LATER!r} if name in sys.modules]
built = [table.__name__ for table in Table.__subclasses__() if table.__pydantic_complete__]
assert not loaded and not built, (loaded, built)
"""


def test_an_idle_app_loads_nothing_it_uses_only_later(tmp_path: Path) -> None:
    """The app as a process builds it holds no library and no tables' pydantic validators
    (built on first use) that it needs only for work it has not been asked to do."""
    subprocess.run(
        [sys.executable, "-c", IDLE_APP], cwd=tmp_path, check=True, env={"PYTHONPATH": str(ROOT)}
    )


STARTED_APP = """
import gc
import sys

import bot.__main__ as entry


async def report_and_stop(cultivate, stopping, *, web_server):
    print(gc.get_freeze_count(), len(gc.get_objects()))


entry._until_stopped = report_and_stop
sys.exit(entry.main(["web"]))
"""


def test_what_start_up_built_is_left_out_of_garbage_collections(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """A full garbage collection pauses every request; once the process has started, it scans
    only what came after, not the modules and the app built at start."""
    env = environment(
        api_url=fake.api_url,
        database_url=None,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        PORT=str(free_port()),
    )
    finished = subprocess.run(
        [sys.executable, "-c", STARTED_APP],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    frozen, scanned = map(int, finished.stdout.split())
    assert frozen > 50_000
    assert scanned < frozen / 10, (frozen, scanned)
