"""The scheduler core: rows due later, claimed atomically, sent once, retried, never lost."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import event as sa_event
from sqlmodel import select

from bot.clock import ManualClock
from bot.dispatch import Dispatcher, Drop, Due, SingleWorkspace
from bot.pacing import ChannelPacer, PacedWebClient
from bot.runtime import Runtime
from fakeslack import FakeSlack
from storage.db import Database
from storage.models import ScheduledSend
from storage.repositories import scheduled
from tests.conftest import ASHA, TEAM, Cultivate
from tests.steps import NOTE, add_note, row, start_community


async def post_note(due: Due, client: AsyncWebClient) -> None:
    if due.payload.get("drop"):
        raise Drop("no longer wanted")
    await client.chat_postMessage(channel=due.payload["channel"], text=due.payload["text"])


@pytest.fixture
async def app(cultivate: Cultivate) -> Cultivate:
    cultivate.app.senders.register(NOTE, post_note, description="a test note")
    await start_community(cultivate, timezone="UTC")
    cultivate.slack.clear()
    return cultivate


def notes(slack: FakeSlack) -> list[str]:
    return [c.args["text"] for c in slack.calls_to("chat.postMessage") if c.ok]


async def test_a_row_is_sent_once_when_due_and_not_before(
    app: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    send_id = await add_note(app, "hello", after=timedelta(minutes=10))
    assert await app.tick() == 0
    clock.advance(timedelta(minutes=9, seconds=59))
    assert await app.tick() == 0
    clock.advance(timedelta(seconds=1))
    assert await app.tick() == 1
    assert await app.tick() == 0
    assert notes(slack) == ["hello"]
    assert (await row(app, send_id)).state == "sent"


async def test_two_dispatchers_on_one_database_send_each_row_once(
    app: Cultivate, slack: FakeSlack, database_url: str, clock: ManualClock
) -> None:
    for n in range(120):
        await add_note(app, f"note {n}")
    # A second process: its own engine and connections to the same database.
    other_database = Database(database_url)
    other = Dispatcher(
        Runtime(database=other_database, clock=clock),
        app.app.senders,
        app.app.clients,
        worker="other",
        batch=10,
    )
    mine = app.app.dispatcher(worker="mine")
    mine.batch = 10
    try:
        counts = await asyncio.gather(mine.run_until_idle(), other.run_until_idle())
    finally:
        await other_database.dispose()
    sent = notes(slack)
    assert sorted(sent) == sorted(f"note {n}" for n in range(120))
    assert sum(counts) == 120
    assert all(c > 0 for c in counts), counts  # both really took part


async def test_two_dispatchers_leave_each_channel_to_the_one_that_posted_there(
    app: Cultivate, slack: FakeSlack, database_url: str, clock: ManualClock
) -> None:
    # Slack allows a channel about a message a second, and only the process that posted
    # there last paces the next: two schedulers sharing a channel drew 429s from each other.
    people = slack.workspace.add_people(4)
    slack.rate_limit_per_channel(1)
    first = [
        [await add_note(app, f"{p} 0", more={"channel": p}, channel=p) for p in pair]
        for pair in (people[:2], people[2:])
    ]
    for round_ in (1, 2):
        for person in people:
            await add_note(app, f"{person} {round_}", more={"channel": person}, channel=person)

    def own_pacer() -> SingleWorkspace:  # each process paces its own posts
        paced = PacedWebClient(token="xoxb-test", base_url=slack.api_url, pacer=ChannelPacer(1))
        return SingleWorkspace(paced)

    other_database = Database(database_url)
    other, mine = (
        Dispatcher(runtime, app.app.senders, own_pacer(), worker=worker, batch=2)
        for runtime, worker in (
            (Runtime(database=other_database, clock=clock), "other"),
            (app.runtime, "mine"),
        )
    )
    try:
        # Each has posted to two of the channels; then both send what is left, at once.
        assert await other.send_now(first[0]) == 2 and await mine.send_now(first[1]) == 2
        for _ in range(10):  # heartbeats of both until every row is sent
            await asyncio.gather(mine.run_until_idle(), other.run_until_idle())
            async with app.database.session() as session:
                rows = (
                    await session.exec(select(ScheduledSend).where(ScheduledSend.kind == NOTE))
                ).all()
            if all(r.state == "sent" for r in rows):
                break
    finally:
        await other_database.dispose()
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [200] * 12  # no 429
    assert sorted(notes(slack)) == sorted(f"{p} {n}" for p in people for n in range(3))
    senders = {person: {r.claimed_by for r in rows if r.channel == person} for person in people}
    assert senders == {people[0]: {"other"}, people[1]: {"other"}} | {
        person: {"mine"} for person in people[2:]
    }


async def test_a_channel_is_left_to_its_process_until_it_has_been_quiet_or_its_claims_ran_out(
    app: Cultivate, clock: ManualClock
) -> None:
    lease = timedelta(seconds=20)

    async def claim(worker: str, ids: list[int] | None = None) -> list[str]:
        async with app.database.session() as session:
            rows = await scheduled.claim_due(
                session, worker=worker, now=clock.now(), lease=lease, limit=10, ids=ids
            )
        return [r.payload["text"] for r in rows]

    await add_note(app, "first", channel="C0PACED")
    await add_note(app, "anyone's")  # no channel known: no process holds it
    assert await claim("a") == ["first", "anyone's"]
    await add_note(app, "second", channel="C0PACED")
    assert await claim("b") == []  # "a" holds a claim in the channel
    assert await claim("a") == ["second"]
    async with app.database.session() as session:
        ids = [r.id for r in (await session.exec(select(ScheduledSend))).all()]
        await scheduled.finish(
            session, send_ids=ids, worker="a", state=scheduled.SendState.SENT, now=clock.now()
        )
    await add_note(app, "third", channel="C0PACED")
    assert await claim("b") == []  # "a" posted there moments ago
    clock.advance(scheduled.CHANNEL_KEPT_FOR)
    assert await claim("b") == ["third"]  # quiet long enough: anyone's
    await add_note(app, "fourth", channel="C0PACED")
    assert await claim("a") == []
    # A request sending a row now takes it at once: someone is waiting for it.
    fifth = await add_note(app, "fifth", channel="C0PACED")
    assert await claim("c", ids=[fifth]) == ["fifth"]
    clock.advance(lease + timedelta(seconds=1))  # "b" and "c" died holding theirs
    assert sorted(await claim("a")) == ["fifth", "fourth", "third"]


async def test_a_claim_whose_process_died_is_taken_again_after_its_lease(
    app: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    send_id = await add_note(app, "survives")
    async with app.database.session() as session:  # a process claims it, then is killed
        claimed = await scheduled.claim_due(
            session, worker="killed", now=clock.now(), lease=timedelta(minutes=5), limit=10
        )
    assert [r.id for r in claimed] == [send_id]
    assert await app.tick() == 0  # still leased
    clock.advance(timedelta(minutes=5, seconds=1))
    assert await app.tick() == 1
    assert notes(slack) == ["survives"]
    async with app.database.session() as session:  # the dead process's late word loses
        assert not await scheduled.finish(
            session,
            send_ids=[send_id],
            worker="killed",
            state=scheduled.SendState.FAILED,
            now=clock.now(),
        )
    assert (await row(app, send_id)).state == "sent"


async def test_429_with_retry_after_delays_but_does_not_lose(
    app: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    send_id = await add_note(app, "patient")
    # Two 429s: slack_sdk's handler waits out the first; the second reschedules the row.
    slack.inject_http("chat.postMessage", 429, times=2, retry_after=1)
    assert await app.dispatcher.run_once() == 1
    waiting = await row(app, send_id)
    assert (waiting.state, waiting.last_error) == ("pending", "ratelimited")
    assert waiting.due_at == clock.now() + timedelta(seconds=1)
    assert notes(slack) == []
    clock.advance(timedelta(seconds=1))
    await app.tick()
    assert notes(slack) == ["patient"]


async def test_server_errors_back_off_then_send(
    app: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    send_id = await add_note(app, "eventually")
    slack.inject_http("chat.postMessage", 503, times=1)
    await app.tick()
    assert (await row(app, send_id)).state == "pending"
    clock.advance(timedelta(seconds=30))
    await app.tick()
    assert notes(slack) == ["eventually"]
    assert (await row(app, send_id)).attempts == 2


async def test_after_the_last_attempt_coordinators_are_told_once(
    app: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    send_id = await add_note(app, "doomed")
    slack.fail_next("chat.postMessage", "internal_error", times=5)
    for _ in range(6):
        await app.tick()
        clock.advance(timedelta(hours=1))
    failed = await row(app, send_id)
    assert (failed.state, failed.attempts, failed.last_error) == ("failed", 5, "internal_error")
    told = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    assert [c.args["channel"] for c in told] == [ASHA]
    assert "a test note" in told[0].args["text"] and "internal_error" in told[0].args["text"]


async def test_a_permanent_error_fails_at_once(app: Cultivate, slack: FakeSlack) -> None:
    send_id = await add_note(app, "nowhere")
    slack.fail_next("chat.postMessage", "channel_not_found")
    await app.tick()
    assert (await row(app, send_id)).state == "failed"
    assert len([c for c in slack.calls_to("chat.postMessage") if c.ok]) == 1  # the notice


async def test_late_rows_are_dropped_not_sent(
    app: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    stale = await add_note(app, "too late", stale_at=clock.now() - timedelta(seconds=1))
    await app.tick()
    assert notes(slack) == []
    assert (await row(app, stale)).state == "dropped"


async def test_a_sender_can_drop_what_no_longer_makes_sense(
    app: Cultivate, slack: FakeSlack
) -> None:
    added = await add_note(app, "no longer wanted", more={"drop": True})
    await app.tick()
    assert notes(slack) == []
    assert (await row(app, added)).state == "dropped"


async def test_a_dedupe_key_schedules_once(app: Cultivate) -> None:
    first = await add_note(app, "once", dedupe_key="welcome:1:U1")
    async with app.database.session() as session:
        again = await scheduled.schedule(
            session,
            team_id=TEAM,
            kind=NOTE,
            due_at=app.runtime.clock.now(),
            dedupe_key="welcome:1:U1",
        )
    assert again is None
    async with app.database.session() as session:
        rows = (await session.exec(select(ScheduledSend).where(ScheduledSend.kind == NOTE))).all()
    assert [r.id for r in rows] == [first]


async def test_cancel_leaves_nothing_pending_about_a_subject(
    app: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await add_note(app, "meeting 1 reminder", after=timedelta(hours=1), subject="meeting:1")
    await add_note(app, "meeting 2 reminder", after=timedelta(hours=1), subject="meeting:2")
    async with app.database.session() as session:
        cancelled = await scheduled.cancel(
            session, team_id=TEAM, community_id=1, subject="meeting:1", now=clock.now()
        )
    assert cancelled == 1
    clock.advance(timedelta(hours=2))
    await app.tick()
    assert notes(slack) == ["meeting 2 reminder"]


async def _drain(cultivate: Cultivate, clock: ManualClock, *, step: timedelta) -> None:
    """Heartbeats with the clock moving on, until nothing is left pending."""
    for _ in range(60):
        await cultivate.tick()
        async with cultivate.database.session() as session:
            # The notes only: the community's own rounds (its digest…) are due months later.
            rows = (
                await session.exec(select(ScheduledSend).where(ScheduledSend.kind == NOTE))
            ).all()
        if all(r.state not in ("pending", "claimed") for r in rows):
            return
        clock.advance(step)
    raise AssertionError("rows still pending after 60 heartbeats")


async def test_a_429_storm_delays_but_loses_and_duplicates_nothing(
    app: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    for n in range(100):
        await add_note(app, f"storm {n}")
    slack.inject_http("chat.postMessage", 429, times=40, retry_after=0)
    await _drain(app, clock, step=timedelta(seconds=1))
    assert sorted(notes(slack)) == sorted(f"storm {n}" for n in range(100))


async def test_a_burst_of_5xx_delays_but_loses_and_duplicates_nothing(
    app: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    for n in range(100):
        await add_note(app, f"burst {n}")
    slack.inject_http("chat.postMessage", 503, times=120)
    await _drain(app, clock, step=timedelta(minutes=1))
    assert sorted(notes(slack)) == sorted(f"burst {n}" for n in range(100))


async def test_send_now_sends_a_due_row_at_once_and_once_only(
    app: Cultivate, slack: FakeSlack
) -> None:
    send_id = await add_note(app, "right away")
    later = await add_note(app, "later", after=timedelta(hours=1))
    request_side = app.app.dispatcher(worker="request")
    assert await request_side.send_now([send_id, later]) == 1  # the later one is not due
    assert await request_side.send_now([send_id]) == 0
    assert await app.tick() == 0
    assert notes(slack) == ["right away"]


async def test_a_slow_send_renews_its_claim_so_nobody_takes_it_twice(
    app: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(due: Due, client: AsyncWebClient) -> None:
        if not started.is_set():  # the first send is slow (Slack asked us to wait, say)
            started.set()
            await release.wait()
        await post_note(due, client)

    app.app.senders.register("slow_note", slow, description="a slow note")
    await add_note(app, "slow", kind="slow_note")
    lease = timedelta(seconds=0.3)  # renewed every 0.1s of real time
    sender = Dispatcher(app.runtime, app.app.senders, app.app.clients, worker="slow", lease=lease)
    other = Dispatcher(app.runtime, app.app.senders, app.app.clients, worker="other", lease=lease)
    sending = asyncio.create_task(sender.run_once())
    await started.wait()
    clock.advance(timedelta(seconds=0.2))
    await asyncio.sleep(0.25)  # a renewal happens: the claim now runs to 0.5s
    clock.advance(timedelta(seconds=0.2))  # past the first lease, within the renewed one
    assert await other.run_once() == 0
    release.set()
    assert await sending == 1
    assert notes(slack) == ["slow"]


async def test_a_row_that_waited_its_turn_is_not_sent_if_another_process_took_it(
    app: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    """A row claimed moments ago goes straight out; one that waited behind slow sends is
    checked first, and if another process took it meanwhile, it is theirs to send."""
    release, started = asyncio.Event(), asyncio.Event()

    async def slow_first(due: Due, client: AsyncWebClient) -> None:
        if due.payload["text"] == "first":
            started.set()
            await release.wait()
        await post_note(due, client)

    app.app.senders.register("slow_first", slow_first, description="a slow first note")
    await add_note(app, "first", kind="slow_first")
    second_id = await add_note(app, "second", kind="slow_first")
    one_at_a_time = Dispatcher(
        app.runtime, app.app.senders, app.app.clients, worker="busy", concurrency=1
    )
    sending = asyncio.create_task(one_at_a_time.run_once())
    await started.wait()
    # "second" waits its turn; meanwhile its lease runs out and another process takes it.
    clock.advance(timedelta(minutes=1))
    async with app.database.session() as session:
        second = await session.get(ScheduledSend, second_id)
        assert second is not None
        second.claimed_by = "another"
        session.add(second)
    release.set()
    assert await sending == 2
    assert notes(slack) == ["first"]  # "second" is left to the process that took it
    assert (await row(app, second_id)).claimed_by == "another"


async def test_a_row_claimed_moments_ago_goes_out_without_a_second_check(
    app: Cultivate, slack: FakeSlack
) -> None:
    """No other process may take a row before its lease runs out, so a row sent soon after
    its claim is not asked about again: a claim, the send, and its outcome."""
    await add_note(app, "fresh")
    statements: list[str] = []
    engine = app.database.engine.sync_engine
    listener = lambda *args: statements.append(" ".join(args[2].split()))  # noqa: E731
    sa_event.listen(engine, "before_cursor_execute", listener)
    try:
        assert await app.dispatcher.run_once() == 1
    finally:
        sa_event.remove(engine, "before_cursor_execute", listener)
    assert notes(slack) == ["fresh"]
    updates = [s for s in statements if s.startswith("UPDATE scheduled_sends")]
    assert len(updates) == 2, "\n".join(updates)  # claimed, then sent: no confirmation between


async def test_every_slack_call_of_a_process_reuses_its_connections(
    app: Cultivate, slack: FakeSlack
) -> None:
    """One HTTP session per process, kept alive: what requests call (through Bolt's client for
    each request), the answers to commands (through their response_url) and scheduled sends,
    one after another, go over the connection already open, not one each."""
    opened = slack.connections
    for n in range(5):
        await app.event({"type": "app_home_opened", "user": ASHA, "tab": "home"})
        await slack.wait_for("views.publish", count=n + 1)
        await app.command("status")
        assert "Housing policy" in str(await app.ephemeral(count=n + 1))
        await add_note(app, f"note {n}")
        assert await app.tick() == 1
    assert len(notes(slack)) == 5
    assert slack.connections - opened <= 1
