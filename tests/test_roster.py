"""Participation: activity counted from message events (never their text), levels suggested
from it and set by coordinators, the roster, and its part of App Home."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import inspect, text
from sqlmodel import col, select

from bot.clock import ManualClock
from fakeslack import FakeSlack
from storage.models import ActivityDay, Membership
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, Cultivate
from tests.steps import (
    LIAM,
    choose_level,
    joined,
    joined_and_left,
    level_of,
    open_home,
    roster_view,
    rows,
    said,
    status_blocks,
)

SECRET = "SECRET-PLAN-7731"


async def activity(cultivate: Cultivate) -> dict[tuple[str, date], int]:
    async with cultivate.database.session() as session:
        days = (await session.exec(select(ActivityDay))).all()
    return {(d.user_id, d.day): d.messages for d in days}


async def everything_stored(cultivate: Cultivate) -> str:
    """Every value in every table of the database, as one string."""
    async with cultivate.database.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        dumped = []
        for table in tables:
            rows = await connection.execute(text(f'SELECT * FROM "{table}"'))
            dumped += [repr(tuple(row)) for row in rows]
    return "\n".join(dumped)


async def test_messages_are_counted_per_member_per_day_and_no_text_is_stored(
    community: Cultivate, clock: ManualClock
) -> None:
    await joined(community, BEN)
    base = {"channel": HOUSING, "user": BEN, "text": f"{SECRET} <!channel>", "ts": "1.1"}
    events: list[dict[str, Any]] = [
        {**base, "type": "message", "channel_type": "channel"},
        {**base, "type": "message", "channel_type": "channel", "thread_ts": "1.0"},
        {**base, "type": "message", "channel_type": "channel", "user": NOOR},
        # Not talk in a community: another channel, an edit, a bot, a join notice.
        {**base, "type": "message", "channel_type": "channel", "channel": "C0DATA"},
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": HOUSING,
            "channel_type": "channel",
            "message": {"user": BEN, "text": f"{SECRET} edited", "ts": "1.1"},
            "previous_message": {"user": BEN, "text": SECRET, "ts": "1.1"},
            "ts": "1.3",
        },
        {**base, "type": "message", "subtype": "bot_message", "bot_id": "B0OTHER"},
        {**base, "type": "message", "subtype": "channel_join", "channel_type": "channel"},
    ]
    for event in events:
        assert (await community.event(event)).status == 200
    await community.settled()
    today = clock.now().date()
    assert await activity(community) == {(BEN, today): 2, (NOOR, today): 1}

    clock.advance(timedelta(days=1))
    await said(community, BEN, f"{SECRET} again")
    await community.settled()
    assert (await activity(community))[(BEN, today + timedelta(days=1))] == 1

    stored = await everything_stored(community)
    assert "U0BEN" in stored  # the dump really holds the rows
    assert SECRET not in stored


async def test_the_roster_suggests_levels_from_activity_and_coordinators_set_them(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await joined(community, BEN)
    await joined(community, LIAM)
    for n in range(3):
        await said(community, BEN, f"message {n}")
    for _ in range(8):  # Noor, there before the community began, posts most days
        await said(community, NOOR, "hello")
        await community.settled()  # counted on the day it was said
        clock.advance(timedelta(days=1))
    await community.settled()

    view = await roster_view(community)
    # Carmen and Noor, in the channel at the start, were recorded then: the roster opens
    # knowing everyone, and its look at the channel finds nothing new to show.
    await community.settled()
    assert not slack.calls_to("views.update")
    shown = rows(view)
    assert {user: level_of(block) for user, block in shown.items()} == {
        ASHA: "Coordinator",
        NOOR: "Core",
        BEN: "Active",
        CARMEN: "Peripheral",
        LIAM: "Peripheral",
    }
    assert "accessory" not in shown[ASHA]  # coordinators are chosen in /cop roles
    select_ben = shown[BEN]["accessory"]
    assert select_ben["initial_option"]["value"] == "suggested"

    await choose_level(community, view, select_ben["action_id"], "core")
    await slack.wait_for("views.update")
    shown = rows(slack.views[view["id"]])
    assert level_of(shown[BEN]) == "Core"
    assert "(suggested: active)" in shown[BEN]["text"]["text"]
    async with community.database.session() as session:
        ben = (await session.exec(select(Membership).where(Membership.user_id == BEN))).one()
    assert (ben.level, ben.level_set_by) == ("core", ASHA)

    # Carmen is not a coordinator: her roster has no choices, and a forged choice is refused.
    carmen_view = await roster_view(community, user=CARMEN, count=2)
    assert all("accessory" not in block for block in rows(carmen_view).values())
    await choose_level(community, carmen_view, select_ben["action_id"], "peripheral", user=CARMEN)
    (refused,) = await slack.wait_for(
        "chat.postMessage",
        lambda c: c.args["channel"] == CARMEN and "coordinators" in c.args["text"],
    )
    assert "Nothing was saved" in refused.args["text"]
    async with community.database.session() as session:
        ben = (await session.exec(select(Membership).where(Membership.user_id == BEN))).one()
    assert ben.level == "core"


async def test_posts_older_than_30_days_make_no_one_active(
    community: Cultivate, clock: ManualClock
) -> None:
    """The roster reads activity as far back as the health figures need (the period before
    the digest's), in one read with them: what is older than the 30 days counts for neither
    the level suggested nor "active"."""
    for _ in range(8):  # core, had it been within the 30 days
        await said(community, NOOR, "hello")
        await community.settled()
        clock.advance(timedelta(days=1))
    clock.advance(timedelta(days=40))
    shown = rows(await roster_view(community))
    assert level_of(shown[NOOR]) == "Peripheral"
    status = str(await status_blocks(community))
    assert "Active: 0 of 3 posted in the last 30 days" in status


async def test_leaving_ends_a_membership_and_keeps_its_history(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await joined_and_left(community, clock, BEN, after=timedelta(days=3))
    async with community.database.session() as session:
        (ben,) = (
            await session.exec(
                select(Membership).where(Membership.user_id == BEN).order_by(col(Membership.id))
            )
        ).all()
    assert ben.left_at == clock.now() and ben.joined_at == clock.now() - timedelta(days=3)
    view = await roster_view(community)
    assert BEN not in rows(view)


async def test_home_shows_each_members_level(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await joined(community, BEN)
    for _ in range(3):
        await said(community, BEN, "hi")
    await community.settled()
    home = await open_home(community, ASHA)
    members = next(
        b["text"]["text"]
        for b in home["blocks"]
        if b.get("text", {}).get("text", "").startswith("*Members:*")
    )
    # Carmen and Noor were in the channel when it became a community: members from then.
    assert members.startswith("*Members:* 4 (1 coordinator, 1 active, 2 peripheral)")
    assert "Coordinator: <@U0ASHA>" in members
    assert "Active: <@U0BEN>" in members
    # Ben belongs now, so his Home shows the community too.
    assert "*Members:*" in str((await open_home(community, BEN))["blocks"])
