"""Delivery you can promise: an acked event is handled even if its process dies, a scheduled
message goes out once even when its row is tried again, a request with broken signature
headers is refused without a trace of its body, and the sandbox keeps to its own data."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from bot.clock import ManualClock
from bot.dispatch import Due
from bot.inbox import Inbox
from bot.pacing import ChannelPacer
from bot.slack_client import SlackSession, is_repeatable, make_client
from fakeslack import FakeSlack
from sandbox.processes import ROOT, environment, free_port
from sandbox.sandbox import NotASandboxDatabase, refuse_other_teams
from storage.db import Database
from storage.models import ActivityDay, ProcessedEvent, ScheduledSend
from storage.repositories import scheduled
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, TEAM, Cultivate
from tests.steps import joined, said, start_community, welcome_dms

SECRET_WORDS = "do-not-log-me-7f3a"


# -- refusals, not errors -------------------------------------------------------------------

BROKEN_HEADERS = {
    "no timestamp": ("X-Slack-Request-Timestamp", None, 400),
    "an empty timestamp": ("X-Slack-Request-Timestamp", "", 400),
    "a garbled timestamp": ("X-Slack-Request-Timestamp", "yesterday", 400),
    "a timestamp in other digits": ("X-Slack-Request-Timestamp", "١٧٦٤٦٠٠٠٠٠", 400),
    "no signature": ("X-Slack-Signature", None, 401),
    "an empty signature": ("X-Slack-Signature", "", 401),
    "a garbled signature": ("X-Slack-Signature", "v0=zz-not-hex", 401),
}


@pytest.mark.parametrize("kind", ["event", "command"])
@pytest.mark.parametrize("broken", list(BROKEN_HEADERS))
async def test_broken_signature_headers_are_refused_and_nothing_of_the_body_is_logged(
    cultivate: Cultivate, slack: FakeSlack, caplog: pytest.LogCaptureFixture, kind: str, broken: str
) -> None:
    caplog.set_level(logging.DEBUG)
    if kind == "event":
        body, headers = cultivate.requests.event_callback(
            {"type": "member_joined_channel", "user": BEN, "channel": HOUSING, "x": SECRET_WORDS}
        )
    else:
        body, headers = cultivate.requests.slash_command(text=f"start {SECRET_WORDS}", user_id=ASHA)
    header, value, status = BROKEN_HEADERS[broken]
    if value is None:
        del headers[header]
    else:
        headers[header] = value

    reply = await cultivate.post(body, headers)
    await cultivate.settled()

    assert reply.status == status
    assert SECRET_WORDS not in caplog.text
    assert "Traceback" not in caplog.text
    assert slack.calls == []  # refused: nothing reached Slack
    async with cultivate.database.session() as session:
        assert (await session.exec(select(ProcessedEvent))).all() == []


# -- the inbox ------------------------------------------------------------------------------


async def test_an_event_acked_by_a_process_that_died_is_handled_by_another(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    slack.workspace.join(HOUSING, BEN)
    body, _ = cultivate.requests.event_callback(
        {"type": "member_joined_channel", "user": BEN, "channel": HOUSING, "team": TEAM},
        event_id="Ev0DIED",
    )
    # A process wrote the event and acked it, then died before its listeners ran. The body's
    # signature would by now be too old for Bolt: the inbox does not check it again.
    died = Inbox(cultivate.runtime, cultivate.app.bolt, worker="died", lease=cultivate.app.lease)
    assert await died.receive(team_id=TEAM, event_id="Ev0DIED", body=body) is not None
    await died.close()
    survivor = cultivate.app.inbox

    assert await survivor.sweep() == 0  # its claim holds until its lease runs out
    clock.advance(cultivate.app.lease + timedelta(seconds=1))
    assert await survivor.sweep() == 1
    clock.advance(timedelta(minutes=5))
    await cultivate.tick()
    assert len(welcome_dms(slack, BEN)) == 1

    # Handled: marked done, Slack's body not kept; Slack's redelivery is acked and dropped.
    async with cultivate.database.session() as session:
        [row] = (await session.exec(select(ProcessedEvent))).all()
    assert (row.state, row.body, row.attempts) == ("done", None, 2)
    assert (await joined(cultivate, BEN, event_id="Ev0DIED", retry_num=1)).status == 200
    await cultivate.settled()
    clock.advance(cultivate.app.lease * 2)
    assert await survivor.sweep() == 0
    await cultivate.tick()
    assert len(welcome_dms(slack, BEN)) == 1


async def test_an_event_is_done_once_its_listeners_have_run(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await start_community(cultivate, timezone="UTC")
    assert (await joined(cultivate, BEN, event_id="Ev0LIVE")).status == 200
    await cultivate.settled()
    async with cultivate.database.session() as session:
        [row] = (await session.exec(select(ProcessedEvent))).all()
    assert (row.state, row.body, row.attempts) == ("done", None, 1)


async def test_a_message_waiting_in_the_inbox_is_kept_without_its_words(
    cultivate: Cultivate, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    inbox = cultivate.app.inbox

    async def died_before_handling(row: int, body: str, attempts: int = 1) -> None:
        """The process acked the event and was killed before its listeners ran."""

    monkeypatch.setattr(inbox, "handle", died_before_handling)
    assert (await said(cultivate, BEN, f"my password is {SECRET_WORDS}")).status == 200
    async with cultivate.database.session() as session:
        [row] = (await session.exec(select(ProcessedEvent))).all()
    assert row.body is not None and BEN in row.body and HOUSING in row.body
    assert SECRET_WORDS not in row.body and "password" not in row.body

    # Another process handles it from what was kept: the message is counted all the same.
    monkeypatch.undo()
    clock.advance(cultivate.app.lease + timedelta(seconds=1))
    assert await inbox.sweep() == 1
    async with cultivate.database.session() as session:
        days = (await session.exec(select(ActivityDay))).all()
    assert [(d.user_id, d.messages) for d in days] == [(BEN, 1)]


# -- once, everywhere it can be checked ------------------------------------------------------

NOTE = "test_note"


@pytest.fixture
def lossy_sender(cultivate: Cultivate) -> list[int]:
    """A sender posting to a person, a channel and two coordinators whose first attempt
    loses Slack's answers: Slack took every post, the dispatcher does not know it."""
    attempts: list[int] = []

    async def send(due: Due, client: object) -> None:
        attempts.append(due.attempts)
        for channel in (BEN, HOUSING, ASHA, CARMEN):
            await client.chat_postMessage(channel=channel, text=f"note {due.id}")  # type: ignore[attr-defined]
        if due.attempts == 1:
            raise aiohttp.ServerDisconnectedError()

    cultivate.app.senders.register(NOTE, send, description="a test note")
    return attempts


