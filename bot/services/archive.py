"""The archive: everything stored about a community compiled into one Markdown document (and
the same record as JSON), so what it learned outlives the channel.

It is a document (`bot.services.document`) written as Markdown and Word: the answers under the
catalogue's topics, as in the terms of reference, each written by the one writer for its kind
of question (`bot.services.writing`), so every answer the checklist holds reaches it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.catalogue import ROLES
from bot.clock import Clock
from bot.services.capture import CAPTURE_FIELDS
from bot.services.closure import CLOSE_FIELDS
from bot.services.communities import CommunityRecord, load_record
from bot.services.document import (
    Bullets,
    Document,
    Heading,
    Inline,
    Line,
    Paragraph,
    Part,
    Person,
    Quote,
    Strong,
    paragraphs,
)
from bot.services.library import authors, document_line
from bot.services.milestones import today_for
from bot.services.writing import gaps_section, inline, meeting_held, opening, people_in, topics
from bot.text import calendar_date
from storage.db import Database
from storage.models import (
    Closure,
    KnowledgeCapture,
    LibraryEntry,
    Meeting,
    MeetingAction,
    MeetingOccurrence,
    Membership,
    StageRevision,
    TermsDraft,
)
from storage.repositories import actions as action_rows
from storage.repositories import closures as closure_rows
from storage.repositories import library as library_rows
from storage.repositories import sustaining as history_rows
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
    actions: dict[int, list[MeetingAction]]  # each session's actions, by its id
    memberships: list[Membership]
    roles_history: list[StageRevision]
    library: list[LibraryEntry] = field(default_factory=list)  # newest first

    def people(self) -> set[str]:
        found = people_in(self.record) | authors(self.library)
        found |= {m.user_id for m in self.memberships} | {c.user_id for c in self.captures}
        found |= {a.owner for held in self.actions.values() for a in held if a.owner}
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
        sessions = list(
            await closure_rows.sessions_held(session, community_id=community_id, before=now)
        )
        return CommunityArchive(
            record=record,
            compiled_at=now,
            terms=await terms_rows.latest_draft(
                session, team_id=team_id, community_id=community_id
            ),
            closure=closure,
            captures=captures,
            sessions=sessions,
            actions=await action_rows.of_occurrences(
                session, occurrence_ids=[held.id for _, held in sessions if held.id is not None]
            ),
            memberships=list(await history_rows.memberships(session, community_id=community_id)),
            roles_history=list(
                await closure_rows.stage_history(
                    session, community_id=community_id, stage=ROLES.key
                )
            ),
            library=list(await library_rows.entries(session, community_id=community_id)),
        )


def _day(archive: CommunityArchive, moment: datetime) -> str:
    return calendar_date(today_for(archive.record.community, moment))


def build(archive: CommunityArchive) -> Document:
    """The archive as a document: the answers under their topics (as the terms of reference),
    then what the community did and learned, then what was never settled."""
    record, closure = archive.record, archive.closure
    community = record.community
    document = opening(
        f"Archive: {community.name}",
        f"Compiled {_day(archive, archive.compiled_at)} from everything Cultivate kept "
        "about this community of practice.",
        domain=community.domain,
    )
    if closure is not None:
        reason = CLOSE_FIELDS[0].option_label(closure.reason)
        document.add(
            Paragraph((Strong("Closing: "), f"{calendar_date(closure.closing_date)}. {reason}."))
        )
        if closure.note:
            document.add(*paragraphs(closure.note))
    terms = archive.terms
    if terms is None:
        said = "none were drafted."
    elif terms.agreed_at is not None:
        said = f"draft {terms.version}, agreed {_day(archive, terms.agreed_at)}."
    else:
        said = f"draft {terms.version}, not yet agreed."
    document.add(Paragraph((Strong("Terms of reference: "), said)))
    document.add(*topics(record, empty="Nothing was written down on this."))

    document.add(Heading("Meetings held"))
    if not archive.sessions:
        document.add(Paragraph(("No meetings were held.",), note=True))
    for meeting, held in archive.sessions:
        document.add(*meeting_held(community, meeting, held, archive.actions.get(held.id or 0, [])))

    document.add(*library_section(archive))

    document.add(Heading("What members learned"))
    latest = archive.latest_captures()
    if not latest:
        document.add(Paragraph(("Nobody has shared what they learned yet.",), note=True))
    for capture in latest:
        document.add(
            Paragraph(
                (Person(capture.user_id), f", {_day(archive, capture.submitted_at)}:"), note=True
            )
        )
        for spec in CAPTURE_FIELDS:
            value = capture.answers.get(spec.key)
            if value:
                document.add(Paragraph((Strong(spec.label),)), *paragraphs(str(value)))

    document.add(Heading("Members over time"))
    members: list[Line] = []
    for m in archive.memberships:
        left = f" to {_day(archive, m.left_at)}" if m.left_at else " (a member at the end)"
        level = f", {m.level}" if m.level else ""
        members.append((Person(m.user_id), f": from {_day(archive, m.joined_at)}{left}{level}"))
    document.add(Bullets(tuple(members)) if members else Paragraph(("No members.",), note=True))

    document.add(Heading("Roles over time"))
    roles: list[Line] = []
    for revision in archive.roles_history:
        line: list[Inline] = [f"{_day(archive, revision.edited_at)}: coordinators "]
        line += _names_of(revision.answers.get("coordinators")) or ["none"]
        facilitators = _names_of(revision.answers.get("facilitators"))
        if facilitators:
            line += ["; facilitators ", *facilitators]
        roles.append(tuple(line))
    document.add(Bullets(tuple(roles)))
    document.add(*gaps_section(record))
    return document


def library_section(archive: CommunityArchive) -> list[Part]:
    """What members kept all along: each entry of the library, newest first."""
    parts: list[Part] = [Heading("The community's library")]
    if not archive.library:
        parts.append(Paragraph(("Nothing was kept in the library.",), note=True))
    for entry in archive.library:
        about: list[Inline] = [Person(entry.author)]
        if entry.period is not None:
            about.append(f", answering “What did we learn?” for {entry.period}")
        else:
            about += [", kept by ", Person(entry.saved_by)]
        about.append(f" on {_day(archive, entry.saved_at)}")
        if entry.tags:
            about.append(". Tags: " + ", ".join(entry.tags))
        if entry.permalink:
            about.append(f". {entry.permalink}")
        parts += [
            Paragraph((Strong(entry.title),)),
            Paragraph(tuple(about), note=True),
            Quote(document_line(entry.text)),
        ]
    return parts


def _names_of(user_ids: Any) -> list[Inline]:
    return list(inline(ROLES.question("coordinators"), user_ids)) if user_ids else []


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
                "actions": [
                    {
                        "text": a.text,
                        "owner": a.owner,
                        "due": a.due.isoformat() if a.due else None,
                        "done_at": moment(a.done_at),
                        "done_by": a.done_by,
                    }
                    for a in archive.actions.get(held.id or 0, [])
                ],
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
        "library": [
            {
                "title": e.title,
                "tags": e.tags,
                "text": e.text,
                "author": e.author,
                "link": e.permalink,
                "period": e.period,
                "saved_by": e.saved_by,
                "saved_at": moment(e.saved_at),
            }
            for e in archive.library
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
