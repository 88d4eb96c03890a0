"""Who may see and change a community: private channels stay private, ids in payloads are
claims checked against the request's team and person, and a workspace admin can adopt a
community its coordinators have left. Every refusal is a clear answer, never a 5xx."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.catalogue import MEMBERS, ROLES
from bot.clock import ManualClock
from bot.services.access import UNKNOWN
from bot.services.communities import is_closed
from bot.services.communities import start_community as start_in_database
from fakeslack import FakeSlack
from fakeslack.workspace import BOT_USER_ID, Channel
from storage.models import (
    Community,
    KnowledgeCapture,
    MemberProfile,
    Rsvp,
    StageRevision,
)
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, Cultivate
from tests.steps import (
    LIAM,
    announcements,
    answer,
    answers_to,
    as_values,
    close,
    close_values,
    community_with_roles_and_members,  # noqa: F401 (a fixture)
    housing,
    joined,
    left,
    meeting_values,
    open_home,
    plan_meeting,
    prompts_in_channel,
    requests,
    start_community,
    stored,
)

SECRET = "C0SECRET"
RANDOM = "C0RANDOM"
OTHER_TEAM = "T0ELSEWHERE"


def add_private_channel(slack: FakeSlack, *members: str) -> None:
    slack.workspace.channels[SECRET] = Channel(
        SECRET, "board-matters", is_private=True, members=[BOT_USER_ID, *members]
    )


async def communities(cultivate: Cultivate) -> dict[str, Community]:
    async with cultivate.database.session() as session:
        return {c.channel_id: c for c in (await session.exec(select(Community))).all()}


@pytest.fixture
async def three(cultivate: Cultivate, clock: ManualClock) -> dict[str, int]:
    """An open public community (Housing, Asha), a private one (Noor and Carmen's channel),
    and a community of another workspace on the same database."""
    add_private_channel(cultivate.slack, NOOR, CARMEN)
    await start_community(cultivate, timezone="UTC")
    await start_community(cultivate, name="Board matters", user=NOOR, channel=SECRET)
    other = await start_in_database(
        cultivate.database,
        clock,
        team_id=OTHER_TEAM,
        channel_id="C0THEIRS",
        name="Their community",
        domain="",
        timezone="UTC",
        starter="U0THEM",
    )
    found = await communities(cultivate)
    cultivate.slack.clear()
    return {
        "public": found[HOUSING].id or 0,
        "private": found[SECRET].id or 0,
        "other_team": other.id or 0,
    }


# -- private channels -------------------------------------------------------------------


async def test_start_records_from_slack_whether_the_channel_is_private(
    cultivate: Cultivate, three: dict[str, int]
) -> None:
    found = await communities(cultivate)
    assert found[SECRET].is_private and not found[HOUSING].is_private

    # Slack says the public channel became private, then renamed: the record follows.
    message = {"type": "message", "subtype": "channel_convert_to_private", "user": ASHA}
    await cultivate.event({**message, "channel": HOUSING, "channel_type": "group"})
    await cultivate.settled()
    assert (await communities(cultivate))[HOUSING].is_private

    cultivate.slack.workspace.channels[HOUSING].is_private = False  # made public again
    reply = await cultivate.event(
        {"type": "channel_rename", "channel": {"id": HOUSING, "name": "housing", "created": 1}}
    )
    assert reply.status == 200
    await cultivate.settled()
    assert not (await communities(cultivate))[HOUSING].is_private


async def test_the_directory_never_lists_a_private_channels_community(
    cultivate: Cultivate, three: dict[str, int]
) -> None:
    await cultivate.command("communities", user=BEN, channel=RANDOM)
    listing = json.dumps(await cultivate.ephemeral())
    assert "Housing policy" in listing
    assert "Board matters" not in listing and f"{SECRET}" not in listing
    # Not even to its own members: the directory is the workspace's list.
    await cultivate.command("communities", user=NOOR, channel=RANDOM)
    assert "Board matters" not in json.dumps(await cultivate.ephemeral(count=2))


@pytest.mark.parametrize(
    "value",
    ["private", "other_team", "0", "-1", "abc", "1 OR 1=1", "9" * 30, "", None, "missing"],
)
async def test_a_forged_join_press_is_refused_and_invites_nobody(
    cultivate: Cultivate, three: dict[str, int], value: str | None
) -> None:
    forged = str(three.get(value, value)) if value in three else value
    action: dict[str, Any] = {"action_id": f"directory_join:{three['private']}", "type": "button"}
    if value != "missing":
        action["value"] = forged
    reply = await cultivate.click(action, user=BEN, channel=RANDOM, message={"ts": "1.1"})
    assert reply.status == 200
    assert await answers_to(cultivate, 1) == UNKNOWN
    await cultivate.tick()
    assert cultivate.slack.calls_to("conversations.invite") == []
    assert await requests(cultivate) == []


async def test_a_join_press_with_a_malformed_action_id_is_a_4xx_not_a_5xx(
    cultivate: Cultivate, three: dict[str, int]
) -> None:
    for action_id in ("directory_join:abc", "directory_join:", "open_roster:x"):
        reply = await cultivate.click(
            {"action_id": action_id, "type": "button", "value": "1"}, user=BEN
        )
        assert reply.status < 500
    assert cultivate.slack.calls_to("conversations.invite") == []


async def test_a_private_community_is_by_invitation_whatever_its_members_stage_says(
    cultivate: Cultivate, three: dict[str, int], slack: FakeSlack
) -> None:
    await answer(cultivate, MEMBERS, community_id=three["private"], user=NOOR, membership="open")
    # Its coordinator posts an invitation elsewhere; Ben presses its Join.
    await cultivate.command("invite", user=NOOR, channel=SECRET)
    view = await cultivate.opened_view("invitation_form")
    assert "Ask to join" in json.dumps(view["blocks"])
    await cultivate.submit(view, {"channel": {"channel": RANDOM}}, user=NOOR)
    (posted,) = await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == RANDOM)
    ask = posted.args["blocks"][-1]["elements"][0]
    await cultivate.click(
        {"action_id": ask["action_id"], "type": "button", "value": ask["value"]},
        user=BEN,
        channel=RANDOM,
        message=posted.response["message"],
    )
    assert "asked the coordinators" in await answers_to(cultivate, 1)
    await cultivate.tick()
    assert [(r.user_id, r.state) for r in await requests(cultivate)] == [(BEN, "pending")]
    assert slack.calls_to("conversations.invite") == []  # only a coordinator's approval adds him
    assert BEN not in slack.workspace.channels[SECRET].members


async def test_a_private_communitys_buttons_show_nothing_to_people_outside_its_channel(
    cultivate: Cultivate, three: dict[str, int], slack: FakeSlack
) -> None:
    private = str(three["private"])
    clicks = [
        {"action_id": f"open_roster:{private}", "value": private},
        {"action_id": f"open_stage:{private}:scope", "value": f"{private}:scope"},
        {"action_id": f"open_invitation:{private}", "value": private},
    ]
    for number, action in enumerate(clicks, start=1):
        reply = await cultivate.click({**action, "type": "button"}, user=BEN)
        assert reply.status == 200
        told = await slack.wait_for(
            "chat.postMessage", lambda c: c.args["channel"] == BEN, count=number
        )
        assert told[-1].args["text"] == UNKNOWN
    assert slack.calls_to("views.open") == []
    # Carmen is in the channel (Slack says so), though no join event reached us: she sees it.
    await cultivate.click({**clicks[0], "type": "button"}, user=CARMEN)
    roster = await cultivate.opened_view("roster")
    assert "Board matters" in json.dumps(roster["blocks"])


# -- /cop start --------------------------------------------------------------------------


async def test_a_start_form_re_pointed_at_a_private_channel_is_refused(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    add_private_channel(slack, NOOR)
    await cultivate.command("start", user=BEN, channel=RANDOM)
    view = await cultivate.opened_view("community_start")
    for channel in (SECRET, "C0NOWHERE", "not a channel", ""):
        forged = {**view, "private_metadata": json.dumps({"channel": channel})}
        reply = await cultivate.submit(forged, {"name": {"name": "Mine now"}}, user=BEN)
        assert reply.status == 200
        assert reply.json["response_action"] == "errors"
        assert "channel you are in" in reply.json["errors"]["name"]
    reply = await cultivate.submit(
        {**view, "private_metadata": "{not json"}, {"name": {"name": "Mine now"}}, user=BEN
    )
    assert reply.json["response_action"] == "errors"
    assert await communities(cultivate) == {}
    assert [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == SECRET] == []


# -- splits, captures, introductions, the roster -----------------------------------------


async def test_a_split_by_a_non_coordinator_creates_no_channel(
    community: Cultivate,
    slack: FakeSlack,
) -> None:
    view = await close(community, reason="split")
    split = slack.views[view["id"]]
    answers = as_values({"sub1_name": "Breakaway", "sub1_members": [BEN]})
    reply = await community.submit(split, answers, user=BEN)
    assert reply.json["response_action"] == "update"
    assert "Only this community's coordinators" in json.dumps(reply.json["view"])
    for metadata in ('{"community": "abc"}', '{"community": 999}', "[]"):
        reply = await community.submit({**split, "private_metadata": metadata}, answers)
        assert reply.status == 200 and reply.json["response_action"] == "update"
        assert "Nothing was closed" in json.dumps(reply.json["view"])
    await community.settled()
    assert slack.calls_to("conversations.create") == []
    assert not is_closed(await housing(community))


async def test_a_forged_split_confirmation_for_a_closed_community_creates_no_channel(
    community: Cultivate,
    slack: FakeSlack,
) -> None:
    view = await close(community)  # concluded, not split
    answers = {"reason": "split", "closing_date": "2026-12-15", "capture_days": "14"}
    metadata = json.dumps({"community": 1, "answers": answers})
    split = {**view, "callback_id": "closure_confirm", "private_metadata": metadata}
    reply = await community.submit(split, as_values({"sub1_name": "Breakaway"}))
    assert reply.json["response_action"] == "update"
    assert "already closed" in json.dumps(reply.json["view"]) or "closed" in json.dumps(
        reply.json["view"]
    )
    assert "Nothing was closed" in json.dumps(reply.json["view"])
    assert slack.calls_to("conversations.create") == []


async def test_captures_come_only_from_members_and_only_until_the_closing_date(
    community: Cultivate,
    slack: FakeSlack,
    clock: ManualClock,
) -> None:
    await close(community)
    await community.settled()
    await community.tick()
    closure = next(
        e["value"]
        for b in prompts_in_channel(slack)[0]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    )
    # An outsider presses the channel's button: no form, and a reason.
    share = {"action_id": "capture_share", "type": "button", "value": closure}
    await community.click(share, user=LIAM)
    (told,) = await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == LIAM)
    assert "Only the community's members" in told.args["text"]
    assert [
        c
        for c in slack.calls_to("views.open")
        if c.args["view"].get("callback_id") == "capture_form"
    ] == []
    # A forged form from the outsider is refused on saving.
    form = {
        "id": "V0FORGED",
        "type": "modal",
        "callback_id": "capture_form",
        "private_metadata": json.dumps({"closure": int(closure)}),
        "blocks": [],
    }
    reply = await community.submit(form, {"lessons": {"lessons": "I was never here"}}, user=LIAM)
    assert "Only the community's members" in reply.json["errors"]["achievements"]
    # A member who left may still share, until the closing date (15 December).
    await left(community, CARMEN)
    await community.settled()
    reply = await community.submit(form, {"lessons": {"lessons": "Plenty"}}, user=CARMEN)
    assert reply.body == ""
    clock.advance(timedelta(days=15))  # 16 December
    reply = await community.submit(form, {"lessons": {"lessons": "Too late"}}, user=CARMEN)
    assert "closing date" in reply.json["errors"]["achievements"]
    await community.click(share, user=BEN)
    (told,) = await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == BEN and "Sharing" in c.args["text"]
    )
    assert "closed on the community's closing date" in told.args["text"]
    assert [(c.user_id, c.answers) for c in await stored(community, KnowledgeCapture)] == [
        (CARMEN, {"lessons": "Plenty"})
    ]


async def test_introductions_come_only_from_members_of_an_open_community(
    cultivate: Cultivate, three: dict[str, int], slack: FakeSlack
) -> None:
    form = {
        "id": "V0INTRO",
        "type": "modal",
        "callback_id": "introduction",
        "blocks": [],
    }
    intro = {"role": {"role": "I'm in, trust me"}}
    for community_id in (three["private"], three["public"], three["other_team"], "x", None):
        forged = {**form, "private_metadata": json.dumps({"community": community_id})}
        reply = await cultivate.submit(forged, intro, user=BEN)
        assert reply.status == 200 and reply.json["response_action"] == "errors"
    reply = await cultivate.click(
        {"action_id": "introduce", "type": "button", "value": str(three["private"])}, user=BEN
    )
    assert reply.status == 200
    await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == BEN)
    assert slack.calls_to("views.open") == []
    async with cultivate.database.session() as session:
        assert (await session.exec(select(MemberProfile))).all() == []
    # A member can.
    await joined(cultivate, BEN)
    await cultivate.settled()
    forged = {**form, "private_metadata": json.dumps({"community": three["public"]})}
    reply = await cultivate.submit(forged, intro, user=BEN)
    assert reply.json["response_action"] == "update"


async def test_message_counts_in_the_roster_are_for_coordinators_only(
    cultivate: Cultivate,
) -> None:
    await start_community(cultivate, timezone="UTC")
    await joined(cultivate, CARMEN)
    for _ in range(3):
        await cultivate.event(
            {"type": "message", "user": CARMEN, "channel": HOUSING, "channel_type": "channel"}
        )
    await cultivate.settled()
    await cultivate.command("roster", user=CARMEN)
    as_member = json.dumps((await cultivate.opened_view("roster"))["blocks"])
    assert f"<@{CARMEN}> \\u00b7 *Active*" in as_member  # her level, not her count
    assert "3 messages" not in as_member and "in 30 days" not in as_member
    await cultivate.command("roster", user=ASHA)
    as_coordinator = json.dumps((await cultivate.opened_view("roster", count=2))["blocks"])
    assert "3 messages on 1 day in 30 days" in as_coordinator


# -- /cop adopt --------------------------------------------------------------------------


async def coordinators(cultivate: Cultivate) -> list[str]:
    async with cultivate.database.session() as session:
        rows = (await session.exec(select(StageRevision))).all()
    roles = [r for r in rows if r.stage == ROLES.key]
    return list(max(roles, key=lambda r: r.version).answers["coordinators"])


async def test_a_workspace_admin_adopts_a_community_whose_coordinators_have_left(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await start_community(cultivate, timezone="UTC")
    slack.workspace.people[NOOR].is_admin = True

    # Asha, its coordinator, is still in the channel: nobody may adopt it.
    await cultivate.command("adopt", user=NOOR)
    assert "still has a coordinator" in (await cultivate.ephemeral())["text"]

    slack.workspace.leave(HOUSING, ASHA)
    await cultivate.command("adopt", user=CARMEN)  # in the channel, but not an admin
    assert "workspace admin or owner" in (await cultivate.ephemeral(count=2))["text"]
    assert await coordinators(cultivate) == [ASHA]

    await cultivate.command("adopt", user=NOOR)
    assert "You now coordinate" in (await cultivate.ephemeral(count=3))["text"]
    assert await coordinators(cultivate) == [ASHA, NOOR]
    (told,) = await slack.wait_for(
        "chat.postMessage",
        lambda c: c.args["channel"] == HOUSING and "now coordinates" in c.args["text"],
    )
    assert told.args["text"].startswith(f"<@{NOOR}>")

    await cultivate.command("adopt", user=NOOR)  # twice changes nothing
    assert "already coordinate" in (await cultivate.ephemeral(count=4))["text"]
    await cultivate.command("adopt", user=NOOR, channel=RANDOM)
    assert "isn't a community" in (await cultivate.ephemeral(count=5))["text"]


# -- forged and malformed ids anywhere ---------------------------------------------------

FORMS = (
    "community_start",
    "stage_form",
    "stage_list_item",
    "closure_form",
    "capture_form",
    "closure_confirm",
    "archive_channel_form",
    "join_decline_form",
    "introduction",
    "welcome_editor",
    "meeting_form",
    "meeting_notes",
    "launch_form",
    "perspective_form",
    "invitation_form",
    "sustaining_settings",
    "policy_form",
)
KEYS = (
    "community",
    "closure",
    "request",
    "meeting",
    "occurrence",
    "session",
    "channel",
    "version",
    "index",
    "parent",
    "area",
)


@pytest.mark.parametrize("callback_id", FORMS)
async def test_forged_metadata_in_any_form_is_refused_never_a_5xx(
    cultivate: Cultivate, three: dict[str, int], slack: FakeSlack, callback_id: str
) -> None:
    forgeries = [
        {key: "abc" for key in KEYS},
        {key: three["other_team"] for key in KEYS},
        {key: three["private"] for key in KEYS},
        {key: -1 for key in KEYS},
        {key: "9" * 40 for key in KEYS},
        {key: None for key in KEYS},
    ]
    before = await communities(cultivate)
    for metadata in [*(json.dumps(f) for f in forgeries), "{not json", "[]", ""]:
        view = {"type": "modal", "callback_id": callback_id, "private_metadata": metadata}
        reply = await cultivate.submit(view, {}, user=BEN)
        assert reply.status < 500, (metadata, reply.body)
    await cultivate.settled()
    assert await communities(cultivate) == before
    for method in ("conversations.create", "conversations.invite", "canvases.create"):
        assert slack.calls_to(method) == [], method


async def test_a_channel_made_private_takes_rsvps_only_from_the_people_in_it(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await start_community(cultivate, timezone="UTC")
    await plan_meeting(cultivate, meeting_values())
    (announcement,) = announcements(slack)
    going = next(
        e
        for b in announcement["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith("rsvp:")
    )
    slack.workspace.channels[HOUSING].is_private = True
    converted = {"type": "message", "subtype": "channel_convert_to_private", "user": ASHA}
    await cultivate.event({**converted, "channel": HOUSING, "channel_type": "group"})
    await cultivate.settled()
    click = {"action_id": going["action_id"], "type": "button", "value": going["value"]}
    await cultivate.click(click, user=BEN, channel=HOUSING, message=announcement)
    (told,) = await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == BEN)
    assert "no longer exists" in told.args["text"]
    await cultivate.click(click, user=CARMEN, channel=HOUSING, message=announcement)
    await cultivate.settled()
    async with cultivate.database.session() as session:
        assert [r.user_id for r in (await session.exec(select(Rsvp))).all()] == [CARMEN]


async def test_a_private_community_splits_into_private_channels(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    add_private_channel(slack, NOOR, CARMEN)
    await start_community(cultivate, name="Board matters", user=NOOR, channel=SECRET)
    await cultivate.command("close", user=NOOR, channel=SECRET)
    view = await cultivate.opened_view("closure_form")
    values = close_values(reason="split", recipients=[NOOR])
    assert (await cultivate.submit(view, values, user=NOOR)).status == 200
    split = slack.views[view["id"]]
    answers = as_values({"sub1_name": "Board finance", "sub1_members": [CARMEN]})
    assert (await cultivate.submit(split, answers, user=NOOR)).body == ""
    await slack.wait_for("chat.postMessage", lambda c: "grows out of" in c.args["text"])
    (created,) = [c for c in slack.calls_to("conversations.create") if c.ok]
    channel_id = created.response["channel"]["id"]
    assert slack.workspace.channels[channel_id].is_private
    assert (await communities(cultivate))[channel_id].is_private


async def test_app_home_shows_a_private_community_only_while_its_coordinator_is_in_the_channel(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    add_private_channel(slack, NOOR)
    await start_community(cultivate, name="Board matters", user=NOOR, channel=SECRET)
    assert "Board matters" in json.dumps(await open_home(cultivate, NOOR))
    await left(cultivate, NOOR, channel=SECRET)
    await cultivate.settled()
    assert "Board matters" not in json.dumps(await open_home(cultivate, NOOR))


BUTTONS = (
    "directory_join:{n}",
    "join_approve",
    "join_decline",
    "open_roster:{n}",
    "open_stage:{n}:scope",
    "open_invitation:{n}",
    "invitation_join",
    "introduce",
    "capture_share",
    "rsvp:going",
    "meeting_edit:{n}",
    "meeting_cancel:{n}",
    "meeting_write_notes",
    "terms_agree",
    "terms_mark_agreed",
    "terms_redraft",
    "milestone_done",
    "closure_archive_channel",
    "policy_starter:privacy",
    "policy_edit:privacy",
    "policy_agree:privacy",
)


@pytest.mark.parametrize("action_id", BUTTONS)
async def test_forged_button_values_are_refused_never_a_5xx(
    cultivate: Cultivate, three: dict[str, int], slack: FakeSlack, action_id: str
) -> None:
    other, private = three["other_team"], three["private"]
    values = ["abc", str(other), str(private), f"{private}:scope", "-1", "²", "9" * 40, ""]
    for value in values:
        action = {"action_id": action_id.format(n=private), "type": "button", "value": value}
        reply = await cultivate.click(action, user=BEN, channel=RANDOM, message={"ts": "1.1"})
        assert reply.status == 200, (value, reply.body)
    await cultivate.settled()
    await cultivate.tick()
    for method in ("views.open", "conversations.invite", "conversations.archive"):
        assert slack.calls_to(method) == [], method
    assert await requests(cultivate) == []
