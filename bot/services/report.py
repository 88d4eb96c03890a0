"""The sponsor report: a document for the organisations taking part, as Markdown and as Word,
compiled from the checklist (purpose, outputs and outcomes), the same health figures
`/cop health` shows, its pictures (inside the document), what the meetings of the period
produced, the milestones, the perspectives invited, what members said in their
introductions they hope to give and to gain, and the value stories members agreed to share
(`bot.services.stories`). Members are not named, but for a value story its teller chose to
share with their name: it goes outside the community. Nor are stakeholders, their views or their support, unless a coordinator has said
in `/cop sustain` that it may name them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from bot.catalogue import GOVERNANCE, SCOPE, TERMS_OF_REFERENCE, TermsSection
from bot.clock import Clock
from bot.services import actions as action_items
from bot.services import milestones, sustaining
from bot.services.actions import ActionItem
from bot.services.communities import CommunityRecord, load_record
from bot.services.development import Development
from bot.services.document import (
    Bullets,
    Document,
    Heading,
    Image,
    Paragraph,
    Part,
    Person,
    Quote,
    Strong,
    Table,
)
from bot.services.health import HealthFigures
from bot.services.perspectives import perspectives as perspectives_logged
from bot.services.pictures import STAKEHOLDERS, Picture
from bot.services.recruitment import Recruitment
from bot.services.recruitment import recruitment as recruitment_so_far
from bot.services.stories import StoryTally, tally
from bot.services.writing import gaps_section, meeting_held, opening, people_in, topics
from bot.text import calendar_date
from bot.value import VALUE_KINDS, Consent
from storage.db import Database
from storage.models import Meeting, MeetingAction, MeetingOccurrence, MemberProfile, Perspective
from storage.repositories import meetings as meeting_rows
from storage.repositories import sustaining as rows

QUOTES = 12  # hopes quoted from introductions, newest first
NOTES_SHOWN = 600  # characters of a meeting's notes in the report: a summary, not the minutes
ACTIONS_SHOWN = 8
TOPICS = (
    TermsSection("Purpose", ((SCOPE.key, "aims"), (SCOPE.key, "benefits"))),
    TermsSection("Outputs and outcomes", ((SCOPE.key, "outputs"),)),
)
STAKEHOLDER_TOPICS = tuple(s for s in TERMS_OF_REFERENCE if s.title == "Stakeholders")
NOT_NAMED = (
    "This report names no stakeholder: the coordinators keep the stakeholder map, with each "
    "stakeholder's views and support, in /cop health. They can let the report include it in "
    "/cop sustain."
)


@dataclass(frozen=True)
class ReportContent:
    record: CommunityRecord
    figures: HealthFigures
    development: Development
    perspectives: list[Perspective]
    recruitment: Recruitment
    hopes: list[tuple[str, str]]  # (hopes to give, hopes to get), one pair a member
    compiled_on: date
    meetings: list[tuple[Meeting, MeetingOccurrence]]  # held in the period, oldest first
    actions: dict[int, list[MeetingAction]]  # the actions each of those meetings agreed
    overdue: list[ActionItem]  # every overdue action, whenever agreed (`actions.overdue`)
    names_stakeholders: bool  # a coordinator said the report may name them
    stories: StoryTally  # the value stories, as `/cop health` counts them

    def people(self) -> set[str]:
        """Whom the report may name (stakeholders in the workspace, and whoever shared a value
        story with their name), to look their names up."""
        if not self.names_stakeholders:
            return set(self.stories.tellers)
        return self.stories.tellers | (
            people_in(self.record)
            & {
                str(i.get("user"))
                for i in self.record.stages[GOVERNANCE.key].answers.get("stakeholders") or []
            }
        )


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
    plan = await sustaining.plan(database, team_id=community.team_id, community_id=community.id)
    async with database.session() as session:
        record = await load_record(session, team_id=community.team_id, community_id=community.id)
        profiles: Sequence[MemberProfile] = await rows.profiles(session, community_id=community.id)
        held = await meeting_rows.occurrences_started_between(
            session,
            team_id=community.team_id,
            community_id=community.id,
            start=figures.period.start,
            end=figures.period.end,
        )
    meetings_held = [(meeting, occurrence) for occurrence, meeting in held]
    agreed = await action_items.actions_of_sessions(
        database, occurrence_ids=[o.id for _, o in meetings_held if o.id is not None]
    )
    overdue = await action_items.overdue(database, clock, record=record)
    perspectives = await perspectives_logged(
        database, team_id=community.team_id, community_id=community.id
    )
    recruitment = await recruitment_so_far(
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
        meetings=meetings_held,
        actions=agreed,
        overdue=overdue,
        names_stakeholders=plan.names_stakeholders,
        stories=await tally(database, record, period=figures.period),
    )


def _milestone_status(milestone: milestones.MilestoneState, today: date) -> str:
    if milestone.done:
        return f"done {calendar_date(milestone.done_on)}" if milestone.done_on else "done"
    return "overdue" if milestone.due < today else "due"


def _figures(content: ReportContent) -> Table:
    figures = content.figures
    rows: list[tuple[str, str]] = [
        ("Members", str(figures.members)),
        ("Joined in the period", str(figures.joined)),
        ("Left in the period", str(figures.left)),
        (
            f"Active (posted in the 30 days to {calendar_date(figures.today)})",
            f"{figures.active} of {figures.members} ({figures.active_share:.0%})",
        ),
        *((f"{level.label} members", str(count)) for level, count in figures.levels.items()),
        ("Newcomers who have not posted yet", str(len(figures.silent_newcomers))),
        ("Recently inactive", str(len(figures.recently_inactive))),
        ("Meetings held", str(len(figures.meetings))),
        ("Attendance (said they would go)", str(figures.attendance)),
        ("Joined through the invitation (all time)", str(content.recruitment.joined)),
    ]
    return Table(("Figure", "Value"), tuple(rows))


def _meetings(content: ReportContent) -> list[Part]:
    """What each meeting of the period produced: its notes, shortened, and its actions."""
    parts: list[Part] = [Heading("What the meetings produced")]
    if not content.meetings:
        return [*parts, Paragraph(("No meeting was held in the period.",), note=True)]
    community = content.record.community
    for meeting, held in content.meetings:
        parts += meeting_held(
            community,
            meeting,
            held,
            content.actions.get(held.id or 0, []),
            notes_shown=NOTES_SHOWN,
            actions_shown=ACTIONS_SHOWN,
            name_owners=False,
        )
    return parts


def _stories(content: ReportContent) -> list[Part]:
    """The value stories members agreed to share (by name, or as "a member") and how many of
    all the stories that arrived speak to each kind of value. A story its teller chose not to
    share is only counted: not a word of it is here."""
    found = content.stories
    timezone = content.figures.timezone
    parts: list[Part] = [
        Heading("Value created: members' stories"),
        Paragraph(
            (
                f"{found.arrived} value {'story' if found.arrived == 1 else 'stories'} arrived "
                f"({found.window.words(timezone)}), {len(found.shared)} to share; "
                f"{found.in_all} in all. Members answer questions drawn from Wenger, Trayner "
                "and de Laat's value-creation framework; how many stories speak to each kind "
                "of value:",
            )
        ),
        Table(
            ("Kind of value", "Stories"),
            tuple((k.label, str(found.by_kind[k])) for k in VALUE_KINDS),
        ),
    ]
    for story in found.shared:
        teller = Person(story.user_id) if story.consent == Consent.NAMED else "a member"
        told = story.answered_at.astimezone(ZoneInfo(timezone)).date()
        parts.append(Paragraph(("From ", teller, f", {calendar_date(told)}:")))
        parts += [Quote((Strong(kind.label), f": {said}")) for kind, said in found.answered(story)]
    if not found.shared:
        parts.append(Paragraph(("No member has shared a value story here yet.",), note=True))
    return parts


def _actions(content: ReportContent) -> list[Part]:
    """The outcome of the meetings' actions: how many were agreed and done in the period, and
    every one overdue (not naming who owns it: the report names no member)."""
    agreed = [a for held in content.actions.values() for a in held]
    done = sum(a.done_at is not None for a in agreed)
    parts: list[Part] = [
        Heading("Actions from meetings"),
        Paragraph(
            (
                f"{len(agreed)} agreed at the period's meetings, {done} done. "
                f"{len(content.overdue)} overdue.",
            )
        ),
    ]
    if content.overdue:
        parts.append(
            Bullets(
                tuple(
                    (
                        f"{item.action.text} (from {item.meeting_title}, "
                        f"{calendar_date(item.held_on)}; due "
                        f"{calendar_date(item.action.due or item.held_on)})",
                    )
                    for item in content.overdue[:ACTIONS_SHOWN]
                )
            )
        )
        if len(content.overdue) > ACTIONS_SHOWN:
            parts.append(Paragraph((f"and {len(content.overdue) - ACTIONS_SHOWN} more",)))
    return parts


def build(content: ReportContent, pictures: Sequence[Picture]) -> Document:
    """The report. Every figure is the `HealthFigures` one, as `/cop health`. The stakeholder
    map and the stakeholders section only when the coordinators let it name stakeholders."""
    record, figures = content.record, content.figures
    community = record.community
    report = opening(
        f"{community.name}: report for participating organisations",
        f"{figures.period.words(figures.timezone)}. Compiled {calendar_date(content.compiled_on)}.",
    )
    if community.domain:
        report.add(Paragraph((community.domain,)))
    report.add(*topics(record, sections=TOPICS, empty="Not written down yet."))
    report.add(Heading("Membership and activity"), _figures(content))
    for picture in pictures:
        if picture.kind == STAKEHOLDERS and not content.names_stakeholders:
            continue
        report.add(Image(picture.filename, picture.title, picture.alt_text, picture.png))
    found = content.development
    report.add(
        Heading("Stage of development"),
        Paragraph((f"{found.stage.label} (Wenger's stages): {found.stage.meaning}.",)),
    )
    report.add(*_meetings(content))
    report.add(*_actions(content))
    report.add(
        Heading("Milestones"),
        Paragraph(
            (
                f"{figures.milestones_done} done, {figures.milestones_due} due, "
                f"{figures.milestones_overdue} overdue.",
            )
        ),
    )
    if figures.milestones:
        report.add(
            Table(
                ("Milestone", "Due", "Status"),
                tuple(
                    (m.title, calendar_date(m.due), _milestone_status(m, figures.today))
                    for m in figures.milestones
                ),
            )
        )
    if content.names_stakeholders:
        report.add(*topics(record, sections=STAKEHOLDER_TOPICS))
    else:
        report.add(Heading("Stakeholders"), Paragraph((NOT_NAMED,), note=True))
    report.add(Heading("New perspectives"))
    if content.perspectives:
        report.add(
            Bullets(
                tuple(
                    (
                        f"{calendar_date(p.day)}: {p.guest}"
                        + (f" ({p.organisation})" if p.organisation else "")
                        + f" on {p.topic}",
                    )
                    for p in content.perspectives
                )
            )
        )
    else:
        report.add(Paragraph(("No external expert or guest speaker logged yet.",), note=True))
    report.add(Heading("What members hope to give and to gain"))
    if content.hopes:
        report.add(Paragraph(("From members' introductions (unnamed):",)))
        for give, get in content.hopes:
            said = [f"To give: {give}" if give else "", f"To gain: {get}" if get else ""]
            report.add(Quote((" — ".join(s for s in said if s),)))
    else:
        report.add(
            Paragraph(("No member has introduced themselves with their hopes yet.",), note=True)
        )
    report.add(*_stories(content))
    report.add(*gaps_section(record))
    return report
