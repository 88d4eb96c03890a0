"""Reminders from real `python -m bot` processes: killed with SIGKILL and restarted, and two
scheduler processes on one database. Real processes run on the real clock, so these tests make
the reminder due a few seconds from now: the meeting starts 15 minutes and a few seconds
ahead, with a 15-minute reminder. Slack's timepicker sends "HH:MM"; the signed submission here
sends "HH:MM:SS", which the app reads the same way (`time.fromisoformat`), so the due time is
exact to the second without waiting for a whole minute."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlmodel import select

from fakeslack import FakeSlack, SlackRequests
from sandbox.processes import ROOT, Process, free_port
from storage.db import Database
from storage.models import ScheduledSend
from tests.conftest import ASHA, HOUSING, SIGNING_SECRET

LONDON = ZoneInfo("Europe/London")
LEAD = timedelta(minutes=15)
DEADLINE = timedelta(seconds=30)  # how late a reminder may be, from the issue


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class BotProcess:
    """`python -m bot <mode>` that can be started, killed with SIGKILL and started again."""

    def __init__(self, env: dict[str, str], cwd: Path, mode: str) -> None:
        self.env, self.cwd, self.mode = env, cwd, mode
        self.running: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['PORT']}"

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.running.popen if self.running else None

    async def start(self, http: aiohttp.ClientSession) -> None:
        if self.running is None:
            self.running = Process(["bot", self.mode], self.env, self.cwd)
        else:
            self.running.restart()
        await self.running.healthy()

    def kill(self) -> None:
        assert self.running is not None
        self.running.kill()

    def stop(self) -> str:
        assert self.running is not None
        return self.running.stop()


class Deployment:
    """Bot processes sharing one database and one fake Slack, and a person using Slack."""

    def __init__(
        self, fake: FakeSlack, database: Database, http: aiohttp.ClientSession, cwd: Path
    ) -> None:
        self.fake, self.database, self.http, self.cwd = fake, database, http, cwd
        self.requests = SlackRequests(
            SIGNING_SECRET, workspace=fake.workspace, response_url_base=fake.response_url_base
        )
        self.processes: list[BotProcess] = []

    def process(self, mode: str = "run") -> BotProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
        env |= {
            "PYTHONPATH": str(ROOT),
            "PORT": str(free_port()),
            "SLACK_BOT_TOKEN": "xoxb-process",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.fake.api_url,
            "DATABASE_URL": self.database.url,
            "SCHEDULER_TICK_SECONDS": "1",
            "SCHEDULER_LEASE_SECONDS": "4",
        }
        bot = BotProcess(env, self.cwd, mode)
        self.processes.append(bot)
        return bot

    async def send(self, bot: BotProcess, body: str, headers: dict[str, str]) -> str:
        async with self.http.post(f"{bot.url}/slack/events", data=body, headers=headers) as r:
            assert r.status == 200
            return await r.text()

    async def opened(self, callback_id: str) -> dict:
        calls = [
            c
            for c in self.fake.calls_to("views.open")
            if c.args["view"].get("callback_id") == callback_id
        ]
        return self.fake.views[calls[-1].response["view"]["id"]]

    async def start_community(self, bot: BotProcess) -> None:
        await self.send(bot, *self.requests.slash_command(text="start", user_id=ASHA))
        await self.fake.wait_for("views.open")
        view = await self.opened("community_start")
        values = {"name": {"name": "Housing"}, "timezone": {"timezone": "Europe/London"}}
        assert await self.send(bot, *self.requests.view_submission(view, ASHA, values)) == ""
        await self.fake.wait_for(
            "chat.postMessage", lambda c: "made this channel" in c.args["text"]
        )

    async def plan_meeting(self, bot: BotProcess, title: str, starts: datetime) -> None:
        """Plan a meeting through `/cop meeting` with a 15-minute reminder."""
        count = len(self.fake.calls_to("views.open"))
        await self.send(bot, *self.requests.slash_command(text="meeting", user_id=ASHA))
        await self.fake.wait_for("views.open", count=count + 1)
        view = await self.opened("meeting_form")
        local = starts.astimezone(LONDON)
        values = {
            "title": {"title": title},
            "date": {"date": local.date().isoformat()},
            "time": {"time": local.strftime("%H:%M:%S")},
            "duration": {"duration": "60"},
            "format": {"format": "online"},
            "recurrence": {"recurrence": "none"},
            "reminders": {"reminders": ["15m"]},
        }
        reply = await self.send(bot, *self.requests.view_submission(view, ASHA, values))
        assert reply == "", reply
        await self.fake.wait_for("chat.postMessage", lambda c: title in c.args["text"])

    async def reminder_rows(self) -> list[ScheduledSend]:
        async with self.database.session() as session:
            rows = await session.exec(
                select(ScheduledSend).where(ScheduledSend.kind == "meeting_reminder")
            )
            return list(rows.all())

    async def wait_for_rows(self, state: str, count: int = 1, within: float = 40) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            if len([r for r in await self.reminder_rows() if r.state == state]) >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(
            f"no {count} reminder rows became {state}: {await self.reminder_rows()}"
        )

    def reminders(self) -> list[dict]:
        return [m for m in self.fake.messages(HOUSING) if m.get("text", "").startswith("⏰")]

    def stop_all(self) -> list[str]:
        outputs = []
        for bot in self.processes:
            if bot.process is not None and bot.process.poll() is None:
                outputs.append(bot.stop())
        return outputs


@pytest.fixture
async def deployment(
    database: Database, http: aiohttp.ClientSession, tmp_path: Path
) -> AsyncIterator[Deployment]:
    with FakeSlack() as fake:
        running = Deployment(fake, database, http, tmp_path)
        try:
            yield running
        finally:
            outputs = running.stop_all()
        assert fake.problems == []
    assert all("Traceback" not in output for output in outputs), outputs


@pytest.mark.parametrize("killed", ["before the reminder is due", "after the claim, mid-send"])
async def test_one_reminder_on_time_even_when_the_bot_is_killed_and_restarted(
    deployment: Deployment, killed: str
) -> None:
    bot = deployment.process()
    await bot.start(deployment.http)
    await deployment.start_community(bot)
    starts = datetime.now(UTC).replace(microsecond=0) + LEAD + timedelta(seconds=4)
    await deployment.plan_meeting(bot, "Housing catch-up", starts)
    due = starts - LEAD

    if killed == "before the reminder is due":
        bot.kill()
    else:
        # Slack takes 1.5s to answer: the process is killed while its post is in flight.
        # Slack still posts it; the restarted process must notice and not post again.
        deployment.fake.latency = 1.5
        await deployment.wait_for_rows("claimed")
        await asyncio.sleep(0.5)  # the post has left the process; Slack has not answered
        bot.kill()
        deployment.fake.latency = 0
    await bot.start(deployment.http)

    await deployment.wait_for_rows("sent")
    [reminder] = deployment.reminders()
    assert "Housing catch-up" in reminder["text"]
    posted = datetime.fromtimestamp(float(reminder["ts"]), UTC)
    assert due <= posted <= due + DEADLINE, (due, posted)
    [row] = await deployment.reminder_rows()
    if killed == "after the claim, mid-send":
        assert row.attempts == 2  # taken again after the dead process's lease ran out
        # ...and found the first post in the channel's history rather than posting again.
        assert deployment.fake.calls_to("conversations.history")
        assert posted < datetime.fromtimestamp(
            deployment.fake.calls_to("conversations.history")[-1].time, UTC
        )
    await asyncio.sleep(1.5)  # a heartbeat or more later, still one
    assert len(deployment.reminders()) == 1


async def test_two_scheduler_processes_send_every_reminder_once(deployment: Deployment) -> None:
    web = deployment.process("web")
    await web.start(deployment.http)
    await deployment.start_community(web)
    # Far enough ahead that planning eight meetings on a busy machine ends before the first
    # reminder falls due (one already late when planned would be skipped, by design).
    starts = datetime.now(UTC).replace(microsecond=0) + LEAD + timedelta(seconds=30)
    titles = [f"Session {n}" for n in range(8)]
    for n, title in enumerate(titles):
        await deployment.plan_meeting(web, title, starts + timedelta(seconds=n % 3))
    clocks = [deployment.process("clock"), deployment.process("clock")]
    for clock in clocks:
        await clock.start(deployment.http)

    await deployment.wait_for_rows("sent", count=len(titles), within=90)
    await asyncio.sleep(1.5)
    sent = [m["text"] for m in deployment.reminders()]
    assert sorted(t for t in titles for m in sent if f"*{t}*" in m) == sorted(titles)
    assert len(sent) == len(titles)
    workers = {r.claimed_by for r in await deployment.reminder_rows()}
    pids = {str(c.process.pid) for c in clocks if c.process is not None}
    assert {w.rpartition(":")[2] for w in workers if w} <= pids  # sent by the clocks
