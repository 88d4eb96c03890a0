"""`/cop launch`: the workshop, the terms of reference as a file and a canvas, agreeing them,
and the community launched."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.catalogue import LAUNCH_AGENDA, ROLES, SCOPE, TERMS_OF_REFERENCE, stage
from bot.clock import ManualClock
from bot.services.communities import community_by_id
from bot.services.document import docx_text
from bot.services.terms import latest_draft, latest_terms
from fakeslack import FakeSlack
from storage.models import Community, TermsAgreement, TermsDraft
from storage.repositories import terms as terms_rows
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, TEAM, Cultivate, eventually
from tests.steps import (
    TYPED,
    add_milestone,
    announcements,
    as_values,
    buttons_by_action,
    inputs_of,
    launch,
    markdown_files,
    meeting_values,
    open_stage,
    press,
    start_community,
    terms_message,
)


@pytest.fixture(name="community")
async def community_ready_to_launch(cultivate: Cultivate) -> Cultivate:
    await start_community(cultivate, timezone="Europe/London")
    scope = await open_stage(cultivate, SCOPE)
    await cultivate.submit(
        scope, as_values({"need": TYPED, "aims": "Share what works\nand what doesn't"})
    )
    roles = await open_stage(cultivate, ROLES)
    await cultivate.submit(roles, as_values({"coordinators": [ASHA, NOOR], "facilitators": [BEN]}))
    # Noor and Ben are told of their roles (and Ben, not in the channel, is added to it).
    for person in (NOOR, BEN):
        await cultivate.slack.wait_for(
            "chat.postMessage",
            lambda c, p=person: c.args["channel"] == p and c.args["text"].startswith("You are"),
        )
    await add_milestone(cultivate, title="Pilot <b>", due="2027-03-01", owner=BEN)
    cultivate.slack.clear()
    return cultivate


def current(slack: FakeSlack, message: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in slack.messages(HOUSING) if m["ts"] == message["ts"])


def test_the_terms_are_drafted_from_questions_the_checklist_asks() -> None:
    for section in TERMS_OF_REFERENCE:
        for stage_key, question_key in section.answers:
            assert stage(stage_key).question(question_key)


async def test_launch_plans_the_workshop_and_drafts_the_terms_as_a_file_and_a_canvas(
    community: Cultivate, slack: FakeSlack
) -> None:
    await community.command("launch")
    form = await community.opened_view("launch_form")
    inputs = inputs_of(form)
    assert "recurrence" not in inputs
    assert inputs["title"]["element"]["initial_value"] == "Launch workshop"
    agenda = inputs["agenda"]["element"]["initial_value"]
    assert all(line in agenda for line in LAUNCH_AGENDA)
    values = meeting_values(title="Launch workshop", agenda=agenda)
    del values["recurrence"]
    assert (await community.submit(form, values)).body == ""
    message = await terms_message(community)

    [workshop] = announcements(slack)
    assert "Launch workshop" in workshop["blocks"][0]["text"]["text"]

    file, word = slack.files
    assert (file.filename, file.channel) == ("terms-of-reference-draft-1.md", HOUSING)
    assert (word.filename, word.channel) == ("terms-of-reference-draft-1.docx", HOUSING)
    document = file.content.decode()
    assert document.startswith("# Terms of Reference: Housing policy\n")
    headings = [line for line in document.splitlines() if line.startswith("## ")]
    topics = [f"## {n}. {s.title}" for n, s in enumerate(TERMS_OF_REFERENCE, 1)]
    assert headings == [*topics, "## Gaps"]
    word_headings = [t for style, t in docx_text(word.content) if style == "Heading1"]
    assert ["## " + h for h in word_headings] == headings  # the Word file: the same sections
    # What people typed is there, escaped: no mention, no link, no heading, no emphasis.
    assert (
        "We need it &lt;!channel&gt; &amp; \\*now\\* \\[see\\](http://x.example) \\# really"
        in document
    )
    assert "<!channel>" not in document
    assert "Share what works  \nand what doesn't" in document
    assert "- **Pilot &lt;b&gt;** (due Mon 1 Mar 2027; owner Ben Okafor)" in document
    assert "Asha Raman, Noor Haddad" in document  # coordinators, by real name in a file
    assert "<@U" not in document and "@Asha" not in document
    # What is missing is there to agree at the workshop.
    assert "- Scope: Core issues, not answered yet." in document
    [canvas] = slack.canvases
    assert canvas.channel_id == HOUSING
    markdown = canvas.document_content["markdown"]  # type: ignore[index]
    assert "![](@U0ASHA), ![](@U0NOOR)" in markdown  # in a canvas, people are mentions
    assert "&lt;!channel&gt;" in markdown

    assert "in the channel's canvas" in message["blocks"][0]["text"]["text"]
    assert {b["text"]["text"] for b in buttons_by_action(message).values()} == {
        "I agree (0)",
        "Draft again from the latest answers",
        "Mark agreed",
    }


async def test_when_slack_refuses_a_canvas_the_file_carries_the_terms(
    community: Cultivate, slack: FakeSlack
) -> None:
    slack.fail_next("conversations.canvases.create", "team_tier_cannot_create_channel_canvases")
    message = await launch(community)
    assert slack.canvases == []
    [file] = markdown_files(slack)
    assert "We need it &lt;!channel&gt;" in file.content.decode()
    text = message["blocks"][0]["text"]["text"]
    assert "in the file above" in text and "canvas" not in text


async def test_members_agree_and_a_coordinator_marks_the_terms_agreed_launching_the_community(
    community: Cultivate, slack: FakeSlack
) -> None:
    message = await launch(community)
    await press(community, message, "terms_agree", user=CARMEN)
    await press(community, message, "terms_agree", user=BEN)
    await press(community, message, "terms_agree", user=BEN)  # twice is once

    async def two_agree() -> bool:
        return (
            buttons_by_action(current(slack, message))
            .get("terms_agree", {})
            .get("text", {})
            .get("text")
            == "I agree (2)"
        )

    await eventually(two_agree)
    async with community.database.session() as session:
        assert len((await session.exec(select(TermsAgreement))).all()) == 2

    # Ben facilitates but does not coordinate: he cannot mark them agreed (he was added to
    # the channel when named facilitator, so he is told there).
    await press(community, message, "terms_mark_agreed", user=BEN)
    [refused] = await slack.wait_for("chat.postEphemeral", lambda c: c.args["user"] == BEN)
    assert "coordinators" in refused.args["text"]

    await press(community, message, "terms_mark_agreed", user=NOOR)
    await slack.wait_for("chat.postMessage", lambda c: "is launched" in c.args["text"])

    async def marked_agreed() -> bool:
        # The message is redrawn after the announcement; wait for that too.
        text = current(slack, message)["blocks"][0]["text"]["text"]
        return text.startswith("✅ *The terms of reference")

    await eventually(marked_agreed)
    assert "terms_agree" not in buttons_by_action(current(slack, message))
    async with community.database.session() as session:
        stored = (await session.exec(select(Community))).one()
    assert stored.launched_by == NOOR and stored.launched_at is not None

    await community.command("status", user=CARMEN)
    status = await community.ephemeral()
    assert any("🚀 Launched" in str(b) for b in status["blocks"])


async def test_drafting_again_takes_the_latest_answers_in_one_click(
    community: Cultivate, slack: FakeSlack
) -> None:
    first = await launch(community)
    [canvas] = slack.canvases
    scope = await open_stage(community, SCOPE)
    await community.submit(scope, as_values({"need": "Yes, more than ever"}))

    await press(community, first, "terms_redraft", user=CARMEN)  # not a coordinator
    [told] = await slack.wait_for("chat.postEphemeral", lambda c: c.args["user"] == CARMEN)
    assert "coordinators" in told.args["text"]
    assert len(markdown_files(slack)) == 1

    await press(community, first, "terms_redraft", user=NOOR)
    second = await terms_message(community, count=2)
    assert "Draft 2" in second["blocks"][0]["text"]["text"]
    newer = markdown_files(slack)[-1]
    assert newer.filename == "terms-of-reference-draft-2.md"
    assert "Yes, more than ever" in newer.content.decode()
    assert "We need it" not in newer.content.decode()
    # The channel keeps one canvas, now showing the new draft.
    [same] = slack.canvases
    assert same.id == canvas.id
    assert "Yes, more than ever" in same.document_content["markdown"]  # type: ignore[index]

    async def replaced() -> bool:
        return "Replaced by a newer draft" in current(slack, first)["blocks"][0]["text"]["text"]

    await eventually(replaced)
    await press(community, first, "terms_agree", user=BEN)
    [told] = await slack.wait_for("chat.postEphemeral", lambda c: c.args["user"] == BEN)
    assert "newer draft" in told.args["text"]


async def test_only_coordinators_launch(community: Cultivate, slack: FakeSlack) -> None:
    await community.command("launch", user=BEN)
    assert "coordinators" in (await community.ephemeral())["text"]
    assert slack.calls_to("views.open") == []
    await launch(community)
    await community.command("launch")
    again = await community.ephemeral(count=2)
    assert "already" not in again["text"] and "is planned for" in again["text"]
    assert "terms_redraft" in str(again["blocks"])


async def test_the_latest_terms_are_the_newest_draft_with_who_agreed_to_it_in_order(
    cultivate: Cultivate, clock: ManualClock
) -> None:
    """The newest draft and its agreements are read in one statement: only that draft's
    agreements, first first, and none when nobody agreed yet."""
    await start_community(cultivate, timezone="UTC")
    database = cultivate.database
    record = await community_by_id(database, team_id=TEAM, community_id=1)
    assert await latest_terms(database, record) is None
    drafts = []
    async with database.session() as session:
        for version in (1, 2):
            draft = TermsDraft(
                team_id=TEAM,
                community_id=1,
                version=version,
                markdown=f"v{version}",
                drafted_by=ASHA,
                drafted_at=clock.now(),
            )
            drafts.append(await terms_rows.add_draft(session, draft))
    assert (await latest_terms(database, record) or pytest.fail()).agreed == []
    older, newer = (d.id or 0 for d in drafts)
    for draft_id, person in ((older, NOOR), (newer, CARMEN), (newer, BEN), (older, ASHA)):
        clock.advance(timedelta(minutes=1))
        async with database.session() as session:
            await terms_rows.add_agreement(
                session, team_id=TEAM, draft_id=draft_id, user_id=person, now=clock.now()
            )
    terms = await latest_terms(database, record) or pytest.fail()
    assert (terms.draft.id, terms.draft.markdown, terms.agreed) == (newer, "v2", [CARMEN, BEN])
    assert await latest_draft(database, record) == terms.draft
