"""Coordinators as coordinators: someone named in the roles stage is told once and added to the
channel; coordinators and facilitators are never treated as newcomers; a button only a
coordinator may press is shown to coordinators where the message is theirs alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.catalogue import MEMBERS, ROLES
from bot.clock import ManualClock
from bot.services.welcomes import CHECK_IN, NUDGE, WELCOME_DM
from fakeslack import Call, FakeSlack
from storage.models import Community
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, Cultivate
from tests.steps import (
    LIAM,
    RANDOM,
    answer,
    answers_to,
    as_values,
    buttons,
    click_button,
    figure_lines,
    greetings,
    joined,
    launch,
    memberships,
    open_home,
    open_stage,
    press,
    requests,
    scheduled_sends,
    sent_to,
    welcome_dms,
)


async def save_roles(cultivate: Cultivate, *, user: str = ASHA, **answers: Any) -> None:
    """Save the roles stage through its form, and wait for what the save sends after its ack."""
    view = await open_stage(cultivate, ROLES, user=user)
    reply = await cultivate.submit(view, as_values(answers), user=user)
    assert reply.body == "", reply.body
    await cultivate.settled()


def told_of_role(slack: FakeSlack, user: str) -> list[Call]:
    return sent_to(slack, user, "You are now")


def shown(call: Call) -> str:
    return "\n".join(b["text"]["text"] for b in call.args["blocks"] if "text" in b)


def invited(slack: FakeSlack, user: str) -> list[Call]:
    return [c for c in slack.calls_to("conversations.invite") if c.ok and c.args["users"] == user]


async def test_someone_named_a_coordinator_is_told_once_and_added_to_the_channel(
    community: Cultivate, slack: FakeSlack
) -> None:
    assert BEN not in slack.workspace.channels[HOUSING].members
    await save_roles(community, coordinators=[ASHA, BEN], facilitators=[CARMEN])

    (ben,) = told_of_role(slack, BEN)
    assert ben.args["text"] == "You are now a coordinator of Housing policy"
    text = shown(ben)
    assert "<@U0ASHA> named you a coordinator of *Housing policy*" in text
    assert f"I've added you to <#{HOUSING}>" in text
    assert "can change every stage" in text
    assert f"`/cop status` in <#{HOUSING}>" in text
    assert len(invited(slack, BEN)) == 1
    assert BEN in slack.workspace.channels[HOUSING].members

    # Carmen facilitates and was in the channel already.
    (carmen,) = told_of_role(slack, CARMEN)
    assert carmen.args["text"] == "You are now a facilitator of Housing policy"
    assert f"The community talks in <#{HOUSING}>" in shown(carmen)
    assert "`/cop meetings`" in shown(carmen)
    assert told_of_role(slack, ASHA) == []  # she saved it: she knows

    # Saving again, as the new co-coordinator, tells only whoever is newly named.
    await save_roles(
        community, user=BEN, coordinators=[ASHA, BEN, NOOR], facilitators=[CARMEN], assignments=[]
    )
    await community.tick()
    assert len(told_of_role(slack, BEN)) == 1 and len(told_of_role(slack, CARMEN)) == 1
    (noor,) = told_of_role(slack, NOOR)
    assert "<@U0BEN> named you a coordinator" in shown(noor)
    assert len(invited(slack, BEN)) == 1

    # A save naming nobody new tells nobody, however often the heartbeat runs.
    await save_roles(community, coordinators=[ASHA, BEN, NOOR], facilitators=[CARMEN])
    await community.tick()
    assert [len(told_of_role(slack, p)) for p in (BEN, CARMEN, NOOR)] == [1, 1, 1]


async def test_someone_both_coordinator_and_facilitator_gets_one_message(
    community: Cultivate, slack: FakeSlack
) -> None:
    await save_roles(community, coordinators=[ASHA, BEN], facilitators=[BEN])
    await community.tick()
    (ben,) = told_of_role(slack, BEN)
    assert ben.args["text"] == "You are now a coordinator and a facilitator of Housing policy"


async def test_when_slack_will_not_add_them_the_coordinator_who_named_them_is_told(
    community: Cultivate, slack: FakeSlack
) -> None:
    slack.faults.fail_next("conversations.invite", "restricted_action")
    await save_roles(community, coordinators=[ASHA, BEN])
    (note,) = await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == ASHA)
    assert note.args["text"].startswith(f"I couldn't add <@{BEN}> to <#{HOUSING}>")
    assert "`restricted_action`" in note.args["text"]
    assert "please add them to the channel yourself" in note.args["text"]
    (ben,) = told_of_role(slack, BEN)
    assert "I couldn't add you to it, so I've asked <@U0ASHA> to" in shown(ben)
    assert BEN not in slack.workspace.channels[HOUSING].members
    await community.tick()  # told once: the row was sent, not failed and retried
    assert len(told_of_role(slack, BEN)) == 1


async def test_coordinators_and_facilitators_joining_are_not_welcomed_or_counted_as_newcomers(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await save_roles(community, coordinators=[ASHA, BEN], facilitators=[LIAM])
    # Slack tells the app each joined; Ben and Liam were added by the app, Noor came herself.
    for person in (BEN, LIAM, NOOR):
        await joined(community, person)
    await community.settled()
    # Nothing is even scheduled to welcome them or follow them up.
    planned = await scheduled_sends(community, WELCOME_DM, NUDGE, CHECK_IN)
    (noor,) = await memberships(community, NOOR)
    assert len(planned) == 3 and {r.payload["membership"] for r in planned} == {noor.id}
    clock.advance(timedelta(minutes=5))
    await community.tick()
    assert welcome_dms(slack, BEN) == [] and welcome_dms(slack, LIAM) == []
    assert len(welcome_dms(slack, NOOR)) == 1
    (greeting,) = greetings(slack)
    assert "<@U0NOOR>" in greeting.args["text"]
    assert "<@U0BEN>" not in greeting.args["text"] and "<@U0LIAM>" not in greeting.args["text"]

    await community.command("health")
    lines = figure_lines((await community.ephemeral())["blocks"])
    assert lines["Newcomers who haven't posted yet"] == "1: <@U0NOOR>"

    # A week and a month on: only the newcomer is nudged and asked how it is going.
    for days in (7, 23):
        clock.advance(timedelta(days=days))
        await community.tick()
    for person in (BEN, LIAM):
        assert sent_to(slack, person, "Hi <@") == []
        assert sent_to(slack, person, "It's been a month") == []
    assert len(sent_to(slack, NOOR, "Hi <@")) == 1
    assert len(sent_to(slack, NOOR, "It's been a month")) == 1


async def test_a_newcomer_named_facilitator_is_no_longer_followed_up_as_one(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await joined(community, NOOR)
    await community.settled()
    await community.tick()
    assert len(welcome_dms(slack, NOOR)) == 1
    await save_roles(community, coordinators=[ASHA], facilitators=[NOOR])
    assert len(told_of_role(slack, NOOR)) == 1

    await community.command("health")
    lines = figure_lines((await community.ephemeral())["blocks"])
    assert lines["Newcomers who haven't posted yet"] == "0"
    for days in (7, 23):
        clock.advance(timedelta(days=days))
        await community.tick()
    assert sent_to(slack, NOOR, "Hi <@") == []
    # Never asked to send the coordinators a message: she is one of those who help now.
    assert sent_to(slack, NOOR, "It's been a month") == []


def mark_buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [b["accessory"] for b in blocks if "accessory" in b]
    found += [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    return [e for e in found if e.get("action_id") == "terms_mark_agreed"]


async def test_only_coordinators_see_mark_agreed_in_status_and_home(
    community: Cultivate, slack: FakeSlack
) -> None:
    await save_roles(community, coordinators=[ASHA, NOOR])
    await joined(community, CARMEN)
    await community.settled()
    message = await launch(community)

    await community.command("status", user=CARMEN)
    status = await community.ephemeral()
    assert "Terms of reference: draft 1" in str(status["blocks"])
    assert mark_buttons(status["blocks"]) == []
    assert mark_buttons((await open_home(community, CARMEN))["blocks"]) == []

    await community.command("status", user=NOOR)
    (mark,) = mark_buttons((await community.ephemeral(count=2))["blocks"])
    assert mark["confirm"]["confirm"]["text"] == "Mark agreed"

    # The channel's message is the same for every reader: the button is there, the save refuses.
    await press(community, message, "terms_mark_agreed", user=CARMEN)
    (refused,) = await slack.wait_for("chat.postEphemeral", lambda c: c.args["user"] == CARMEN)
    assert "coordinators" in refused.args["text"]

    # A press forged from Home, with the id Carmen saw nowhere, is refused where it is saved.
    home = await open_home(community, CARMEN)
    reply = await community.click(
        {"action_id": "terms_mark_agreed", "type": "button", "value": mark["value"]},
        user=CARMEN,
        view=home,
    )
    assert reply.status == 200
    await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == CARMEN)
    await community.settled()
    async with community.database.session() as session:
        assert (await session.exec(select(Community))).one().launched_at is None

    # Asha marks them agreed from her Home.
    home = await open_home(community, ASHA)
    (mark,) = mark_buttons(home["blocks"])
    await community.click(
        {"action_id": mark["action_id"], "type": "button", "value": mark["value"]},
        user=ASHA,
        view=home,
    )
    await slack.wait_for("chat.postMessage", lambda c: "is launched" in c.args["text"])
    async with community.database.session() as session:
        assert (await session.exec(select(Community))).one().launched_by == ASHA


async def test_someone_named_in_an_invitation_only_community_is_added_without_asking(
    community: Cultivate, slack: FakeSlack
) -> None:
    await answer(community, MEMBERS, membership="invitation")
    slack.faults.fail_next("conversations.invite", "restricted_action")  # not added when named
    await save_roles(community, coordinators=[ASHA], facilitators=[BEN])
    assert BEN not in slack.workspace.channels[HOUSING].members
    await community.command("communities", user=BEN, channel=RANDOM)
    (ask,) = buttons((listing := await community.ephemeral())["blocks"])
    await click_button(community, ask, user=BEN, channel=RANDOM, message={"ts": "1.1", **listing})
    assert "You're in!" in await answers_to(community, 2)
    assert BEN in slack.workspace.channels[HOUSING].members
    assert await requests(community) == []  # nobody was asked to approve him
