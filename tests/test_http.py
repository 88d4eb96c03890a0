"""The HTTP surface: signatures, url_verification, health, and what malformed input gets."""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.server import create_web_app
from fakeslack import FakeSlack
from handlers.cop import AT_ONCE, CopRequest
from storage.db import Database
from storage.models import Community
from tests.conftest import ASHA, Cultivate, eventually


async def test_url_verification_answers_the_challenge(cultivate: Cultivate) -> None:
    reply = await cultivate.post(*cultivate.requests.url_verification("challenge-xyz"))
    assert reply.status == 200
    assert reply.json == {"challenge": "challenge-xyz"}


async def test_health_is_ok_when_the_database_answers(cultivate: Cultivate) -> None:
    async with cultivate.http.get(cultivate.server.make_url("/healthz")) as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "database": "ok"}


async def test_health_is_503_when_the_database_does_not_answer(cultivate: Cultivate) -> None:
    broken = Database("postgresql://nobody@127.0.0.1:1/none")

    server = TestServer(create_web_app(database=broken, bolt=None), host="127.0.0.1")
    await server.start_server()
    try:
        async with cultivate.http.get(server.make_url("/healthz")) as response:
            assert response.status == 503
            assert (await response.json())["status"] == "unavailable"
    finally:
        await server.close()
        await broken.dispose()


async def _community_count(cultivate: Cultivate) -> int:
    async with cultivate.database.session() as session:
        return (await session.exec(select(func.count()).select_from(Community))).one()[0]


async def test_unsigned_request_is_refused(cultivate: Cultivate, slack: FakeSlack) -> None:
    body, headers = cultivate.requests.slash_command(text="start", user_id=ASHA)
    del headers["X-Slack-Signature"]
    reply = await cultivate.post(body, headers)
    assert reply.status == 401
    assert slack.calls_to("views.open") == []


async def test_request_signed_over_five_minutes_ago_is_refused(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    body, headers = cultivate.requests.slash_command(text="start", user_id=ASHA)
    headers.update(cultivate.requests.sign(body, timestamp=int(time.time()) - 6 * 60))
    reply = await cultivate.post(body, headers)
    assert reply.status == 401
    assert slack.calls_to("views.open") == []


async def test_forged_signature_is_refused(cultivate: Cultivate, slack: FakeSlack) -> None:
    body, headers = cultivate.requests.slash_command(text="start", user_id=ASHA)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    reply = await cultivate.post(body, headers)
    assert reply.status == 401
    tampered = body.replace("start", "scope")
    _, good_headers = cultivate.requests.slash_command(text="start")
    reply = await cultivate.post(tampered, good_headers)
    assert reply.status == 401
    assert slack.calls_to("views.open") == []


async def test_malformed_payloads_get_4xx_not_5xx(cultivate: Cultivate) -> None:
    sign = cultivate.requests.sign
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    bodies = [
        ("payload=%7Bnot-json", form),
        ("payload=%5B1%2C2%5D", form),
        ("payload=" + json.dumps({"type": "view_submission"}), form),
        ("payload=" + json.dumps({"type": "block_actions", "actions": "x"}), form),
        ("{not json", {"Content-Type": "application/json"}),
        (
            json.dumps({"type": "event_callback", "event": "nope"}),
            {"Content-Type": "application/json"},
        ),
        ("", form),
    ]
    for body, headers in bodies:
        reply = await cultivate.post(body, {**headers, **sign(body)})
        assert 400 <= reply.status < 500, (body, reply.status, reply.body)
    assert await _community_count(cultivate) == 0


async def test_a_clock_process_reports_its_heartbeat_and_503s_when_it_stalls(
    cultivate: Cultivate,
) -> None:
    dispatcher = cultivate.dispatcher
    server = TestServer(
        create_web_app(
            database=cultivate.database, bolt=None, dispatcher=dispatcher, tick_seconds=1
        ),
        host="127.0.0.1",
    )
    await server.start_server()
    try:
        async with cultivate.http.get(server.make_url("/healthz")) as response:
            assert response.status == 200  # just started: no beat yet is fine
            assert (await response.json())["heartbeat_age_seconds"] is None
        await dispatcher.run_once()
        async with cultivate.http.get(server.make_url("/healthz")) as response:
            report = await response.json()
            assert response.status == 200 and report["heartbeat_age_seconds"] < 30
        dispatcher._last_heartbeat = time.monotonic() - 120  # as if it stalled two minutes ago
        async with cultivate.http.get(server.make_url("/healthz")) as response:
            assert response.status == 503
            assert (await response.json())["status"] == "unavailable"
    finally:
        await server.close()


async def test_an_unsigned_event_is_refused_before_it_is_handled(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    body, headers = cultivate.requests.event_callback(
        {"type": "app_home_opened", "user": ASHA, "tab": "home"}
    )
    headers["X-Slack-Signature"] = "v0=" + "1" * 64
    assert (await cultivate.post(body, headers)).status == 401
    await cultivate.settled()
    assert slack.calls_to("views.publish") == []


async def test_a_burst_of_commands_is_worked_through_a_few_at_a_time(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    """Every command is acked at once; the work after the ack runs a few at a time, so a form
    saved during a burst is not queued behind hundreds of tasks. Every one is still answered."""
    working, most, release = 0, 0, asyncio.Event()

    @cultivate.app.cop.subcommand("slow", summary="for this test")
    async def slow(request: CopRequest) -> None:
        nonlocal working, most
        working += 1
        most = max(most, working)
        await release.wait()
        working -= 1
        await request.tell("done")

    replies = [
        await cultivate.post(*cultivate.requests.slash_command(text="slow", user_id=ASHA))
        for _ in range(3 * AT_ONCE)
    ]
    assert [r.status for r in replies] == [200] * (3 * AT_ONCE)
    await eventually(lambda: _equals(working, AT_ONCE))
    release.set()
    await cultivate.settled()
    assert most == AT_ONCE
    assert len(slack.calls_to("response_url")) == 3 * AT_ONCE


async def _equals(a: int, b: int) -> bool:
    return a == b
