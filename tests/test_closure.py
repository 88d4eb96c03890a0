"""Closing a community: `/cop close`, capturing what members learned, reminders, the
celebration, the archive, sub-communities, and the community read-only afterwards."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.catalogue import ROLES, SCOPE
from bot.fakeslack import FakeSlack
from bot.services.communities import community_in_channel
from bot.services.lifecycle import is_closed
from storage.models import Community, KnowledgeCapture, ScheduledSend, StageRevision
from storage.repositories.scheduled import OPEN_STATES
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, Cultivate
from tests.test_communities import start_community
from tests.test_meetings import meeting_values
from tests.test_stages import as_values, open_stage
from tests.test_welcomes import joined

TYPED = "We need it <!channel> & *now* [see](http://x.example) # really"
MEMBERS = (ASHA, BEN, CARMEN, NOOR)


@pytest.fixture
async def community(cultivate: Cultivate) -> Cultivate:
    await start_community(cultivate)
    scope = await open_stage(cultivate, SCOPE)
    await cultivate.submit(scope, as_values({"need": TYPED, "aims": "Share what works"}))
    roles = await open_stage(cultivate, ROLES)
    await cultivate.submit(roles, as_values({"coordinators": [ASHA], "facilitators": [BEN]}))
    for person in (BEN, CARMEN, NOOR):
        await joined(cultivate, person)
    await cultivate.settled()
    cultivate.slack.clear()
    return cultivate


def close_values(**changes: Any) -> dict[str, dict[str, Any]]:
    answers = {
        "reason": "concluded",
        "closing_date": "2026-12-15",
        "capture_days": "14",
        "recipients": [ASHA],
    } | changes
    return as_values(answers)


async def close(cultivate: Cultivate, **changes: Any) -> dict[str, Any]:
    """Run `/cop close` as the coordinator and submit the form; returns the submitted view."""
    await cultivate.command("close")
    view = await cultivate.opened_view("closure_form")
    reply = await cultivate.submit(view, close_values(**changes))
    assert reply.status == 200, reply.body
    return view


def dms_to(slack: FakeSlack, person: str, words: str) -> list[dict[str, Any]]:
    return [
        c.args
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args["channel"] == person and words in c.args["text"]
    ]


async def every_member_invited(community: Cultivate, slack: FakeSlack) -> None:
    """Wait for each member's capture DM (they go out concurrently, in any order), and for
    the listener that sent them to have recorded them as sent."""
    for person in MEMBERS:
        await slack.wait_for("chat.postMessage", lambda c, p=person: c.args["channel"] == p)
    await community.settled()


def prompts_in_channel(slack: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in slack.messages(HOUSING) if "please share what you learned" in m["text"]]


async def open_rows(cultivate: Cultivate) -> list[ScheduledSend]:
    async with cultivate.database.session() as session:
        rows = await session.exec(
            select(ScheduledSend).where(col(ScheduledSend.state).in_(OPEN_STATES))
        )
        return list(rows.all())


async def share(cultivate: Cultivate, user: str, **answers: str) -> None:
    """Press "Share what you learned" and submit the form that opens."""
    before = sum(
        1
        for c in cultivate.slack.calls_to("views.open")
        if c.ok and c.args["view"].get("callback_id") == "capture_form"
    )
    await cultivate.click(
        {"action_id": "capture_share", "type": "button", "value": await closure_id(cultivate)},
        user=user,
    )
    view = await cultivate.opened_view("capture_form", count=before + 1)
    reply = await cultivate.submit(view, as_values(answers), user=user)
    assert reply.body == "", reply.body


async def closure_id(cultivate: Cultivate) -> str:
    prompt = prompts_in_channel(cultivate.slack)[0]
    return next(
        e["value"] for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"]
    )


async def test_a_member_who_is_not_a_coordinator_is_told_who_can_and_gets_no_form(
    community: Cultivate, slack: FakeSlack
) -> None:
    reply = await community.command("close", user=BEN)
    assert reply.status == 200
    answer = await community.ephemeral()
    assert "Only this community's coordinators can close it" in answer["text"]
    assert f"<@{ASHA}>" in answer["text"]
    await community.settled()
    assert slack.calls_to("views.open") == []


async def test_closing_asks_the_channel_and_every_member_and_keeps_each_answer(
    community: Cultivate, slack: FakeSlack
) -> None:
    await close(community)
    await every_member_invited(community, slack)
    assert len(prompts_in_channel(slack)) == 1
    for person in MEMBERS:
        [dm] = dms_to(slack, person, "What did you learn")
        assert dm["blocks"][-1]["elements"][0]["action_id"] == "capture_share"

    await share(community, BEN, achievements=TYPED, lessons="Start small")
    await share(community, BEN, achievements="A toolkit <b>", resources="https://x.example")
    async with community.database.session() as session:
        kept = (await session.exec(select(KnowledgeCapture).order_by(KnowledgeCapture.id))).all()
    assert [(c.user_id, c.version) for c in kept] == [(BEN, 1), (BEN, 2)]
    assert kept[0].answers == {"achievements": TYPED, "lessons": "Start small"}
    # The second time, the form opened with the first answer filled in.
    latest_form = slack.calls_to("views.open")[-1].args["view"]
    shown = {b["block_id"]: b for b in latest_form["blocks"] if b["type"] == "input"}
    assert shown["achievements"]["element"]["initial_value"] == TYPED

    # Coordinators see who has answered, not what.
    await community.event({"type": "app_home_opened", "user": ASHA, "tab": "home"})
    calls = await slack.wait_for("views.publish", lambda c: c.args["user_id"] == ASHA)
    home = str(calls[-1].args["view"])
    assert f"<@{BEN}>" in home and "Still to answer: 3" in home
    assert "toolkit" not in home


async def test_cop_archive_uploads_a_markdown_file_with_the_captured_text_escaped(
    community: Cultivate, slack: FakeSlack
) -> None:
    await close(community)
    await every_member_invited(community, slack)
    await share(community, CARMEN, achievements=TYPED, advice="Meet <monthly>")
    await community.command("archive")
    await slack.wait_for("files.completeUploadExternal")
    [file] = [f for f in slack.files if f.filename == "community-archive.md"]
    assert file.channel == HOUSING
    document = file.content.decode()
    assert document.startswith("# Archive: Housing policy\n")
    escaped = "We need it &lt;!channel&gt; &amp; \\*now\\* \\[see\\](http://x.example) \\# really"
    # The stage answer (the scope's need) and the captured text, both escaped.
    assert document.count(escaped) >= 2
    assert "Meet &lt;monthly&gt;" in document
    assert "<!channel>" not in document
    assert "## What members learned" in document and "Share what works" in document
    # The recipients are sent a link to it.
    await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == ASHA and "archive" in c.args["text"]
    )


async def test_reminders_go_only_to_those_who_have_not_answered_at_most_twice(
    community: Cultivate, slack: FakeSlack
) -> None:
    await close(community, closing_date="2026-12-31", capture_days="20")
    await every_member_invited(community, slack)
    await share(community, BEN, achievements="Done it")
    for days in (3, 4, 10, 30):
        community.runtime.clock.advance(timedelta(days=days))
        await community.tick()
    for person in (ASHA, CARMEN, NOOR):
        assert len(dms_to(slack, person, "A reminder")) == 2, person
    assert dms_to(slack, BEN, "A reminder") == []


async def test_after_closure_nothing_is_pending_and_stages_are_read_only(
    community: Cultivate, slack: FakeSlack
) -> None:
    before = {r.id for r in await open_rows(community)}
    assert before  # the newcomers' welcomes, still waiting for their batch
    scope = await open_stage(community, SCOPE)  # opened before the closure, saved after
    await close(community)
    await every_member_invited(community, slack)
    await community.tick()
    rows = await open_rows(community)
    # Only the closure's own sends remain; everything the community had pending is cancelled.
    assert {r.kind for r in rows} == {"capture_reminder", "closure_celebration"}
    assert not before & {r.id for r in rows}
    record = await community_in_channel(community.database, team_id="T0CULTIV8", channel_id=HOUSING)
    assert record is not None and is_closed(record)

    reply = await community.submit(scope, as_values({"need": "Changed"}))
    assert "closed" in reply.json["errors"]["need"]
    async with community.database.session() as session:
        needs = (
            await session.exec(select(StageRevision).where(StageRevision.stage == SCOPE.key))
        ).all()
    assert [r.answers["need"] for r in needs] == [TYPED]

    # Nor can a meeting be planned any more.
    await community.command("meeting")
    form = await community.opened_view("meeting_form")
    refused = await community.submit(form, meeting_values())
    assert "closed" in str(refused.json["errors"])

    # The closing date: the celebration, and afterwards nothing pending at all.
    community.runtime.clock.advance(timedelta(days=15))
    await community.tick()
    [celebration] = [m for m in slack.messages(HOUSING) if "Celebrating" in m["text"]]
    body = celebration["blocks"][0]["text"]["text"]
    assert f"<@{BEN}>" in body and "facilitating" in body
    assert await open_rows(community) == []

    # Someone joining now is pointed to the archive, once, and not welcomed.
    await joined(community, "U0LIAM", event_id="Ev1")
    await joined(community, "U0LIAM", event_id="Ev1", retry_num=1)
    await community.settled()
    await community.tick()
    assert len(dms_to(slack, "U0LIAM", "This community has closed")) == 1


async def test_a_double_submission_or_a_second_heartbeat_sends_nothing_twice(
    community: Cultivate, slack: FakeSlack
) -> None:
    await community.command("close")
    view = await community.opened_view("closure_form")
    first = await community.submit(view, close_values())
    second = await community.submit(view, close_values())
    assert first.body == ""
    assert "closed" in second.json["errors"]["reason"]
    await every_member_invited(community, slack)
    await community.tick()
    assert len(prompts_in_channel(slack)) == 1
    for person in MEMBERS:
        assert len(dms_to(slack, person, "What did you learn")) == 1
    community.runtime.clock.advance(timedelta(days=15))
    await community.tick()
    await community.tick()
    assert len([m for m in slack.messages(HOUSING) if "Celebrating" in m["text"]]) == 1
    assert len([f for f in slack.files if f.filename == "community-archive.md"]) == 1


async def test_a_split_creates_the_channels_invites_the_members_and_copies_the_scope(
    community: Cultivate, slack: FakeSlack
) -> None:
    view = await close(community, reason="split")
    split = slack.views[view["id"]]
    assert split["callback_id"] == "split_form"
    reply = await community.submit(
        split,
        as_values(
            {
                "sub1_name": "Housing Finance",
                "sub1_members": [BEN, CARMEN],
                "sub2_name": "Rural housing",
                "sub2_members": [NOOR],
            }
        ),
    )
    assert reply.body == "", reply.body
    await slack.wait_for("chat.postMessage", lambda c: "grows out of" in c.args["text"], count=2)
    created = [c.response["channel"] for c in slack.calls_to("conversations.create") if c.ok]
    assert [c["name"] for c in created] == ["housing-finance", "rural-housing"]
    invites = {
        c.args["channel"]: set(c.args["users"].split(","))
        for c in slack.calls_to("conversations.invite")
    }
    assert invites[created[0]["id"]] == {BEN, CARMEN, ASHA}
    assert invites[created[1]["id"]] == {NOOR, ASHA}
    parent = await community_in_channel(community.database, team_id="T0CULTIV8", channel_id=HOUSING)
    assert parent is not None
    for channel in created:
        child = await community_in_channel(
            community.database, team_id="T0CULTIV8", channel_id=channel["id"]
        )
        assert child is not None and not is_closed(child)
        assert child.stages[SCOPE.key].answers == parent.stages[SCOPE.key].answers
        assert child.community.domain == parent.community.domain
    async with community.database.session() as session:
        names = (await session.exec(select(Community.name).order_by(Community.id))).all()
    assert names == ["Housing policy", "Housing Finance", "Rural housing"]


async def test_export_sends_markdown_and_json_and_the_channel_is_archived_after_confirming(
    community: Cultivate, slack: FakeSlack
) -> None:
    await community.command("export", user=BEN)
    assert "Only this community's coordinators" in (await community.ephemeral())["text"]
    await community.command("export")
    await slack.wait_for("files.completeUploadExternal")
    names = sorted(f.filename for f in slack.files)
    assert names == ["community-record.json", "community-record.md"]
    record = next(f for f in slack.files if f.filename.endswith(".json"))
    assert json.loads(record.content)["stages"]["scope"]["need"] == TYPED

    await close(community)
    community.runtime.clock.advance(timedelta(days=15))
    await community.tick()
    [celebration] = [m for m in slack.messages(HOUSING) if "Celebrating" in m["text"]]
    await community.click(
        {"action_id": "closure_archive_channel", "type": "button", "value": "confirm"},
        channel=HOUSING,
        message=celebration,
    )
    confirm = await community.opened_view("archive_channel_form")
    assert not slack.workspace.channels[HOUSING].is_archived  # nothing before the confirmation
    assert (await community.submit(confirm, {})).body == ""
    await slack.wait_for("conversations.archive")
    assert slack.workspace.channels[HOUSING].is_archived
