"""The documents that leave Slack read as documents: the terms of reference, the archive and
the sponsor report, as a coordinator receives them (Markdown and Word files in Slack), written
under topic headings, with people by their real names, milestones by date and a closing Gaps
section; and the sponsor report is safe to send by default."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from bot.catalogue import SETUP_STAGES, TERMS_OF_REFERENCE, Kind
from bot.clock import ManualClock
from bot.services.document import docx_text
from bot.services.writing import INLINE
from fakeslack import FakeSlack
from storage.models import Community, MeetingAction, MeetingOccurrence
from storage.repositories import stages as stage_rows
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, TEAM, Cultivate
from tests.steps import launch, run_until, save_settings, start_community

HOSTILE_NAME = "[Reset password](https://x.example)"
ANSWERS: dict[str, dict[str, Any]] = {
    "scope": {
        "need": "Councils each solve the same *housing* problems alone.",
        "aims": "Share what works.\n\nPublish a playbook.",
        "outputs": "A playbook, and a yearly workshop.",
    },
    "governance": {
        "decisions": "The coordinators decide; the board is told.",
        # Typed out of order: documents list them by date.
        "milestones": [
            {"title": "Interim report", "due": "2027-06-01", "owner": BEN},
            {"title": "Launch workshop", "due": "2026-12-05", "done_when": "launch_workshop"},
            {"title": "Pilot in two councils", "due": "2027-03-15"},
        ],
        "stakeholders": [
            {
                "name": "Housing Board",
                "organisation": "City Council",
                "user": NOOR,
                "interests": "Wants fewer evictions",
                "support": "sceptical",
                "influence": "high",
            }
        ],
    },
    "members": {"membership": "open", "contributors": [{"user": BEN}, {"user": CARMEN}]},
    "roles": {"coordinators": [ASHA, NOOR], "facilitators": [BEN]},
    "ways": {
        "policies": [
            {"area": "privacy", "approach": "As the council's.", "status": "agreed"},
            {"area": "code_of_conduct", "approach": "To draft together.", "status": "draft"},
        ]
    },
}
QUESTIONS = {q.label for s in SETUP_STAGES for q in s.questions}
STAKEHOLDER_WORDS = ("Housing Board", "City Council", "Wants fewer evictions", "Sceptical")


def test_every_kind_has_a_writer_and_every_question_a_topic_in_one_section() -> None:
    # A list is written item by item; people one per line (`person_line`).
    assert set(INLINE) == set(Kind) - {Kind.LIST, Kind.PEOPLE}
    placed = [pair for section in TERMS_OF_REFERENCE for pair in section.answers]
    asked = [(s.key, q.key) for s in SETUP_STAGES for q in s.questions]
    assert sorted(placed) == sorted(asked)  # every question once, under one topic
    for stage in SETUP_STAGES:
        for question in stage.questions:
            assert question.topic and not question.topic.endswith("?"), question.key


@pytest.fixture(name="community")
async def community_with_every_stage_answered(cultivate: Cultivate, slack: FakeSlack) -> Cultivate:
    await start_community(cultivate, timezone="Europe/London")
    slack.workspace.people[CARMEN].real_name = HOSTILE_NAME  # a name is typed text too
    async with cultivate.database.session() as session:
        found = (await session.exec(select(Community))).one()
        for stage in SETUP_STAGES:
            await stage_rows.add_revision(
                session,
                team_id=TEAM,
                community_id=found.id or 0,
                stage=stage.key,
                version=2 if stage.key == "roles" else 1,
                answers=ANSWERS[stage.key],
                edited_by=ASHA,
                edited_at=cultivate.runtime.clock.now(),
            )
    return cultivate


def files(slack: FakeSlack, suffix: str, channel: str | None = None) -> list[Any]:
    return [
        f
        for f in slack.files
        if f.filename.endswith(suffix) and (channel is None or f.channel == channel)
    ]


def section(markdown: str, title: str) -> str:
    """The text under a `## title` heading, up to the next one."""
    found = re.search(
        rf"^## (?:\d+\. )?{re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, re.M | re.S
    )
    assert found, f"no section {title!r}"
    return found.group(1)


def assert_reads_as_a_document(markdown: str, word: bytes) -> None:
    headings = [line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("#")]
    assert not [h for h in headings if h in QUESTIONS or h.endswith("?")], headings
    # People by real name; never a mention, a Slack id or an @handle, in a file leaving Slack.
    assert "<@" not in markdown and not re.search(r"\bU0[A-Z]+\b", markdown)
    assert not re.search(r"(^|\s)@\w", markdown)
    assert "Ben Okafor" in markdown
    # A name that looks like a link is text, not a live link.
    assert HOSTILE_NAME not in markdown and "\\[Reset password\\](https://x.example)" in markdown
    # Milestones by date.
    milestones = section(markdown, "Milestones")
    days = [
        datetime.strptime(d, "%d %b %Y").date() for d in re.findall(r"\d+ \w{3} \d{4}", milestones)
    ]
    assert len(days) >= 3 and days == sorted(days)
    # What is missing is said at the end.
    assert headings[-1] == "Gaps"
    gaps = section(markdown, "Gaps")
    for missing in (
        "Purpose: Rationale, not answered yet.",
        "Policies: Code of conduct, not yet agreed.",
        "Policies: Copyright, not written yet.",
        "Milestones: Pilot in two councils, due Mon 15 Mar 2027, has no owner.",
    ):
        assert missing in gaps, missing
    assert "Privacy" not in gaps and "Interim report" not in gaps and "Aims" not in gaps
    # The Word file opens and holds the same sections.
    paragraphs = docx_text(word)
    level_two = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    assert [t for style, t in paragraphs if style == "Heading1"] == level_two
    assert any("Pilot in two councils" in t for _, t in paragraphs)


async def test_terms_and_archive_are_topic_sections_with_names_dates_and_gaps(
    community: Cultivate, slack: FakeSlack
) -> None:
    await launch(community)
    [terms] = files(slack, ".md", HOUSING)
    [word] = files(slack, ".docx", HOUSING)
    markdown = terms.content.decode()
    assert_reads_as_a_document(markdown, word.content)
    titles = [f"{n}. {s.title}" for n, s in enumerate(TERMS_OF_REFERENCE, 1)]
    assert [line[3:] for line in markdown.splitlines() if line.startswith("## ")] == [
        *titles,
        "Gaps",
    ]
    assert "### Need\n\nCouncils each solve the same \\*housing\\* problems alone." in markdown
    assert (
        "- **Housing Board** (contact Noor Haddad; of City Council; support Sceptical" in markdown
    )
    # In the canvas, which stays in Slack, people are mentions that show their current name.
    assert "![](@U0NOOR)" in slack.canvases[0].document_content["markdown"]  # type: ignore[index]

    slack.clear()
    await community.command("archive")
    await slack.wait_for("files.completeUploadExternal")
    [archive] = files(slack, "community-archive.md")
    [word] = files(slack, "community-archive.docx")
    markdown = archive.content.decode()
    assert_reads_as_a_document(markdown, word.content)
    assert "Wants fewer evictions" in section(markdown, "Stakeholders")


async def report_files(community: Cultivate, slack: FakeSlack) -> tuple[str, bytes, list[str]]:
    before = len(slack.files)
    await community.command("report")
    await slack.wait_for(
        "files.completeUploadExternal",
        count=len(slack.calls_to("files.completeUploadExternal")) + 1,
    )
    new = slack.files[before:]
    [report] = [f for f in new if f.filename.endswith(".md")]
    [word] = [f for f in new if f.filename.endswith(".docx")]
    return (
        report.content.decode(),
        word.content,
        [f.filename for f in new if f.filename.endswith(".png")],
    )


async def test_the_sponsor_report_names_no_stakeholder_unless_a_coordinator_allows_it(
    community: Cultivate, slack: FakeSlack
) -> None:
    markdown, word, pictures = await report_files(community, slack)
    text = "\n".join(t for _, t in docx_text(word))
    for words in STAKEHOLDER_WORDS:
        assert words not in markdown and words not in text, words
    assert "stakeholder-map.png" not in pictures and "Noor Haddad" not in markdown
    assert "names no stakeholder" in section(markdown, "Stakeholders")
    assert_reads_as_a_document_without_people(markdown, word)

    refused = await save_settings(
        community,
        user=BEN,
        digest_period="monthly",
        perspective_weeks="13",
        report_period="never",
        report_names_stakeholders=["report_names_stakeholders"],
    )
    assert refused  # only a coordinator can allow it
    assert (
        await save_settings(
            community,
            count=2,
            digest_period="monthly",
            perspective_weeks="13",
            report_period="never",
            report_names_stakeholders=["report_names_stakeholders"],
        )
        == {}
    )
    markdown, word, pictures = await report_files(community, slack)
    for words in STAKEHOLDER_WORDS:
        assert words in section(markdown, "Stakeholders"), words
    assert "Noor Haddad" in markdown  # the stakeholder in the workspace, by real name
    assert "stakeholder-map.png" in pictures and "](stakeholder-map.png)" in markdown


def assert_reads_as_a_document_without_people(markdown: str, word: bytes) -> None:
    headings = [line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("#")]
    assert not [h for h in headings if h in QUESTIONS or h.endswith("?")]
    assert headings[-1] == "Gaps" and "<@" not in markdown
    assert not re.search(r"(^|\s)@\w", markdown) and not re.search(r"\bU0[A-Z]+\b", markdown)
    level_two = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    assert [t for style, t in docx_text(word) if style == "Heading1"] == level_two


async def overdue_in_status(community: Cultivate) -> str:
    count = len(community.slack.calls_to("response_url"))
    await community.command("status")
    blocks = (await community.ephemeral(count=count + 1)).get("blocks") or []
    texts = [str((b.get("text") or {}).get("text") or "") for b in blocks]
    return "\n".join(t for t in texts if "Overdue milestones" in t)


async def test_the_report_marks_the_held_workshop_done_and_says_what_meetings_produced(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    markdown, _, _ = await report_files(community, slack)
    assert "| Launch workshop | Sat 5 Dec 2026 | due |" in markdown

    await launch(community)  # the workshop: Tue 8 Dec 2026, 18:00
    await run_until(community, clock, datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    markdown, _, _ = await report_files(community, slack)
    assert "| Launch workshop | Sat 5 Dec 2026 | overdue |" in markdown  # not held yet
    assert "Launch workshop" in await overdue_in_status(community)

    await run_until(community, clock, datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    async with community.database.session() as session:
        [held] = (await session.exec(select(MeetingOccurrence))).all()
        held.notes = "We agreed the terms <!here>, and " + "a long discussion. " * 60
        session.add(held)
        for position, text in enumerate(
            ["Ben: circulate the playbook outline", "Noor: book the next room"]
        ):
            session.add(
                MeetingAction(
                    team_id=held.team_id,
                    community_id=held.community_id,
                    occurrence_id=held.id,
                    position=position,
                    text=text,
                    created_at=held.starts_at,
                )
            )
    markdown, _, _ = await report_files(community, slack)
    assert "| Launch workshop | Sat 5 Dec 2026 | done Tue 8 Dec 2026 |" in markdown
    assert "Launch workshop" not in await overdue_in_status(community)  # /cop status agrees
    produced = section(markdown, "What the meetings produced")
    assert "### Launch workshop, Tue 8 Dec 2026" in produced
    assert "We agreed the terms &lt;!here&gt;" in produced and "…" in produced  # summarised
    assert "- Ben: circulate the playbook outline" in produced