async def test_a_row_tried_again_after_slack_took_its_posts_sends_none_again(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock, lossy_sender: list[int]
) -> None:
    await start_community(cultivate, timezone="UTC")
    slack.clear()
    async with cultivate.database.session() as session:
        row = await scheduled.schedule(session, team_id=TEAM, kind=NOTE, due_at=clock.now())
    assert row is not None

    await cultivate.tick()
    clock.advance(timedelta(minutes=1))
    await cultivate.tick()

    assert lossy_sender == [1, 2]
    for person in (BEN, ASHA, CARMEN):
        dm = slack.workspace.open_dm([person])[0]
        assert [m["text"] for m in slack.messages(dm.id)] == [f"note {row.id}"]
    assert [m["text"] for m in slack.messages(HOUSING)].count(f"note {row.id}") == 1
    assert slack.calls_to("conversations.history")  # it looked before posting again
    async with cultivate.database.session() as session:
        assert (await session.get(ScheduledSend, row.id)).state == "sent"  # type: ignore[union-attr]


async def test_a_dropped_connection_is_retried_by_the_client_only_for_reads(
    slack: FakeSlack,
) -> None:
    session = SlackSession(connections=4)
    client = make_client(
        token="xoxb-test", base_url=slack.api_url, pacer=ChannelPacer(0), session=session
    )
    slack.drop_answers("chat.postMessage")
    with pytest.raises(aiohttp.ClientError):
        await client.chat_postMessage(channel=BEN, text="once only")
    dm = slack.workspace.open_dm([BEN])[0]
    assert [m["text"] for m in slack.messages(dm.id)] == ["once only"]  # taken, not repeated

    slack.drop_answers("users.info")
    person = await client.users_info(user=BEN)  # a read: tried again, and answered
    assert person["user"]["id"] == BEN
    assert len(slack.calls_to("users.info")) == 2
    await session.close()
    for method in ("chat.update", "files.completeUploadExternal", "views.publish"):
        assert not is_repeatable(f"https://slack.com/api/{method}")


async def test_a_stopping_process_lets_calls_in_flight_finish_before_closing_its_session(
    slack: FakeSlack,
) -> None:
    """A listener's work after its ack may be mid-call to Slack when the process is told to
    stop: the call gets its answer, and a call made after the close still goes out."""
    session = SlackSession(connections=4)
    client = make_client(
        token="xoxb-test", base_url=slack.api_url, pacer=ChannelPacer(0), session=session
    )
    slack.hold_answers("chat.postMessage", 0.5)
    in_flight = asyncio.create_task(client.chat_postMessage(channel=BEN, text="mid-call"))
    await slack.wait_for("chat.postMessage")
    await session.close()
    assert (await in_flight)["ok"]
    slack.hold_answers("chat.postMessage", None)
    assert (await client.chat_postMessage(channel=BEN, text="after the close"))["ok"]
    dm = slack.workspace.open_dm([BEN])[0]
    assert [m["text"] for m in slack.messages(dm.id)] == ["mid-call", "after the close"]


# -- the sandbox keeps to its own data ------------------------------------------------------

OTHER_TEAM = "T0PRODUCTN"


async def another_teams_row(database: Database, now: object) -> int:
    async with database.session() as session:
        row = await scheduled.schedule(session, team_id=OTHER_TEAM, kind=NOTE, due_at=now)  # type: ignore[arg-type]
        assert row is not None and row.id is not None
        return row.id


async def test_the_sandbox_refuses_a_database_holding_another_workspace(
    database: Database, database_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    await refuse_other_teams(database)  # an empty database is fine
    await another_teams_row(database, clock.now())
    with pytest.raises(NotASandboxDatabase, match=OTHER_TEAM):
        await refuse_other_teams(database)

    with FakeSlack() as fake:
        env = environment(api_url=fake.api_url, database_url=database_url, PORT=str(free_port()))
    env = {k: v for k, v in env.items() if not k.startswith("SLACK_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        stdout, stderr = await process.communicate()
    assert process.returncode != 0
    [line] = stderr.decode().strip().splitlines()
    assert "another Slack workspace" in line and OTHER_TEAM in line
    assert "Cultivate sandbox: open" not in stdout.decode()


async def test_the_sandbox_scheduler_claims_only_its_own_teams_rows(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock, lossy_sender: list[int]
) -> None:
    theirs = await another_teams_row(cultivate.database, clock.now())
    sandbox = cultivate.app.dispatcher(worker="sandbox", team_id=TEAM)
    assert await sandbox.run_until_idle() == 0
    async with cultivate.database.session() as session:
        row = await session.get(ScheduledSend, theirs)
    assert row is not None and (row.state, row.attempts) == ("pending", 0)
    assert lossy_sender == []
