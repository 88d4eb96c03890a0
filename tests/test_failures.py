"""A failure reaches a person: a scheduled send that keeps crashing ends, after its retries, in
one notice to the coordinators and a line on App Home; a `/cop` subcommand, a form or a button
that crashes tells the person who used it, and the log never holds what they typed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

import handlers.archive
import handlers.stages
from bot.app import create_app
from bot.catalogue import SCOPE
from bot.clock import ManualClock
from bot.dispatch import Due
from bot.runtime import Runtime
from fakeslack import FakeSlack
from storage.db import Database
from storage.models import ScheduledSend
from storage.repositories import scheduled
from tests.conftest import ASHA, BEN, HOUSING, TEAM, Cultivate, settings_for
from tests.steps import add_note, as_values, open_home, open_stage, row, start_community, texts

BROKEN = "broken_archive"
SECRET = "Zebra-quartz 4471"  # typed by a person: must never reach the log


async def crash(due: Due, client: AsyncWebClient) -> None:
    raise KeyError(f"stakeholder_views {SECRET}")


@pytest.fixture(name="community")
async def community_with_a_crashing_sender(cultivate: Cultivate) -> Cultivate:
    await start_community(cultivate, timezone="UTC")
    cultivate.app.senders.register(BROKEN, crash, description="the archive")
    cultivate.slack.clear()
    return cultivate


def sent_to(slack: FakeSlack, user: str) -> list[str]:
    return [
        c.args["text"]
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args.get("channel") == user
    ]


async def test_a_crashing_sender_is_retried_then_the_coordinators_are_told_once(
    community: Cultivate, slack: FakeSlack, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    send_id = await add_note(community, "unused", kind=BROKEN)
    await community.tick()
    first = await row(community, send_id)
    assert (first.state, first.attempts) == ("pending", 1)  # retried later, not given up at once
    assert sent_to(slack, ASHA) == []

    for _ in range(10):  # well past the last attempt: more ticks tell nobody again
        clock.advance(timedelta(hours=1))
        await community.tick()

    last = await row(community, send_id)
    assert (last.state, last.attempts) == ("failed", 5)
    [notice] = sent_to(slack, ASHA)
    assert "I couldn't send the archive for *Housing policy* in <#C0HOUSING>" in notice
    assert "It has been logged" in notice and "Slack said" not in notice
    assert sent_to(slack, BEN) == []

    home = texts(await open_home(community, ASHA))
    assert "The archive could not be sent on <!date^" in home
    assert "; it has been logged." in home
    assert "KeyError" in caplog.text and SECRET not in caplog.text


async def test_a_row_whose_process_dies_every_time_fails_instead_of_being_retried_for_ever(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    tried: list[int] = []

    async def would_send(due: Due, client: AsyncWebClient) -> None:
        tried.append(due.attempts)

    community.app.senders.register("fatal", would_send, description="a welcome message")
    send_id = await add_note(community, "unused", kind="fatal")
    async with community.database.session() as session:
        # Five processes claimed it and died while sending: the last lease ran out.
        for _ in range(5):
            await scheduled.claim_due(
                session,
                worker="died",
                now=clock.now(),
                lease=timedelta(seconds=20),
                limit=1,
                ids=[send_id],
            )
            clock.advance(timedelta(seconds=21))

    await community.tick()
    assert tried == []
    assert (await row(community, send_id)).state == "failed"
    [notice] = sent_to(slack, ASHA)
    assert "I couldn't send a welcome message" in notice and "It has been logged" in notice


async def test_a_crashing_cop_subcommand_tells_the_person_and_logs_no_text(
    community: Cultivate, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise KeyError(f"stakeholder_views {SECRET}")

    monkeypatch.setattr(handlers.archive, "compile_archive", broken)
    reply = await community.command(f"archive {SECRET}")
    assert reply.status == 200
    told = await community.ephemeral()
    assert told["response_type"] == "ephemeral"
    assert "something went wrong with `/cop archive`" in told["text"]
    assert "It has been logged" in told["text"]
    assert "/cop archive failed: KeyError" in caplog.text
    assert SECRET not in caplog.text


async def test_a_form_whose_save_crashes_stays_open_with_an_error_instead_of_hanging(
    community: Cultivate, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(SECRET)

    monkeypatch.setattr(handlers.stages, "save_answers", broken)
    view = await open_stage(community, SCOPE)
    reply = await community.submit(view, as_values({"need": SECRET}))
    assert reply.status == 200
    first_field = next(b["block_id"] for b in view["blocks"] if b["type"] == "input")
    assert reply.json["response_action"] == "errors"
    assert "something went wrong" in reply.json["errors"][first_field]
    assert "It has been logged" in reply.json["errors"][first_field]
    assert "RuntimeError" in caplog.text and SECRET not in caplog.text


async def test_a_button_that_crashes_tells_the_person_who_clicked(
    community: Cultivate, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    @community.app.bolt.action("test_broken_button")
    async def broken(ack: object) -> None:
        raise RuntimeError(SECRET)

    posted = await community.app.bolt.client.chat_postMessage(channel=HOUSING, text="Try me")
    message = {"ts": posted["ts"], "text": "Try me"}
    await community.click(
        {"action_id": "test_broken_button", "block_id": "b", "type": "button", "value": "1"},
        user=BEN,
        channel=HOUSING,
        message=message,
    )
    [answer] = await slack.wait_for("response_url")
    assert answer.args["response_type"] == "ephemeral"
    assert "something went wrong" in answer.args["text"]
    assert "RuntimeError" in caplog.text and SECRET not in caplog.text


async def test_the_number_of_attempts_is_a_setting(
    slack: FakeSlack, database: Database, database_url: str, clock: ManualClock
) -> None:
    app = create_app(
        settings_for(slack, database_url, SCHEDULER_ATTEMPTS="2"),
        Runtime(database=database, clock=clock),
    )
    app.senders.register(BROKEN, crash, description="the archive")
    dispatcher = app.dispatcher(worker="test")
    async with database.session() as session:
        added = await scheduled.schedule(
            session, team_id=TEAM, community_id=None, kind=BROKEN, due_at=clock.now(), payload={}
        )
        assert added is not None and added.id is not None
        send_id = added.id
    await dispatcher.run_until_idle()
    clock.advance(timedelta(minutes=1))
    await dispatcher.run_until_idle()
    async with database.session() as session:
        found = await session.get(ScheduledSend, send_id)
        assert found is not None
        assert (found.state, found.attempts) == ("failed", 2)
