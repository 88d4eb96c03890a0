"""`/cop start`, `/cop help`, unknown subcommands, and `/cop status`."""

from __future__ import annotations

from sqlmodel import select

from fakeslack import FakeSlack
from storage.models import Community, Membership, StageRevision
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, TEAM, Cultivate
from tests.steps import start_community


async def test_help_lists_every_subcommand(cultivate: Cultivate) -> None:
    reply = await cultivate.command("help")
    text = reply.json["text"]
    for name in ("start", "scope", "governance", "members", "roles", "ways", "status"):
        assert f"`/cop {name}" in text
    assert (await cultivate.command("")).json["text"] == text


async def test_unknown_subcommand_points_to_help_and_escapes_what_was_typed(
    cultivate: Cultivate,
) -> None:
    reply = await cultivate.command("<!channel>please")
    assert reply.status == 200
    answer = reply.json
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert "/cop help" in answer["text"]
    assert "<!channel>" not in answer["text"]
    assert "&lt;!channel&gt;" in answer["text"]


async def test_start_opens_a_modal_with_the_starters_timezone(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await cultivate.command("start", user=CARMEN)
    view = await cultivate.opened_view("community_start")
    by_block = {b["block_id"]: b for b in view["blocks"]}
    assert by_block["timezone"]["element"]["initial_option"]["value"] == "America/New_York"
    assert by_block["name"]["element"]["initial_value"] == "Housing policy"
    assert slack.calls_to("users.info")[0].args["user"] == CARMEN


async def test_start_makes_the_channel_a_community_with_the_starter_coordinating(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await start_community(cultivate, name="Housing <!channel> policy", timezone="Europe/London")
    async with cultivate.database.session() as session:
        community = (await session.exec(select(Community))).one()
        roles = (await session.exec(select(StageRevision))).one()
        memberships = (await session.exec(select(Membership))).all()
    assert (community.team_id, community.channel_id) == (TEAM, HOUSING)
    assert community.name == "Housing <!channel> policy"
    assert community.timezone == "Europe/London"
    assert (roles.stage, roles.answers, roles.edited_by) == (
        "roles",
        {"coordinators": [ASHA]},
        ASHA,
    )
    # Everyone in the channel at the start is a member from its beginning (the app is not):
    # recorded before the announcement, and none of them a newcomer to welcome.
    assert sorted(m.user_id for m in memberships) == sorted([ASHA, CARMEN, NOOR])
    assert {(m.joined_at, m.welcomed, m.left_at) for m in memberships} == {
        (community.created_at, False, None)
    }

    posted = await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == HOUSING)
    text = posted[0].args["text"]
    assert "Housing &lt;!channel&gt; policy" in text
    assert "<!channel>" not in text


async def test_start_refuses_an_unknown_timezone_and_saves_nothing(cultivate: Cultivate) -> None:
    await cultivate.command("start")
    view = await cultivate.opened_view("community_start")
    reply = await cultivate.submit(
        view, {"name": {"name": "Housing"}, "timezone": {"timezone": "Mars/Olympus"}}
    )
    assert reply.json["response_action"] == "errors"
    assert "timezone" in reply.json["errors"]
    async with cultivate.database.session() as session:
        assert (await session.exec(select(Community))).all() == []


async def test_start_in_a_channel_that_is_already_a_community_says_so(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await start_community(cultivate, timezone="UTC")
    await cultivate.command("start", user=BEN)
    answer = await cultivate.ephemeral()
    assert "already the community" in answer["text"]
    assert len(slack.calls_to("views.open")) == 1


async def test_a_second_start_modal_submitted_late_does_not_make_a_second_community(
    cultivate: Cultivate,
) -> None:
    await cultivate.command("start")
    first = await cultivate.opened_view("community_start")
    await cultivate.command("start", user=BEN)
    second = await cultivate.opened_view("community_start", count=2)
    assert (await cultivate.submit(first, {"name": {"name": "One"}})).status == 200
    reply = await cultivate.submit(second, {"name": {"name": "Two"}}, user=BEN)
    assert reply.json["response_action"] == "errors"
    async with cultivate.database.session() as session:
        assert [c.name for c in (await session.exec(select(Community))).all()] == ["One"]


async def test_stage_command_without_a_community_says_how_to_start(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await cultivate.command("scope")
    answer = await cultivate.ephemeral()
    assert "/cop start" in answer["text"]
    assert slack.calls_to("views.open") == []


async def test_expired_trigger_is_logged_and_answered_not_a_crash(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await start_community(cultivate, timezone="UTC")
    slack.fail_next("views.open", "expired_trigger_id")
    reply = await cultivate.command("scope")
    assert reply.status == 200
    answer = await cultivate.ephemeral()
    assert "try again" in answer["text"]
    # The app is still fine: the next attempt opens the form.
    await cultivate.command("scope")
    assert await cultivate.opened_view("stage_form")
