"""Joining: the directory, open communities, and invitation-only ones where coordinators
approve (the person is invited) or decline (the person is told, kindly)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.catalogue import MEMBERS, ROLES, WAYS_OF_WORKING
from bot.clock import ManualClock
from fakeslack import FakeSlack
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, Cultivate
from tests.steps import (
    LIAM,
    RANDOM,
    answer,
    answers_to,
    buttons,
    click_button,
    click_in_dm,
    joined,
    open_home,
    requests,
    sent_to,
    start_community,
    welcome_dms,
)


@pytest.fixture
async def invitation_only(cultivate: Cultivate) -> Cultivate:
    await start_community(cultivate, timezone="UTC")
    await answer(cultivate, MEMBERS, membership="invitation")
    await answer(cultivate, ROLES, coordinators=[ASHA, NOOR])
    await cultivate.tick()  # Noor is told she coordinates it now, before the test starts
    cultivate.slack.clear()
    return cultivate


async def test_approving_a_request_invites_the_person_and_tells_them(
    invitation_only: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    app = invitation_only
    await app.command("communities", user=BEN, channel=RANDOM)
    listing = await app.ephemeral()
    (ask,) = buttons(listing["blocks"])
    assert ask["text"]["text"] == "Ask to join"
    assert "By invitation" in str(listing["blocks"])
    await click_button(app, ask, user=BEN, channel=RANDOM, message={"ts": "1.1", **listing})
    assert "I've asked the coordinators" in await answers_to(app, 2)
    (request,) = await requests(app)
    assert (request.user_id, request.state) == (BEN, "pending")
    assert "1 request to join waiting" in str((await open_home(app, NOOR))["blocks"])

    await app.tick()
    asked = {c.args["channel"]: c for c in slack.calls_to("chat.postMessage") if c.ok}
    assert set(asked) == {ASHA, NOOR}  # a DM to each coordinator
    assert [b["text"]["text"] for b in buttons(asked[ASHA].args["blocks"])] == [
        "Approve",
        "Decline",
    ]

    # Someone who is not a coordinator presses Approve (a forged click): nothing changes.
    await click_in_dm(app, asked[ASHA], "Approve", user=CARMEN)
    assert "Only this community's coordinators" in await answers_to(app, 3)
    await app.tick()
    assert slack.calls_to("conversations.invite") == []
    assert [r.state for r in await requests(app)] == ["pending"]

    await click_in_dm(app, asked[ASHA], "Approve", user=ASHA)
    await slack.wait_for("chat.update", count=2)  # both coordinators see it was answered
    for dm in slack.calls_to("chat.update"):
        assert dm.args["text"].startswith(":white_check_mark: <@U0ASHA> approved <@U0BEN>'s")
    await app.tick()
    (invite,) = slack.calls_to("conversations.invite")
    assert (invite.args["channel"], invite.args["users"]) == (HOUSING, BEN)
    assert invite.ok and BEN in slack.workspace.channels[HOUSING].members
    (told,) = sent_to(slack, BEN, "Good news")
    assert "approved your request to join *Housing policy*" in told.args["text"]

    # The second coordinator's Approve, a moment late, changes nothing.
    await click_in_dm(app, asked[NOOR], "Approve", user=NOOR)
    assert "already approved by <@U0ASHA>" in await answers_to(app, 4)

    # Slack then says Ben joined, invited by the app: he is welcomed, not reported.
    await joined(app, BEN, inviter="U0BOT")
    await app.settled()
    await app.tick()
    assert len(welcome_dms(slack, BEN)) == 1
    assert not [
        c for c in slack.calls_to("chat.postMessage") if "without an approved" in c.args["text"]
    ]


async def test_declining_tells_the_person_kindly_with_the_reason(
    invitation_only: Cultivate, slack: FakeSlack
) -> None:
    app = invitation_only
    await app.command("join", user=LIAM)
    assert "I've asked the coordinators" in (await app.ephemeral())["text"]
    await app.command("join", user=LIAM)
    assert "already asked" in (await app.ephemeral(count=2))["text"]
    await app.tick()
    (asked,) = sent_to(slack, ASHA)

    await click_in_dm(app, asked, "Decline", user=BEN)  # not a coordinator: no form
    assert "Only this community's coordinators" in await answers_to(app, 3)
    assert slack.calls_to("views.open") == []

    await click_in_dm(app, asked, "Decline", user=ASHA)
    form = await app.opened_view("join_decline_form")
    reply = await app.submit(form, {"reason": {"reason": "We're <!channel> full until spring"}})
    assert reply.status == 200 and reply.body == ""
    await app.tick()
    (told,) = sent_to(slack, LIAM)
    assert "Thank you for your interest in *Housing policy*" in told.args["text"]
    assert ">We're &lt;!channel&gt; full until spring" in told.args["text"]
    assert slack.calls_to("conversations.invite") == []
    (request,) = await requests(app)
    assert (request.state, request.decided_by) == ("declined", ASHA)


async def test_someone_joining_an_invitation_only_channel_unapproved_is_reported_not_removed(
    invitation_only: Cultivate, slack: FakeSlack
) -> None:
    app = invitation_only
    await joined(app, LIAM)  # joined by themselves
    await joined(app, BEN, inviter=NOOR)  # added by a coordinator: approved
    await app.settled()
    await app.tick()
    reports = [
        c for c in slack.calls_to("chat.postMessage") if "without an approved" in c.args["text"]
    ]
    assert sorted(c.args["channel"] for c in reports) == [ASHA, NOOR]
    assert all("<@U0LIAM>" in c.args["text"] for c in reports)
    assert len(welcome_dms(slack, LIAM)) == 1  # still a member, and welcomed as one
    assert not [c for c in slack.calls if c.method.startswith("conversations.kick")]


async def test_joining_an_open_community_adds_the_person_at_once(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await start_community(cultivate, timezone="UTC")
    await cultivate.command("join", user=BEN)
    assert "You're in!" in (await cultivate.ephemeral())["text"]
    (invite,) = slack.calls_to("conversations.invite")
    assert (invite.args["channel"], invite.args["users"]) == (HOUSING, BEN)
    assert await requests(cultivate) == []
    # Carmen was in the channel before it became a community: a member from its start.
    await cultivate.command("join", user=CARMEN)
    assert (
        "You're already a member of *Housing policy*"
        in (await cultivate.ephemeral(count=2))["text"]
    )


async def test_the_directory_lists_communities_that_are_not_private(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, name="Housing <i>policy</i>", timezone="UTC")
    await answer(cultivate, MEMBERS, membership="invitation")
    await start_community(cultivate, name="Data", channel="C0DATA", user=BEN, timezone="UTC")
    await joined(cultivate, CARMEN)
    await cultivate.settled()
    # Data is private to its members: its coordinator says so in ways of working.
    await answer(cultivate, WAYS_OF_WORKING, community_id=2, user=BEN, public_domain="private")

    await cultivate.command("communities", user=LIAM, channel=RANDOM)
    listing = await cultivate.ephemeral()
    text = str(listing["blocks"])
    assert "Housing &lt;i&gt;policy&lt;/i&gt;" in text
    assert "Data" not in text
    # Asha (who started it) and Noor and Carmen, in its channel when it began.
    assert "3 members · By invitation" in text
    clock.advance(timedelta(seconds=1))

    await cultivate.command("communities", user=CARMEN, channel=RANDOM)
    mine = await cultivate.ephemeral(count=2)
    assert "You're a member: <#C0HOUSING>" in str(mine["blocks"])
    assert buttons(mine["blocks"]) == []
