"""The sponsor report: a Markdown file for the organisations taking part, compiled from the
checklist (aims, outputs and outcomes, benefits, milestones), the same health figures
`/cop health` shows, the pictures, the perspectives invited, and what members said in their
introductions they hope to give and to gain. Members are not named: it goes outside the
community."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.catalogue import SCOPE
from bot.clock import Clock
from bot.services import rhythm, sustaining
from bot.services.communities import CommunityRecord, load_record
from bot.services.development import Development
from bot.services.health import HealthFigures
from bot.services.members import Level
from bot.services.sustaining import Recruitment
from bot.text import calendar_date
from storage.db import Database
from storage.models import MemberProfile, Perspective
from storage.repositories import sustaining as rows

QUOTES = 12  # hopes quoted from introductions, newest first
_MARKDOWN = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>#|~"})


def md(text: str) -> str:
    """What a person typed, made inert in Markdown: no headings, links, tables or HTML."""
    return " ".join(text.split()).translate(_MARKDOWN)


def md_block(text: str) -> str:
    """Typed text of several paragraphs, each made inert."""
    return "\n\n".join(md(p) for p in text.split("\n\n") if p.strip())


@dataclass(frozen=True)
class ReportPicture:
    title: str
    alt_text: str
    link: str  # the uploaded file's permalink


@dataclass(frozen=True)
class ReportContent:
    record: CommunityRecord
    figures: HealthFigures
    development: Development
    perspectives: list[Perspective]
    recruitment: Recruitment
    hopes: list[tuple[str, str]]  # (hopes to give, hopes to get), one pair a member
    compiled_on: date


async def content(
    database: Database,
    clock: Clock,
    *,
    record: CommunityRecord,
    figures: HealthFigures,
    development: Development,
) -> ReportContent:
    community = record.community
    assert community.id is not None
    async with database.session() as session:
        record = await load_record(session, team_id=community.team_id, community_id=community.id)
        profiles: Sequence[MemberProfile] = await rows.profiles(session, community_id=community.id)
    perspectives = await sustaining.perspectives(
        database, team_id=community.team_id, community_id=community.id
    )
    recruitment = await sustaining.recruitment(
        database, team_id=community.team_id, community_id=community.id
    )
    hopes = [
        (p.hopes_to_give.strip(), p.hopes_to_get.strip())
        for p in reversed(profiles)
        if p.hopes_to_give.strip() or p.hopes_to_get.strip()
    ]
    return ReportContent(
        record=record,
        figures=figures,
        development=development,
        perspectives=perspectives,
        recruitment=recruitment,
        hopes=hopes[:QUOTES],
        compiled_on=figures.today,
    )


def _answer(record: CommunityRecord, key: str) -> str:
    text = str(record.stages[SCOPE.key].answers.get(key) or "").strip()
    return md_block(text) if text else "_Not written down yet._"


def _milestone_status(milestone: rhythm.MilestoneState, today: date) -> str:
    if milestone.done:
        return f"done {calendar_date(milestone.done_on)}" if milestone.done_on else "done"
    return "overdue" if milestone.due < today else "due"


def compile_report(content: ReportContent, pictures: Sequence[ReportPicture]) -> str:
    """The report as Markdown. Every figure is the `HealthFigures` one, as `/cop health`."""
    record, figures = content.record, content.figures
    community = record.community
    period = figures.period.words(figures.timezone)
    lines = [
        f"# {md(community.name)}: report for participating organisations",
        "",
        f"{md(community.domain)}  " if community.domain else "",
        f"Period: {period}. Compiled {calendar_date(content.compiled_on)}.",
        "",
        "## What the community sets out to achieve",
        "",
        _answer(record, "aims"),
        "",
        "## Outputs and outcomes",
        "",
        _answer(record, "outputs"),
        "",
        "## Benefits to members and to the organisations",
        "",
        _answer(record, "benefits"),
        "",
        "## Membership and activity",
        "",
        "| Figure | Value |",
        "| --- | --- |",
        f"| Members | {figures.members} |",
        f"| Joined in the period | {figures.joined} |",
        f"| Left in the period | {figures.left} |",
        f"| Active (posted in the 30 days to {calendar_date(figures.today)}) | "
        f"{figures.active} of {figures.members} ({figures.active_share:.0%}) |",
    ]
    lines += [f"| {level.label} members | {figures.levels[level]} |" for level in Level]
    lines += [
        f"| Newcomers who have not posted yet | {len(figures.silent_newcomers)} |",
        f"| Recently inactive | {len(figures.recently_inactive)} |",
        f"| Meetings held | {len(figures.meetings)} |",
        f"| Attendance (said they would go) | {figures.attendance} |",
        f"| Joined through the invitation (all time) | {content.recruitment.joined} |",
        "",
    ]
    for picture in pictures:
        lines += [
            f"![{md(picture.alt_text)}]({picture.link})",
            "",
            f"_{md(picture.title)}:_ {md(picture.alt_text)}",
            "",
        ]
    found = content.development
    lines += [
        "## Stage of development",
        "",
        f"**{found.stage.label}** (Wenger's stages): {found.stage.meaning}.",
        "",
        "## Milestones",
        "",
        f"{figures.milestones_done} done, {figures.milestones_due} due, "
        f"{figures.milestones_overdue} overdue.",
        "",
    ]
    if figures.milestones:
        lines += ["| Milestone | Due | Status |", "| --- | --- | --- |"]
        lines += [
            f"| {md(m.title)} | {calendar_date(m.due)} | {_milestone_status(m, figures.today)} |"
            for m in figures.milestones
        ]
        lines.append("")
    lines += ["## New perspectives", ""]
    if content.perspectives:
        for p in content.perspectives:
            where = f" ({md(p.organisation)})" if p.organisation else ""
            lines.append(f"- {calendar_date(p.day)}: {md(p.guest)}{where} on {md(p.topic)}")
    else:
        lines.append("_No external expert or guest speaker logged yet._")
    lines += ["", "## What members hope to give and to gain", ""]
    if content.hopes:
        lines.append("From members' introductions (unnamed):")
        lines.append("")
        for give, get in content.hopes:
            said = []
            if give:
                said.append(f"To give: {md(give)}")
            if get:
                said.append(f"To gain: {md(get)}")
            lines.append(f"> {' — '.join(said)}")
            lines.append("")
    else:
        lines.append("_No member has introduced themselves with their hopes yet._")
    return "\n".join(lines).rstrip() + "\n"
