"""Welcomes: one DM and one share of a channel greeting per join, however often Slack says so;
bursts paced and never lost; follow-ups for the silent; introductions; the welcome editor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.app import create_app
from bot.catalogue import SCOPE, WAYS_OF_WORKING
from bot.clock import ManualClock
from bot.services.meetings import create_meeting
from bot.services.welcomes import CHECK_IN, GREETING, INTRODUCTION, NUDGE, WELCOME_DM
from fakeslack import Call, FakeSlack
from storage.models import MemberProfile
from tests.conftest import (
    ASHA,
    BEN,
    CARMEN,
    HOUSING,
    NOOR,
    TEAM,
    Cultivate,
    Reply,
    settings_for,
)
from tests.steps import (
    LIAM,
    add_items,
    answer,
    greetings,
    joined,
    joined_and_left,
    left_and_back,
    memberships,
    said,
    scheduled_sends,
    sent_to,
    start_community,
    welcome_dms,
)

AIMS = "Share what works in <!channel> housing policy & learn from each other"


def shown(call: Call) -> str:
    return "\n".join(
        b.get("text", {}).get("text", "") for b in call.args.get("blocks") or [] if "text" in b
    )


@pytest.fixture(name="community")
async def community_with_aims_and_a_policy(cultivate: Cultivate) -> Cultivate:
    await start_community(cultivate, timezone="UTC")
    await answer(cultivate, SCOPE, aims=AIMS)
    await answer(cultivate, WAYS_OF_WORKING, communication_modes=["channel", "video"])
    policy = {
        "area": "code_of_conduct",
        "approach": "Be generous <b>always</b>",
        "status": "agreed",
    }
    await add_items(cultivate, WAYS_OF_WORKING, "policies", [policy])
    cultivate.slack.clear()
    return cultivate


async def test_a_join_gets_one_welcome_dm_and_one_greeting_however_often_slack_says_so(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    reply = await joined(community, BEN, event_id="Ev0JOIN1")
    assert reply.status == 200
    await community.settled()
    assert slack.calls_to("chat.postMessage") == []  # nothing is sent before the heartbeat
    await community.tick()

    (dm,) = welcome_dms(slack, BEN)
    text = shown(dm)
    assert "Share what works in &lt;!channel&gt; housing policy &amp; learn" in text
    assert "<!channel>" not in text
    assert "Welcome to *Housing policy*, <@U0BEN>!" in text
    assert "• Slack channel conversations\n• Video calls" in text
    assert "Be generous &lt;b&gt;always&lt;/b&gt;" in text
    assert "Coordinators: <@U0ASHA>" in text
    buttons = [e for b in dm.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == ["Introduce yourself"]

    assert greetings(slack) == []  # the greeting waits for the batch window to close
    clock.advance(timedelta(seconds=60))
    await community.tick()
    (greeting,) = greetings(slack)
    assert "<@U0BEN>" in greeting.args["text"]

    # Slack retries the same event, a duplicate join event arrives: nothing more is sent.
    assert (await joined(community, BEN, event_id="Ev0JOIN1", retry_num=1)).status == 200
    assert (await joined(community, BEN, event_id="Ev0JOIN2")).status == 200
    await community.settled()
    clock.advance(timedelta(minutes=5))
    await community.tick()
    assert len(welcome_dms(slack, BEN)) == 1
    assert len(greetings(slack)) == 1
    assert len(await memberships(community, BEN)) == 1


async def test_a_joins_rows_say_where_they_post_so_one_scheduler_paces_each_channel(
    community: Cultivate,
) -> None:
    await joined(community, BEN)
    await community.settled()
    posting = {
        (r.kind, r.channel)
        for r in await scheduled_sends(community, WELCOME_DM, GREETING, NUDGE, CHECK_IN)
    }
    assert posting == {
        (WELCOME_DM, BEN),
        (GREETING, HOUSING),
        (NUDGE, BEN),
        (CHECK_IN, BEN),
    }


async def test_a_restart_sends_no_second_welcome(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await joined(community, BEN)
    await community.settled()
    await community.tick()
    async with restarted(community) as again:
        await joined(again, BEN)
        await again.settled()
        clock.advance(timedelta(minutes=2))
        await again.tick()
    assert len(welcome_dms(slack, BEN)) == 1
    assert len(greetings(slack)) == 1


@asynccontextmanager
async def restarted(cultivate: Cultivate) -> AsyncIterator[Cultivate]:
    """A second process of the app on the same database and Slack: nothing in memory carries
    over, as after a restart."""
    app = create_app(
        settings_for(cultivate.slack, cultivate.database.url),
        cultivate.app.runtime,
        scheduler=False,
    )
    server = TestServer(app.web, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield Cultivate(server, http, cultivate.slack, app)
    finally:
        await server.close()


async def test_a_bot_joining_and_a_join_to_a_channel_with_no_community_send_nothing(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    (other_bot,) = slack.workspace.add_people(1, name="helper", is_bot=True)
    for reply in (
        await joined(community, "U0BOT"),  # the app itself
        await joined(community, other_bot),
        await joined(community, BEN, channel="C0DATA"),  # not a community
    ):
        assert reply.status == 200
    await community.settled()
    clock.advance(timedelta(minutes=2))
    await community.tick()
    assert slack.calls_to("chat.postMessage") == []
    assert await memberships(community, "U0BOT") == []
    assert await memberships(community, BEN) == []


async def test_500_joins_at_once_are_all_acked_welcomed_once_and_greeted_per_window(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    people = slack.workspace.add_people(500)
    slack.rate_limit_per_channel(1)  # Slack's "about one message a second per channel"
    started = time.monotonic()
    replies: list[Reply] = []
    acks: list[float] = []

    async def join_timed(person: str) -> Reply:
        sent = time.monotonic()
        reply = await joined(community, person)
        acks.append(time.monotonic() - sent)
        return reply

    # Five waves of 100, 20 seconds apart on the clock: two 60-second batch windows.
    for wave in range(5):
        replies += await asyncio.gather(
            *(join_timed(p) for p in people[wave * 100 : (wave + 1) * 100])
        )
        await community.settled()
        clock.advance(timedelta(seconds=20))
    posted = time.monotonic() - started
    assert [r.status for r in replies] == [200] * 500  # every event acked

    started = time.monotonic()
    await drain(community, clock, WELCOME_DM, GREETING)
    sent = time.monotonic() - started

    for person in people:
        assert len(welcome_dms(slack, person)) == 1, person
    windows = greetings(slack)
    assert len(windows) == 2  # one message per batch window, not one per person
    named = [p for p in people if any(f"<@{p}>" in g.args["text"] for g in windows)]
    others = sum(int(g.args["text"].split(" others")[0].rsplit(" ", 1)[1]) for g in windows)
    assert len(named) + others == 500

    # Five newcomers introduce themselves at once: five posts to one channel.
    for person in people[:5]:
        await introduce(community, person, {"role": {"role": f"Role of {person}"}})
    await drain(community, clock, INTRODUCTION)
    introductions = sent_to(slack, HOUSING, ":raised_hand:")
    assert sorted(c.args["text"].split("\n")[1] for c in introductions) == sorted(
        f"*Role:* Role of {p}" for p in people[:5]
    )
    limited = [c for c in slack.calls_to("chat.postMessage") if c.status == 429]
    assert limited  # Slack's limit was met, and waited out: nothing was lost
    assert {
        r.state for r in await scheduled_sends(community, WELCOME_DM, GREETING, INTRODUCTION)
    } == {"sent"}
    print(
        f"\n500 joins posted and recorded in {posted:.1f}s (slowest ack {max(acks):.2f}s); "
        f"welcomes sent in {sent:.1f}s; {len(limited)} posts answered 429 and retried"
    )


async def drain(cultivate: Cultivate, clock: ManualClock, *kinds: str) -> None:
    """Heartbeats until nothing of these kinds is waiting, moving the clock on so that rows
    rate-limited with a Retry-After come due again."""
    for _ in range(30):
        await cultivate.tick()
        if not [r for r in await scheduled_sends(cultivate, *kinds) if r.state == "pending"]:
            return
        clock.advance(timedelta(seconds=5))
    raise AssertionError(f"{kinds} still waiting after 30 heartbeats")


async def test_the_week_nudge_goes_only_to_newcomers_who_stayed_silent(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    (quiet,) = slack.workspace.add_people(1)
    for person in (BEN, LIAM, quiet):
        await joined(community, person)
    await community.settled()
    await community.tick()

    clock.advance(timedelta(days=2))
    await said(community, BEN, "Hello all")  # Ben takes part in the channel
    await community.settled()
    await introduce(community, LIAM, {"role": {"role": "Planner"}})  # Liam introduces himself

    clock.advance(timedelta(days=5))
    await community.tick()
    nudged = [p for p in (BEN, LIAM, quiet) if sent_to(slack, p, "Hi <@")]
    assert nudged == [quiet]
    (nudge,) = sent_to(slack, quiet, "Hi <@")
    assert "What would help you take part?" in nudge.args["text"]
    assert sorted(r.state for r in await scheduled_sends(community, NUDGE)) == [
        "dropped",
        "dropped",
        "sent",
    ]


async def test_the_month_check_in_goes_to_members_and_leaving_cancels_it(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await joined(community, BEN)
    await joined_and_left(community, clock, LIAM, after=timedelta(days=10))
    clock.advance(timedelta(days=20))
    await community.tick()
    assert len(sent_to(slack, BEN, "It's been a month")) == 1
    assert sent_to(slack, LIAM, "It's been a month") == []
    cancelled = [r for r in await scheduled_sends(community, CHECK_IN) if r.state == "cancelled"]
    assert len(cancelled) == 1
    history = await memberships(community, LIAM)
    assert len(history) == 1 and history[0].left_at is not None  # ended, not deleted


async def test_someone_back_within_30_days_is_not_welcomed_again(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await joined(community, BEN)
    await community.settled()
    await community.tick()
    await left_and_back(community, clock, BEN, after=timedelta(days=29))
    clock.advance(timedelta(minutes=2))
    await community.tick()
    assert len(welcome_dms(slack, BEN)) == 1

    await left_and_back(community, clock, BEN, after=timedelta(days=31))
    await community.tick()
    assert len(welcome_dms(slack, BEN)) == 2
    assert len(await memberships(community, BEN)) == 3  # the whole history is kept


async def test_someone_in_the_channel_before_it_was_a_community_leaving_and_returning_is_no_newcomer(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await left_and_back(community, clock, CARMEN, after=timedelta(days=1))
    clock.advance(timedelta(minutes=2))
    await community.tick()
    assert welcome_dms(slack, CARMEN) == []


async def introduce(cultivate: Cultivate, user: str, values: dict[str, dict[str, Any]]) -> Reply:
    """Click "Introduce yourself" in the welcome DM and submit the modal."""
    dm = welcome_dms(cultivate.slack, user)[-1]
    button = next(e for b in dm.args["blocks"] if b["type"] == "actions" for e in b["elements"])
    before = len(cultivate.slack.calls_to("views.open"))
    await cultivate.click(
        {"action_id": button["action_id"], "type": "button", "value": button["value"]},
        user=user,
        channel=dm.response["channel"],
        message=dm.response["message"],
    )
    view = await cultivate.opened_view("introduction", count=before + 1)
    return await cultivate.submit(view, values, user=user)


async def test_an_introduction_is_kept_as_a_profile_and_posted_escaped(
    community: Cultivate, slack: FakeSlack
) -> None:
    await joined(community, BEN)
    await community.settled()
    await community.tick()
    empty = await introduce(community, BEN, {})
    assert empty.json["response_action"] == "errors"
    assert "role" in empty.json["errors"]

    reply = await introduce(
        community,
        BEN,
        {
            "role": {"role": "Data engineer"},
            "organisation": {"organisation": "City <!here> council"},
            "interests": {"interests": "Open data & housing"},
            "hopes_to_give": {"hopes_to_give": "Pipelines"},
            "hopes_to_get": {"hopes_to_get": "Policy context"},
        },
    )
    assert reply.json["response_action"] == "update"
    assert "Your introduction will appear in <#C0HOUSING>" in str(reply.json["view"]["blocks"])
    await community.tick()
    (posted,) = [c for c in slack.calls_to("chat.postMessage") if "introduces" in c.args["text"]]
    assert posted.args["channel"] == HOUSING
    assert "City &lt;!here&gt; council" in posted.args["text"]
    assert "<!here>" not in posted.args["text"]
    assert "*Hopes to get:* Policy context" in posted.args["text"]
    async with community.database.session() as session:
        profile = (await session.exec(select(MemberProfile))).one()
    assert (profile.user_id, profile.organisation) == (BEN, "City <!here> council")


async def test_coordinators_edit_the_welcome_with_a_preview(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await community.command("welcome")
    editor = await community.opened_view("welcome_editor")
    assert "Welcome to *Housing policy*, <@U0ASHA>!" in str(editor["blocks"])

    # Preview what is being typed, before saving.
    typed = "Hello {name}, this is {community}. We aim to: {purpose}. Next: {next_meeting} <!here>"
    editor["state"] = {"values": {"text": {"text": {"type": "plain_text_input", "value": typed}}}}
    await community.click({"action_id": "welcome_preview", "type": "button"}, view=editor)
    (update,) = await slack.wait_for("views.update")
    preview = str(update.args["view"]["blocks"])
    assert "Hello <@U0ASHA>, this is Housing policy. We aim to: Share what works" in preview
    assert "Next: _not planned yet_ &lt;!here&gt;" in preview

    bad = await community.submit(editor, {"text": {"text": "Hi {nmae}"}})
    assert bad.json["response_action"] == "errors"
    assert "{nmae}" in bad.json["errors"]["text"]
    forged = await community.submit(editor, {"text": {"text": "Hi {name}"}}, user=BEN)
    assert "coordinators" in forged.json["errors"]["text"]
    saved = await community.submit(editor, {"text": {"text": typed}})
    assert saved.status == 200 and saved.body == ""

    await joined(community, LIAM)
    await community.settled()
    await community.tick()
    (dm,) = welcome_dms(slack, LIAM)
    assert shown(dm).startswith("Hello <@U0LIAM>, this is Housing policy.")

    await community.command("welcome", user=NOOR)
    assert "Only this community's coordinators" in (await community.ephemeral())["text"]


async def test_newcomers_are_paired_with_an_active_member_when_the_community_asks(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await community.command("welcome")
    editor = await community.opened_view("welcome_editor")
    reply = await community.submit(
        editor,
        {"text": {"text": "Welcome, {name}!"}, "pair_newcomers": {"pair_newcomers": ["yes"]}},
    )
    assert reply.body == ""
    await said(community, NOOR, "I post a lot")
    await said(community, NOOR, "really a lot")
    await said(community, CARMEN, "now and then")
    await community.settled()

    await joined(community, BEN)
    await community.settled()
    clock.advance(timedelta(seconds=60))
    await community.tick()
    (opened,) = slack.calls_to("conversations.open")
    assert sorted(opened.args["users"].split(",")) == sorted([BEN, NOOR])
    group = opened.response["channel"]["id"]
    (hello,) = sent_to(slack, group)
    assert hello.args["text"].startswith("<@U0BEN>, meet <@U0NOOR>")


async def test_the_welcome_names_the_next_meeting(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await create_meeting(
        community.database,
        clock,
        team_id=TEAM,
        community_id=1,
        user_id=ASHA,
        submitted={
            "title": "Monthly <!here> catch-up",
            "agenda": "",
            "date": (clock.now() + timedelta(days=3)).date().isoformat(),
            "time": "18:00",
            "duration": "60",
            "format": "online",
            "timezone": "UTC",
            "place": "https://meet.example.org/housing",
            "recurrence": "none",
            "reminders": [],
        },
    )
    await joined(community, BEN, event_id="Ev0NEXT")
    await community.settled()
    await community.tick()
    (dm,) = welcome_dms(slack, BEN)
    text = shown(dm)
    assert "Monthly &lt;!here&gt; catch-up" in text
    assert "<!date^" in text
