"""Closing a community: `/cop close`, capturing what members learned, reminders, the
celebration, the archive, sub-communities, and the community read-only afterwards."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.catalogue import MEMBERS as MEMBERS_STAGE
from bot.catalogue import SCOPE
from bot.services.communities import community_in_channel, is_closed
from fakeslack import FakeSlack
from fakeslack.workspace import Channel
from storage.models import (
    Community,
    Invitation,
    InvitationClick,
    JoinRequest,
    KnowledgeCapture,
    Meeting,
    MeetingOccurrence,
    Membership,
    Perspective,
    Rsvp,
    ScheduledSend,
    StageRevision,
    SustainingSettings,
    TermsAgreement,
    TermsDraft,
    WelcomeSettings,
)
from storage.repositories.scheduled import OPEN_STATES
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, TEAM, Cultivate
from tests.steps import (
    LIAM,
    MEMBERS,
    TYPED,
    add_milestone,
    announcements,
    answer,
    as_values,
    button_in,
    choose_level,
    click_in_dm,
    click_in_listing,
    close,
    close_values,
    community_with_roles_and_members,  # noqa: F401 (a fixture)
    every_member_invited,
    housing,
    inputs_of,
    joined,
    launch,
    meeting_values,
    open_stage,
    plan_meeting,
    press,
    prompts_in_channel,
    sent_to,
    share,
    stored,
)


def dms_to(slack: FakeSlack, person: str, words: str) -> list[dict[str, Any]]:
    return [
        c.args
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args["channel"] == person and words in c.args["text"]
    ]


async def open_rows(cultivate: Cultivate) -> list[ScheduledSend]:
    async with cultivate.database.session() as session:
        rows = await session.exec(
            select(ScheduledSend).where(col(ScheduledSend.state).in_(OPEN_STATES))
        )
        return list(rows.all())


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
    shown = inputs_of(latest_form)
    assert shown["achievements"]["element"]["initial_value"] == TYPED

    # Coordinators see who has answered, not what.
    await community.event({"type": "app_home_opened", "user": ASHA, "tab": "home"})
    calls = await slack.wait_for("views.publish", lambda c: c.args["user_id"] == ASHA)
    home = str(calls[-1].args["view"])
    assert f"<@{BEN}>" in home and "Still to answer: 3" in home
    assert "toolkit" not in home


async def test_closings_rows_say_where_they_post_so_one_scheduler_paces_each_channel(
    community: Cultivate, slack: FakeSlack
) -> None:
    await close(community)
    await every_member_invited(community, slack)
    async with community.database.session() as session:
        rows = (await session.exec(select(ScheduledSend))).all()
    posting = {(r.kind, r.channel) for r in rows if r.kind.startswith(("capture", "closure"))}
    people = {
        (kind, person) for kind in ("capture_invite", "capture_reminder") for person in MEMBERS
    }
    assert posting == {("capture_prompt", HOUSING), ("closure_celebration", HOUSING)} | people


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
    assert is_closed(await housing(community))

    reply = await community.submit(scope, as_values({"need": "Changed"}))
    assert "closed" in reply.json["errors"]["need"]
    async with community.database.session() as session:
        needs = (
            await session.exec(select(StageRevision).where(StageRevision.stage == SCOPE.key))
        ).all()
    assert [r.answers["need"] for r in needs] == [TYPED]

    # Nor can a meeting be planned any more: a read-only note says why, and offers no Save.
    await community.command("meeting")
    [note] = await slack.wait_for(
        "views.open", lambda c: c.args["view"]["title"]["text"] == "Plan a meeting"
    )
    assert "submit" not in note.args["view"] and "callback_id" not in note.args["view"]
    assert "meetings are cancelled" in json.dumps(note.args["view"]["blocks"])

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
    await community.submit(view, close_values())
    confirm = dict(slack.views[view["id"]])
    first = await community.submit(confirm, {})
    second = await community.submit(confirm, {})
    assert first.body == ""
    assert second.json["response_action"] == "update"
    assert "community is closed" in json.dumps(second.json["view"])
    assert "Nothing was closed" in json.dumps(second.json["view"])
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
    assert split["callback_id"] == "closure_confirm"
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
    # Members left out of both can find them from the parent's channel.
    [signpost] = await slack.wait_for(
        "chat.postMessage",
        lambda c: c.args["channel"] == HOUSING and "goes on as" in c.args["text"],
    )
    assert signpost.args["text"] == (
        f"🌱 *Housing policy* goes on as *Housing Finance* (<#{created[0]['id']}>) and "
        f"*Rural housing* (<#{created[1]['id']}>): join the one that fits your work."
    )
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
    assert names == ["community-record.docx", "community-record.json", "community-record.md"]
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


# -- read-only after closure: meetings, milestones and the rest -------------------------------


async def meeting_rows(cultivate: Cultivate) -> list[Meeting]:
    async with cultivate.database.session() as session:
        return list((await session.exec(select(Meeting).order_by(col(Meeting.id)))).all())


async def test_closing_cancels_the_meetings_to_come_shows_it_and_refuses_rsvps(
    community: Cultivate, slack: FakeSlack
) -> None:
    await plan_meeting(community, meeting_values(recurrence="weekly"))
    [announced] = announcements(slack)
    going = button_in(announced, "rsvp:going")
    await close(community)

    # The announcement now says it is cancelled, as when a coordinator cancels a meeting.
    updated = await slack.wait_for("chat.update", lambda c: c.args["ts"] == announced["ts"])
    assert "Cancelled" in updated[-1].args["blocks"][0]["text"]["text"]
    assert announcements(slack) == []  # no RSVP buttons left in the channel
    [meeting] = await meeting_rows(community)
    assert meeting.cancelled_at is not None and meeting.cancelled_by == ASHA
    async with community.database.session() as session:
        sessions = (await session.exec(select(MeetingOccurrence))).all()
    assert len(sessions) == 2 and all(o.cancelled_at is not None for o in sessions)

    # A click on a button someone still sees (an old client) is refused, and nothing is kept.
    await community.click(
        {"action_id": going["action_id"], "type": "button", "value": going["value"]},
        user=CARMEN,
        channel=HOUSING,
        message=announced,
    )
    [refused] = await slack.wait_for("chat.postEphemeral", lambda c: c.args["user"] == CARMEN)
    assert "community is closed" in refused.args["text"]
    assert "no longer take answers" in refused.args["text"]
    async with community.database.session() as session:
        assert (await session.exec(select(Rsvp))).all() == []


async def test_after_closure_meetings_and_milestones_cannot_be_changed(
    community: Cultivate, slack: FakeSlack
) -> None:
    await add_milestone(community, title="Pilot", due="2027-06-20", owner=BEN)
    await plan_meeting(community, meeting_values())
    await community.command("meetings")
    listing = await community.ephemeral()
    edit, cancel = button_in(listing, "meeting_edit:"), button_in(listing, "meeting_cancel:")
    # An edit form opened before the closure, submitted after it.
    await click_in_listing(community, listing, edit)
    opened_edit = await community.opened_view("meeting_form", count=2)
    record = await community_in_channel(community.database, team_id=TEAM, channel_id=HOUSING)
    assert record is not None
    governance_before = record.stages["governance"].version
    await close(community)
    await slack.wait_for("chat.update")  # the meeting was cancelled by the closure
    [before] = await meeting_rows(community)

    # Saving the edit: refused on the form's first field, nothing stored.
    reply = await community.submit(opened_edit, meeting_values(title="Moved"))
    assert "community is closed" in reply.json["errors"]["title"]
    # Changing it again or cancelling it from the listing: told why, privately.
    await click_in_listing(community, listing, edit)
    [told] = await slack.wait_for(
        "chat.postMessage", lambda c: "community is closed" in c.args["text"]
    )
    assert told.args["channel"] == ASHA
    await click_in_listing(community, listing, cancel)
    assert "community is closed" in (await community.ephemeral(count=2))["text"]
    # Planning a new one (here, the launch workshop) offers no form, only why.
    await community.command("launch")
    [note] = await slack.wait_for(
        "views.open", lambda c: c.args["view"]["title"]["text"] == "Launch"
    )
    assert "submit" not in note.args["view"]
    assert "community is closed" in json.dumps(note.args["view"]["blocks"])
    [after] = await meeting_rows(community)
    assert (after.title, after.plan_version, after.cancelled_at) == (
        before.title,
        before.plan_version,
        before.cancelled_at,
    )
    # The edit button opened no form after the closure: only the plan and the early edit.
    forms = [
        c
        for c in slack.calls_to("views.open")
        if c.args["view"].get("callback_id") == "meeting_form"
    ]
    assert len(forms) == 2

    # Marking the milestone done, even with a reminder's button: refused, nothing saved.
    value = {"community": record.community.id, "title": "Pilot", "due": "2027-06-20"}
    await community.click(
        {"action_id": "milestone_done", "type": "button", "value": json.dumps(value)},
        user=BEN,
        channel=HOUSING,
        message={"ts": "1.3", "blocks": []},
    )
    assert "milestones can no longer be changed" in (await community.ephemeral(count=3))["text"]
    record = await community_in_channel(community.database, team_id=TEAM, channel_id=HOUSING)
    assert record is not None
    assert record.stages["governance"].version == governance_before
    assert "done" not in record.stages["governance"].answers["milestones"][0]


async def test_when_slack_refuses_a_canvas_the_archive_is_a_file_and_the_coordinator_told(
    community: Cultivate, slack: FakeSlack
) -> None:
    await close(community)
    slack.fail_next("canvases.create", "team_tier_cannot_create_canvases")
    await community.command("archive")
    told = await community.ephemeral()
    assert (
        "as a Markdown file" in told["text"] and "team_tier_cannot_create_canvases" in told["text"]
    )
    assert slack.canvases == []
    [file] = [f for f in slack.files if f.filename == "community-archive.md"]
    assert file.channel == HOUSING and "# Archive: Housing policy" in file.content.decode()

    # Where Slack allows it, the archive is a canvas in the channel too.
    await community.command("archive")
    told = await community.ephemeral(count=2)
    assert "a canvas in the channel" in told["text"]
    [canvas] = slack.canvases
    assert canvas.channel_id == HOUSING


async def test_a_split_naming_a_channel_that_exists_is_refused_on_that_field(
    community: Cultivate, slack: FakeSlack
) -> None:
    view = await close(community, reason="split")
    split = slack.views[view["id"]]
    answers = {
        "sub1_name": "Housing Finance",
        "sub1_members": [BEN],
        "sub2_name": "Data engineering",  # #data-engineering already exists
        "sub2_members": [NOOR],
    }
    reply = await community.submit(split, as_values(answers))
    assert reply.json["response_action"] == "errors"
    assert "#data-engineering" in reply.json["errors"]["sub2_name"]
    assert "sub1_name" not in reply.json["errors"]
    # Nothing was created: neither channel, nor community.
    assert slack.calls_to("conversations.create") == []
    async with community.database.session() as session:
        assert len((await session.exec(select(Community))).all()) == 1

    # A private channel the app cannot see also takes its name, which Slack says only once the
    # form has closed and the parent with it: the community still starts, under a near name,
    # and the coordinator is told where. A closed community is never left without the
    # sub-communities it was closed for.
    slack.workspace.channels["C0SECRET"] = Channel(
        "C0SECRET", "rural-housing", is_private=True, members=[NOOR]
    )
    reply = await community.submit(split, as_values(answers | {"sub2_name": "Rural housing"}))
    assert reply.body == "", reply.body
    await slack.wait_for("chat.postMessage", lambda c: "grows out of" in c.args["text"], count=2)
    created = [c.response["channel"] for c in slack.calls_to("conversations.create") if c.ok]
    assert [c["name"] for c in created] == ["housing-finance", "rural-housing-2"]
    [told] = await slack.wait_for("chat.postMessage", lambda c: "cannot see" in c.args["text"])
    assert told.args["channel"] == ASHA
    assert told.args["text"] == (
        "#rural-housing is taken by a channel I cannot see, so *Rural housing* starts in "
        f"<#{created[1]['id']}>: rename the channel if you like."
    )
    invites = {c.args["channel"]: c.args["users"] for c in slack.calls_to("conversations.invite")}
    assert set(invites[created[1]["id"]].split(",")) == {NOOR, ASHA}
    child = await community_in_channel(
        community.database, team_id="T0CULTIV8", channel_id=created[1]["id"]
    )
    assert child is not None and child.community.name == "Rural housing"
    assert [c for c in slack.calls if "could not start" in str(c.args.get("text"))] == []


async def test_a_split_whose_every_channel_name_is_taken_says_so_and_starts_the_others(
    community: Cultivate, slack: FakeSlack
) -> None:
    view = await close(community, reason="split")
    # Private channels the app cannot see hold the name and every near name it would try.
    for n, name in enumerate(
        ["rural-housing", "rural-housing-2", "rural-housing-3", "rural-housing-4"]
    ):
        slack.workspace.channels[f"C0SECRET{n}"] = Channel(
            f"C0SECRET{n}", name, is_private=True, members=[NOOR]
        )
    answers = {
        "sub1_name": "Housing Finance",
        "sub1_members": [BEN],
        "sub2_name": "Rural housing",
        "sub2_members": [NOOR],
    }
    reply = await community.submit(slack.views[view["id"]], as_values(answers))
    assert reply.body == "", reply.body
    await slack.wait_for("chat.postMessage", lambda c: "grows out of" in c.args["text"])
    [told] = await slack.wait_for("chat.postMessage", lambda c: "could not start" in c.args["text"])
    assert told.args["channel"] == ASHA
    assert "#rural-housing and the names after it" in told.args["text"]
    assert "Nothing was created for it" in told.args["text"]
    assert [c.args["name"] for c in slack.calls_to("conversations.create")] == [
        "housing-finance",
        "rural-housing",
        "rural-housing-2",
        "rural-housing-3",
        "rural-housing-4",
    ]
    async with community.database.session() as session:
        names = (await session.exec(select(Community.name).order_by(Community.id))).all()
    assert names == ["Housing policy", "Housing Finance"]


# -- read-only after closure: terms, joining, levels, settings, invitations, welcomes ----------


async def answered(slack: FakeSlack, words: str, *, count: int) -> list[dict[str, Any]]:
    """Answers saying `words` under what someone clicked or typed (its response_url)."""
    calls = await slack.wait_for("response_url", lambda c: words in c.args["text"], count=count)
    return [dict(c.args) for c in calls]


async def test_after_closure_the_terms_cannot_be_agreed_marked_agreed_or_drafted_again(
    community: Cultivate, slack: FakeSlack
) -> None:
    message = await launch(community)
    await close(community)
    files = len(slack.files)

    await press(community, message, "terms_agree", user=BEN)
    await press(community, message, "terms_mark_agreed", user=ASHA)
    await press(community, message, "terms_redraft", user=ASHA)
    # Each is told why, privately in the channel.
    notes = await slack.wait_for(
        "chat.postEphemeral",
        lambda c: "terms of reference can no longer" in c.args["text"],
        count=3,
    )
    assert sorted(c.args["user"] for c in notes) == sorted([BEN, ASHA, ASHA])
    assert {c.args["channel"] for c in notes} == {HOUSING}
    assert await stored(community, TermsAgreement) == []
    [draft] = await stored(community, TermsDraft)  # no second draft
    assert draft.agreed_at is None
    [kept] = await stored(community, Community)
    assert kept.launched_at is None
    assert len(slack.files) == files  # no new draft was uploaded


async def test_after_closure_nobody_can_ask_to_join_and_requests_cannot_be_answered(
    community: Cultivate, slack: FakeSlack
) -> None:
    await answer(community, MEMBERS_STAGE, membership="invitation")
    await community.command("join", user=LIAM)
    assert "I've asked the coordinators" in (await community.ephemeral())["text"]
    await community.tick()
    [asked] = sent_to(slack, ASHA, f"<@{LIAM}> asks to join")
    await click_in_dm(community, asked, "Decline", user=ASHA)
    decline = await community.opened_view("join_decline_form")  # opened before the closure
    await close(community)

    # Declining with the form opened before: refused on its field.
    reply = await community.submit(decline, {"reason": {"reason": "Full"}})
    assert "takes no new members" in reply.json["errors"]["reason"]
    # Approving, or pressing Decline again: told why, under the message; no form opens.
    await click_in_dm(community, asked, "Approve", user=ASHA)
    await click_in_dm(community, asked, "Decline", user=ASHA)
    answers = await answered(slack, "takes no new members", count=2)
    assert all(a["response_type"] == "ephemeral" for a in answers)
    assert len(slack.calls_to("views.open")) == 2  # the decline form and the closure form
    # Asking again now: told why, not that he asked already; no second request is kept.
    await community.command("join", user=LIAM)
    await answered(slack, "takes no new members", count=3)

    # His request lapsed at the closure: he is told so, once, and nobody is invited.
    [request] = await stored(community, JoinRequest)
    assert (request.user_id, request.state, request.decided_by) == (LIAM, "lapsed", ASHA)
    await community.tick()
    assert slack.calls_to("conversations.invite") == []
    [told] = sent_to(slack, LIAM, "Thank you for your interest")
    assert "It has closed, so it takes no new members" in told.args["text"]
    # The Approve and Decline buttons in Asha's DM give way to what happened.
    lapsed = [c for c in slack.calls_to("chat.update") if c.args["ts"] == asked.response["ts"]]
    assert "lapsed when the community closed" in lapsed[-1].args["text"]
    await community.tick()
    assert len(sent_to(slack, LIAM, "Thank you for your interest")) == 1


async def test_after_closure_a_members_level_cannot_be_set(
    community: Cultivate, slack: FakeSlack
) -> None:
    await community.command("roster")
    roster = await community.opened_view("roster")
    await community.settled()  # its refresh with who is in the channel, if any, is done

    def updates_to_roster() -> list[Any]:
        return [c for c in slack.calls_to("views.update") if c.args["view_id"] == roster["id"]]

    updates = len(updates_to_roster())
    await close(community)

    await choose_level(community, roster, f"roster_level:{BEN}", "core")
    [note] = await slack.wait_for(
        "chat.postMessage", lambda c: "levels are kept as they were" in c.args["text"]
    )
    assert note.args["channel"] == ASHA and "Nothing was saved" in note.args["text"]
    memberships = await stored(community, Membership)
    assert all(m.level is None and m.level_set_by is None for m in memberships)
    # The roster is shown again as it is, with no level left to choose.
    await slack.wait_for(
        "views.update", lambda c: c.args["view_id"] == roster["id"], count=updates + 1
    )
    blocks = updates_to_roster()[-1].args["view"]["blocks"]
    assert "kept as they were" in blocks[0]["elements"][0]["text"]
    assert not [b for b in blocks if "accessory" in b]


FORMS_OPENED_BEFORE_CLOSURE = [
    pytest.param(
        "sustain",
        "sustaining_settings",
        {
            "digest_period": "weekly",
            "perspective_weeks": "13",
            "report_period": "never",
            "stage_override": "maturing",
        },
        "digest_period",
        SustainingSettings,
        "takes no new settings",
        id="sustaining settings",
    ),
    pytest.param(
        "perspective",
        "perspective_form",
        {
            "guest": "Dr Amina Yusuf",
            "organisation": "Shelter Lab",
            "topic": "Housing first",
            "day": "2026-12-10",
        },
        "guest",
        Perspective,
        "takes no new settings, perspectives",
        id="a perspective",
    ),
    pytest.param(
        "invite",
        "invitation_form",
        {"channel": "C0DATA"},
        "channel",
        Invitation,
        "invitations",
        id="an invitation",
    ),
    pytest.param(
        "welcome",
        "welcome_editor",
        {"text": "Hello {name}"},
        "text",
        WelcomeSettings,
        "welcomes nobody any more",
        id="the welcome",
    ),
]


@pytest.mark.parametrize(
    ("command", "form", "answers", "field", "model", "explanation"), FORMS_OPENED_BEFORE_CLOSURE
)
async def test_after_closure_a_coordinators_form_is_refused_on_its_field_and_nothing_saved(
    community: Cultivate,
    slack: FakeSlack,
    command: str,
    form: str,
    answers: dict[str, str],
    field: str,
    model: type[Any],
    explanation: str,
) -> None:
    await community.command(command)
    view = await community.opened_view(form)
    before = await stored(community, model)
    await close(community)

    reply = await community.submit(view, {key: {key: value} for key, value in answers.items()})
    assert reply.json["response_action"] == "errors"
    assert explanation in reply.json["errors"][field]
    assert "community is closed" in reply.json["errors"][field]
    assert await stored(community, model) == before
    await community.settled()  # and nothing was posted (an invitation, in #data)
    assert not [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == "C0DATA"]


async def test_after_closure_pressing_join_on_an_invitation_adds_nobody_and_is_not_counted(
    community: Cultivate, slack: FakeSlack
) -> None:
    await community.command("invite")
    view = await community.opened_view("invitation_form")
    assert (await community.submit(view, {"channel": {"channel": "C0DATA"}})).body == ""
    [posted] = await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == "C0DATA" and c.ok
    )
    join = posted.args["blocks"][-1]["elements"][0]
    await close(community)

    await community.click(
        {"action_id": join["action_id"], "type": "button", "value": join["value"]},
        user=LIAM,
        channel="C0DATA",
        message=posted.response["message"],
    )
    await answered(slack, "takes no new members", count=1)
    assert slack.calls_to("conversations.invite") == []
    assert await stored(community, InvitationClick) == []
    assert await stored(community, JoinRequest) == []


async def test_a_split_whose_members_cannot_be_invited_still_starts_and_says_so(
    community: Cultivate, slack: FakeSlack
) -> None:
    view = await close(community, reason="split")
    slack.fail_next("conversations.invite", "user_is_restricted")
    answers = {"sub1_name": "Housing Finance", "sub1_members": [BEN, NOOR]}
    reply = await community.submit(slack.views[view["id"]], as_values(answers))
    assert reply.body == "", reply.body

    [told] = await slack.wait_for(
        "chat.postMessage", lambda c: "would not let me invite" in c.args["text"]
    )
    assert told.args["channel"] == ASHA
    assert "`user_is_restricted`" in told.args["text"]
    assert all(f"<@{person}>" in told.args["text"] for person in (BEN, NOOR, ASHA))
    # The community stands in its new channel, with the parent's scope, and says where it grew.
    [created] = slack.calls_to("conversations.create")
    channel = created.response["channel"]["id"]
    await slack.wait_for(
        "chat.postMessage",
        lambda c: c.args["channel"] == channel and "grows out of" in c.args["text"],
    )
    async with community.database.session() as session:
        names = (await session.exec(select(Community.name).order_by(Community.id))).all()
    assert names == ["Housing policy", "Housing Finance"]
