"""The terms of reference: drafted from the saved stage answers, agreed by members, and, once
the coordinators mark a draft agreed, the community is launched.

The draft is a document built from the catalogue's `TERMS_OF_REFERENCE` (which answers go
under which topic), so a question added to the checklist reaches the terms by a line of data;
it is kept as Markdown (people by name) and written as Word and as a canvas (people as
mentions) from the same parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.services import live
from bot.services.communities import CommunityRecord, load_record, require_coordinator, require_open
from bot.services.document import Document, Names, to_markdown
from bot.services.errors import EditConflict, Gone, NotAllowed
from bot.services.milestones import today_for
from bot.services.writing import gaps_section, opening, topics
from bot.text import calendar_date
from storage.db import Database
from storage.models import Community, TermsDraft
from storage.repositories import communities as community_rows
from storage.repositories import live_messages
from storage.repositories import terms as terms_rows

TITLE = "Terms of Reference"


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


def document(drafted: Drafted) -> Document:
    """The draft as a document, to write again with another way of naming people (e.g. as
    mentions for a canvas) or as a Word file."""
    return build(
        drafted.record,
        version=drafted.draft.version,
        drafted_on=today_for(drafted.record.community, drafted.draft.drafted_at),
    )


def terms_subject(draft_id: int) -> str:
    return f"terms:{draft_id}"


# -- the document -----------------------------------------------------------------------


def build(record: CommunityRecord, *, version: int, drafted_on: date) -> Document:
    """The terms as prose under topic headings (the catalogue's), then what is missing."""
    community = record.community
    terms = opening(
        f"{TITLE}: {community.name}",
        f"Draft {version}, {calendar_date(drafted_on)}. Drafted from the answers saved "
        "in Slack, to discuss and agree at the launch workshop.",
        domain=community.domain,
    )
    terms.add(*topics(record, numbered=True), *gaps_section(record))
    return terms


def render(record: CommunityRecord, *, version: int, drafted_on: date, names: Names) -> str:
    return to_markdown(build(record, version=version, drafted_on=drafted_on), names)


# -- drafts, agreement, launch ----------------------------------------------------------


async def draft_terms(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    names: Names,
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
                        names=names,
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
    await live.record_message(
        database,
        team_id=terms.draft.team_id,
        community_id=terms.draft.community_id,
        subject=terms.subject,
        channel_id=channel_id,
        ts=ts,
    )


async def terms_by_id(database: Database, *, team_id: str, draft_id: int) -> Terms:
    async with database.session() as session:
        return await _terms(session, team_id=team_id, draft_id=draft_id)


async def latest_terms(database: Database, record: CommunityRecord) -> Terms | None:
    """The newest draft of a community already loaded, and who agreed to it."""
    found = await _latest_and_agreed(database, record)
    if found is None:
        return None
    draft, agreed = found
    return Terms(community=record.community, draft=draft, agreed=list(agreed), current=True)


async def latest_draft(database: Database, record: CommunityRecord) -> TermsDraft | None:
    """The community's newest draft of its terms, if any."""
    found = await _latest_and_agreed(database, record)
    return None if found is None else found[0]


async def _latest_and_agreed(
    database: Database, record: CommunityRecord
) -> tuple[TermsDraft, list[str]] | None:
    """The newest draft and who agreed to it, from one statement (read once while an answer
    is built: the next step and the launch's section both ask)."""
    community = record.community
    assert community.id is not None

    async def load() -> tuple[TermsDraft, list[str]] | None:
        async with database.session() as session:
            return await terms_rows.latest_draft_and_agreed(
                session, team_id=community.team_id, community_id=community.id or 0
            )

    return await record.once("latest_draft", load)


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
