"""The archive: everything stored about a community compiled into one Markdown document (and
the same record as JSON), so what it learned outlives the channel.

Everything a person typed is escaped for Markdown; people are written by a `person` function
the caller passes in (a name in a file, a mention in a canvas), as for the terms of reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.answers import is_answered
from bot.catalogue import ROLES, SETUP_STAGES
from bot.clock import Clock
from bot.services.closure import CAPTURE_FIELDS, CLOSE_FIELDS
from bot.services.communities import CommunityRecord, load_record
from bot.services.milestones import milestones_in, today_for
from bot.services.terms import Person, answer_markdown
from bot.text import calendar_date, markdown_escape
from storage.db import Database
from storage.models import (
    Closure,
    KnowledgeCapture,
    Meeting,
    MeetingOccurrence,
    Membership,
    StageRevision,
    TermsDraft,
)
from storage.repositories import closures as closure_rows
from storage.repositories import terms as terms_rows


@dataclass(frozen=True)
class CommunityArchive:
    """Everything stored about one community, as of `compiled_at`."""

    record: CommunityRecord
    compiled_at: datetime
    terms: TermsDraft | None
    closure: Closure | None
    captures: list[KnowledgeCapture]  # every version, oldest first
    sessions: list[tuple[Meeting, MeetingOccurrence]]
    memberships: list[Membership]
    roles_history: list[StageRevision]

    def people(self) -> set[str]:
        found = {m.user_id for m in self.memberships} | {c.user_id for c in self.captures}
        for revision in self.roles_history:
            for key in ("coordinators", "facilitators"):
                found |= set(revision.answers.get(key) or [])
        return found

    def latest_captures(self) -> list[KnowledgeCapture]:
        latest = {c.user_id: c for c in self.captures}
        return sorted(latest.values(), key=lambda c: c.submitted_at)


async def compile_archive(
    database: Database, clock: Clock, *, team_id: str, community_id: int
) -> CommunityArchive:
    now = clock.now()
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        closure = await closure_rows.closure_for(
            session, team_id=team_id, community_id=community_id
        )
        captures = (
            list(await closure_rows.captures(session, closure_id=closure.id))
            if closure is not None and closure.id is not None
            else []
        )
        return CommunityArchive(
            record=record,
            compiled_at=now,
            terms=await terms_rows.latest_draft(
                session, team_id=team_id, community_id=community_id
            ),
            closure=closure,
            captures=captures,
            sessions=list(
                await closure_rows.sessions_held(session, community_id=community_id, before=now)
            ),
            memberships=list(await closure_rows.memberships(session, community_id=community_id)),
            roles_history=list(
                await closure_rows.stage_history(
                    session, community_id=community_id, stage=ROLES.key
                )
            ),
        )


def _text(value: str) -> str:
    return "  \n".join(markdown_escape(line) for line in value.splitlines())


def _day(archive: CommunityArchive, moment: datetime) -> str:
    return calendar_date(today_for(archive.record.community, moment))


def render_markdown(archive: CommunityArchive, person: Person) -> str:
    community = archive.record.community
    lines = [
        f"# Archive: {markdown_escape(community.name)}",
        "",
        f"_Compiled {_day(archive, archive.compiled_at)} from everything Cultivate kept about "
        "this community of practice._",
    ]
    if community.domain:
        lines += ["", f"**Domain:** {markdown_escape(community.domain)}"]
    closure = archive.closure
    if closure is not None:
        reason = CLOSE_FIELDS[0].option_label(closure.reason)
        lines += [
            "",
            f"**Closing:** {calendar_date(closure.closing_date)}. {markdown_escape(reason)}.",
        ]
        if closure.note:
            lines += ["", _text(closure.note)]

    lines += ["", "## Terms of reference", ""]
    if archive.terms is None:
        lines.append("_No terms of reference were drafted._")
    else:
        status = "agreed" if archive.terms.agreed_at else "not yet agreed"
        lines.append(f"_Draft {archive.terms.version}, {status}._")
        # The draft is already escaped Markdown; its headings move one level down.
        for line in archive.terms.markdown.splitlines():
            lines.append("#" + line if line.startswith("#") else line)

    lines += ["", "## The checklist's answers"]
    for stage in SETUP_STAGES:
        answers = archive.record.stages[stage.key].answers
        lines += ["", f"### {stage.number}. {markdown_escape(stage.title)}"]
        shown = [q for q in stage.questions if is_answered(q, answers)]
        if not shown:
            lines += ["", "_Not answered._"]
        for question in shown:
            lines += [
                "",
                f"**{markdown_escape(question.label)}**",
                "",
                answer_markdown(question, answers[question.key], person),
            ]

    lines += ["", "## Milestones", ""]
    milestones = milestones_in(archive.record.stages["governance"].answers)
    if not milestones:
        lines.append("_None were set._")
    for m in milestones:
        done = f"done {calendar_date(m.done)}" if m.done else "not done"
        owner = f", owner {person(m.owner)}" if m.owner else ""
        lines.append(f"- **{markdown_escape(m.title)}**: due {calendar_date(m.due)}, {done}{owner}")

    lines += ["", "## Meetings held", ""]
    if not archive.sessions:
        lines.append("_No meetings were held._")
    for meeting, held in archive.sessions:
        lines.append(f"### {markdown_escape(meeting.title)}, {_day(archive, held.starts_at)}")
        if held.notes:
            lines += ["", _text(held.notes)]
        if held.actions:
            lines += ["", "Actions:", *(f"- {markdown_escape(a)}" for a in held.actions)]
        lines.append("")

    lines += ["", "## What members learned", ""]
    latest = archive.latest_captures()
    if not latest:
        lines.append("_Nobody has shared what they learned yet._")
    for capture in latest:
        lines += [f"### {person(capture.user_id)}, {_day(archive, capture.submitted_at)}"]
        for spec in CAPTURE_FIELDS:
            value = capture.answers.get(spec.key)
            if value:
                lines += ["", f"**{markdown_escape(spec.label)}**", "", _text(str(value))]
        lines.append("")

    lines += ["", "## Members over time", ""]
    for m in archive.memberships:
        left = f" to {_day(archive, m.left_at)}" if m.left_at else " (a member at the end)"
        level = f", {m.level}" if m.level else ""
        lines.append(f"- {person(m.user_id)}: from {_day(archive, m.joined_at)}{left}{level}")

    lines += ["", "## Roles over time", ""]
    for revision in archive.roles_history:
        coordinators = ", ".join(person(u) for u in revision.answers.get("coordinators") or [])
        facilitators = ", ".join(person(u) for u in revision.answers.get("facilitators") or [])
        line = f"- {_day(archive, revision.edited_at)}: coordinators {coordinators or 'none'}"
        if facilitators:
            line += f"; facilitators {facilitators}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def render_json(archive: CommunityArchive) -> str:
    """The same record as data, for safekeeping outside Slack."""
    community = archive.record.community

    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    data: dict[str, Any] = {
        "community": {
            "name": community.name,
            "domain": community.domain,
            "channel_id": community.channel_id,
            "timezone": community.timezone,
            "created_at": moment(community.created_at),
            "launched_at": moment(community.launched_at),
            "closed_at": moment(community.closed_at),
        },
        "compiled_at": moment(archive.compiled_at),
        "stages": {k: s.answers for k, s in archive.record.stages.items()},
        "terms_of_reference": archive.terms.markdown if archive.terms else None,
        "closure": None
        if archive.closure is None
        else {
            "reason": archive.closure.reason,
            "note": archive.closure.note,
            "closing_date": archive.closure.closing_date.isoformat(),
            "closed_by": archive.closure.closed_by,
        },
        "meetings": [
            {
                "title": meeting.title,
                "starts_at": moment(held.starts_at),
                "notes": held.notes,
                "actions": held.actions,
            }
            for meeting, held in archive.sessions
        ],
        "knowledge": [
            {
                "user_id": c.user_id,
                "version": c.version,
                "submitted_at": moment(c.submitted_at),
                "answers": c.answers,
            }
            for c in archive.captures
        ],
        "memberships": [
            {
                "user_id": m.user_id,
                "joined_at": moment(m.joined_at),
                "left_at": moment(m.left_at),
                "level": m.level,
            }
            for m in archive.memberships
        ],
        "roles_history": [
            {"version": r.version, "edited_at": moment(r.edited_at), "answers": r.answers}
            for r in archive.roles_history
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
