"""The terms of reference: drafted from the saved stage answers, agreed by members, and, once
the coordinators mark a draft agreed, the community is launched.

The draft is Markdown built from the catalogue's `TERMS_OF_REFERENCE` (which answers go under
which heading), so a question added to the checklist reaches the terms by a line of data.
Everything a person typed is escaped for Markdown. People are written by a `person` function
the caller passes in: a name in a file, a mention in a canvas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.answers import is_answered
from bot.catalogue import (
    PERSON_NAME,
    PERSON_ORGANISATION,
    PERSON_USER,
    TERMS_OF_REFERENCE,
    Field,
    Kind,
    Question,
    stage,
)
from bot.clock import Clock
from bot.services.communities import CommunityRecord, load_record, require_coordinator
from bot.services.errors import EditConflict, Gone, NotAllowed
from bot.services.lifecycle import require_open
from bot.services.milestones import today_for
from bot.stand_ins import FORMER_MEMBER
from bot.text import calendar_date, markdown_escape
from storage.db import Database
from storage.models import Community, TermsDraft
from storage.repositories import communities as community_rows
from storage.repositories import live_messages
from storage.repositories import terms as terms_rows

Person = Callable[[str], str]
NOT_ANSWERED = "_Not answered yet: one to agree at the launch workshop._"


@dataclass(frozen=True)
class Terms:
    """A draft as people see it: who agreed, and whether it is still the current one."""

    community: Community
    draft: TermsDraft
    agreed: list[str]
    current: bool

    @property
    def id(self) -> int:
        assert self.draft.id is not None
        return self.draft.id

    @property
    def subject(self) -> str:
        return terms_subject(self.id)


@dataclass(frozen=True)
class Drafted:
    record: CommunityRecord
    draft: TermsDraft
    previous: TermsDraft | None  # the draft this one replaces, if any


CLOSED_TERMS = (
    "This community is closed, so its terms of reference can no longer be drafted or agreed: "
    "they are kept as its record, in the archive."
)


def document(drafted: Drafted, person: Person) -> str:
    """The same draft written again with another way of naming people (e.g. for a canvas)."""
    return render(
        drafted.record,
        version=drafted.draft.version,
        drafted_on=today_for(drafted.record.community, drafted.draft.drafted_at),
        person=person,
    )


def terms_subject(draft_id: int) -> str:
    return f"terms:{draft_id}"


# -- the document -----------------------------------------------------------------------


def people_in(record: CommunityRecord) -> set[str]:
    """Everyone the terms name, so the caller can look their names up once."""
    found: set[str] = set()
    for section in TERMS_OF_REFERENCE:
        for stage_key, question_key in section.answers:
            question = stage(stage_key).question(question_key)
            value = record.stages[stage_key].answers.get(question_key)
            found |= _people(question, value)
    return found


def _people(spec: Field, value: Any) -> set[str]:
    match spec.kind:
        case Kind.USER:
            return {value} if value else set()
        case Kind.USERS:
            return set(value or [])
        case Kind.LIST | Kind.PEOPLE:
            assert isinstance(spec, Question)
            return {
                person
                for item in value or []
                for field in spec.item_fields
                for person in _people(field, item.get(field.key))
            }
    return set()


def render(record: CommunityRecord, *, version: int, drafted_on: date, person: Person) -> str:
    community = record.community
    lines = [
        f"# Terms of Reference: {markdown_escape(community.name)}",
        "",
        f"_Draft {version}, {calendar_date(drafted_on)}. Drafted from the answers saved in "
        "Slack, to discuss and agree at the launch workshop._",
    ]
    if community.domain:
        lines += ["", f"**Domain:** {markdown_escape(community.domain)}"]
    for number, section in enumerate(TERMS_OF_REFERENCE, start=1):
        lines += ["", f"## {number}. {section.title}"]
        for stage_key, question_key in section.answers:
            question = stage(stage_key).question(question_key)
            answers = record.stages[stage_key].answers
            shown = (
                _markdown(question, answers[question_key], person)
                if is_answered(question, answers)
                else NOT_ANSWERED
            )
            lines += ["", f"**{markdown_escape(question.label)}**", "", shown]
    return "\n".join(lines) + "\n"


def answer_markdown(spec: Field, value: Any, person: Person) -> str:
    """One saved answer as escaped Markdown (the archive writes every stage this way)."""
    return _markdown(spec, value, person)


def _markdown(spec: Field, value: Any, person: Person) -> str:
    match spec.kind:
        case Kind.TEXT:
            # Keep the typed line breaks: a hard break (two spaces) within a paragraph.
            return "  \n".join(markdown_escape(line) for line in str(value).splitlines())
        case Kind.LINE | Kind.TIME:
            return markdown_escape(str(value))
        case Kind.CHOICE:
            return markdown_escape(spec.option_label(str(value)))
        case Kind.CHOICES:
            return ", ".join(markdown_escape(spec.option_label(str(v))) for v in value)
        case Kind.USER:
            return person(str(value))
        case Kind.USERS:
            return ", ".join(person(str(v)) for v in value)
        case Kind.DATE:
            return calendar_date(date.fromisoformat(value))
        case Kind.PEOPLE:
            return "\n".join(f"- {_person(item, person)}" for item in value)
        case Kind.LIST:
            assert isinstance(spec, Question)
            return "\n".join(f"- {_item(spec, item, person)}" for item in value)
    return markdown_escape(str(value))


def _person(item: dict[str, Any], person: Person) -> str:
    """Someone in the workspace by the name Slack gives; someone outside it by the name and
    organisation typed."""
    user, name = item.get(PERSON_USER), item.get(PERSON_NAME)
    shown = person(str(user)) if user else markdown_escape(str(name)) if name else FORMER_MEMBER
    if item.get(PERSON_ORGANISATION):
        shown += f" ({markdown_escape(str(item[PERSON_ORGANISATION]))})"
    return shown


def _item(question: Question, item: dict[str, Any], person: Person) -> str:
    first, *rest = question.item_fields
    parts = [f"**{_markdown(first, item[first.key], person)}**"] if item.get(first.key) else []
    for spec in rest:
        if item.get(spec.key):
            shown = _markdown(spec, item[spec.key], person).replace("  \n", " ")
            parts.append(f"{markdown_escape(spec.label)}: {shown}")
    return " · ".join(parts)


# -- drafts, agreement, launch ----------------------------------------------------------


async def draft_terms(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    person: Person,
) -> Drafted:
    """Draft the terms again from the answers saved now (coordinators only)."""
    now = clock.now()
    try:
        async with database.session() as session:
            record = await load_record(session, team_id=team_id, community_id=community_id)
            require_coordinator(record, user_id)
            require_open(record, CLOSED_TERMS)
            previous = await terms_rows.latest_draft(
                session, team_id=team_id, community_id=community_id
            )
            version = previous.version + 1 if previous else 1
            draft = await terms_rows.add_draft(
                session,
                TermsDraft(
                    team_id=team_id,
                    community_id=community_id,
                    version=version,
                    markdown=render(
                        record,
                        version=version,
                        drafted_on=today_for(record.community, now),
                        person=person,
                    ),
                    drafted_by=user_id,
                    drafted_at=now,
                    # The channel has one canvas: each draft replaces the last one's content.
                    canvas_id=previous.canvas_id if previous else None,
                ),
            )
            if previous is not None and previous.id is not None:
                # The previous draft's message now says it was replaced.
                await live_messages.bump(
                    session, team_id=team_id, subject=terms_subject(previous.id)
                )
    except IntegrityError:
        raise EditConflict(None, None) from None  # another coordinator drafted at this moment
    return Drafted(record=record, draft=draft, previous=previous)


async def record_publication(
    database: Database, *, team_id: str, draft_id: int, file_id: str | None, canvas_id: str | None
) -> None:
    async with database.session() as session:
        await terms_rows.record_publication(
            session, draft_id=draft_id, file_id=file_id, canvas_id=canvas_id
        )


async def record_message(database: Database, *, terms: Terms, channel_id: str, ts: str) -> None:
    async with database.session() as session:
        await live_messages.add(
            session,
            team_id=terms.draft.team_id,
            community_id=terms.draft.community_id,
            subject=terms.subject,
            channel_id=channel_id,
            ts=ts,
        )


async def terms_by_id(database: Database, *, team_id: str, draft_id: int) -> Terms:
    async with database.session() as session:
        return await _terms(session, team_id=team_id, draft_id=draft_id)


async def latest_terms(database: Database, *, team_id: str, community_id: int) -> Terms | None:
    async with database.session() as session:
        draft = await terms_rows.latest_draft(session, team_id=team_id, community_id=community_id)
        if draft is None or draft.id is None:
            return None
        return await _terms(session, team_id=team_id, draft_id=draft.id)


async def _terms(session: AsyncSession, *, team_id: str, draft_id: int) -> Terms:
    draft = await terms_rows.draft_by_id(session, team_id=team_id, draft_id=draft_id)
    if draft is None:
        raise Gone("That draft no longer exists.")
    community = await community_rows.community_by_id(
        session, team_id=team_id, community_id=draft.community_id
    )
    if community is None:
        raise Gone("That community no longer exists.")
    latest = await terms_rows.latest_draft(
        session, team_id=team_id, community_id=draft.community_id
    )
    agreed = list(await terms_rows.agreed_people(session, draft_id=draft_id))
    current = latest is not None and latest.id == draft.id
    return Terms(community=community, draft=draft, agreed=agreed, current=current)


async def agree(
    database: Database, clock: Clock, *, team_id: str, draft_id: int, user_id: str
) -> Terms:
    """A member's "I agree" to a draft that is still the current one."""
    async with database.session() as session:
        terms = await _terms(session, team_id=team_id, draft_id=draft_id)
        record = await load_record(session, team_id=team_id, community_id=terms.community.id or 0)
        require_open(record, CLOSED_TERMS)
        if not terms.current:
            raise Gone("There is a newer draft of the terms: please read that one.")
        await terms_rows.add_agreement(
            session, team_id=team_id, draft_id=draft_id, user_id=user_id, now=clock.now()
        )
        await live_messages.bump(session, team_id=team_id, subject=terms.subject)
    return terms


async def mark_agreed(
    database: Database, clock: Clock, *, team_id: str, draft_id: int, user_id: str
) -> tuple[Terms, bool]:
    """The coordinators mark the current draft agreed, and the community is launched.
    Returns the terms and whether this launched the community (it may have been already)."""
    now = clock.now()
    async with database.session() as session:
        terms = await _terms(session, team_id=team_id, draft_id=draft_id)
        record = await load_record(session, team_id=team_id, community_id=terms.community.id or 0)
        if not record.is_coordinator(user_id):
            raise NotAllowed("Only the community's coordinators can mark the terms agreed.")
        require_open(record, CLOSED_TERMS)
        if not terms.current:
            raise Gone("There is a newer draft of the terms: mark that one agreed.")
        if not await terms_rows.mark_agreed(session, draft_id=draft_id, user_id=user_id, now=now):
            return terms, False
        launched = await community_rows.mark_launched(
            session,
            team_id=team_id,
            community_id=terms.community.id or 0,
            user_id=user_id,
            now=now,
        )
        await live_messages.bump(session, team_id=team_id, subject=terms.subject)
    return await terms_by_id(database, team_id=team_id, draft_id=draft_id), launched
