"""Forgetting a person: what Cultivate holds about someone in a workspace, and erasing it.

`PERSON_COLUMNS` is the one catalogue of every column that can name a person, and what erasure
does to it. A new table or column that names someone goes here (tests/test_erasure.py fails
until it does). Counts stay true: a row that counts towards a community's figures (a
membership, a day's message count, an RSVP) keeps counting, under an anonymous stand-in that
nothing links back to the person (`bot.stand_ins`), never looked up or shown as a name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.catalogue import ROLES
from bot.clock import Clock
from bot.stand_ins import FORMER_MEMBER, new_stand_in
from bot.text import escape, markdown_escape
from storage.db import Database
from storage.models import (
    ActivityDay,
    CalendarFeed,
    Closure,
    Community,
    Installation,
    Invitation,
    InvitationClick,
    JoinRequest,
    KnowledgeCapture,
    LibraryEntry,
    Meeting,
    MeetingAction,
    MeetingOccurrence,
    MemberProfile,
    Membership,
    Perspective,
    Rsvp,
    ScheduledSend,
    StageRevision,
    SustainingSettings,
    TermsAgreement,
    TermsDraft,
    ValueStory,
    WelcomeSettings,
)
from storage.repositories import library as library_rows
from storage.repositories import people, scheduled
from storage.repositories import stages as stage_rows

log = logging.getLogger(__name__)


class Way(StrEnum):
    STAND_IN = "stand-in"  # replaced by the person's anonymous stand-in: counts stay true
    CLEAR = "clear"  # emptied
    PEOPLE = "people"  # JSON holding lists of people: they are taken out of every list
    PAYLOAD = "payload"  # JSON input of a scheduled send: their id becomes the stand-in
    KEY = "key"  # a text key with their id inside ("capture:3:reminder:1:U123"): likewise
    DELETE = "delete"  # the row is theirs alone (their own words): deleted


@dataclass(frozen=True)
class PersonColumn:
    model: type[SQLModel]
    column: str
    way: Way
    what: str  # what it holds, as the person is told in `/cop forget`


PERSON_COLUMNS: tuple[PersonColumn, ...] = (
    PersonColumn(Community, "created_by", Way.STAND_IN, "communities you started"),
    PersonColumn(Community, "launched_by", Way.STAND_IN, "communities you launched"),
    PersonColumn(StageRevision, "edited_by", Way.STAND_IN, "checklist answers you saved"),
    PersonColumn(
        StageRevision, "answers", Way.PEOPLE, "checklist answers naming you (roles, experts…)"
    ),
    PersonColumn(Membership, "user_id", Way.STAND_IN, "your memberships, joined and left"),
    PersonColumn(Membership, "level_set_by", Way.STAND_IN, "participation levels you set"),
    PersonColumn(ScheduledSend, "payload", Way.PAYLOAD, "messages scheduled to you or naming you"),
    PersonColumn(ScheduledSend, "dedupe_key", Way.KEY, "messages scheduled to you (their keys)"),
    PersonColumn(ScheduledSend, "subject", Way.KEY, "messages scheduled about you"),
    PersonColumn(ScheduledSend, "channel", Way.KEY, "messages scheduled to you (where they go)"),
    PersonColumn(Installation, "installer_user_id", Way.CLEAR, "installing Cultivate"),
    PersonColumn(ActivityDay, "user_id", Way.STAND_IN, "days with your message counts"),
    PersonColumn(MemberProfile, "user_id", Way.STAND_IN, "your introductions"),
    PersonColumn(JoinRequest, "user_id", Way.STAND_IN, "your requests to join"),
    PersonColumn(JoinRequest, "decided_by", Way.STAND_IN, "requests to join you decided"),
    PersonColumn(WelcomeSettings, "updated_by", Way.STAND_IN, "welcome messages you edited"),
    PersonColumn(Meeting, "organiser", Way.STAND_IN, "meetings you organised"),
    PersonColumn(Meeting, "facilitator", Way.CLEAR, "meetings you facilitate"),
    PersonColumn(Meeting, "updated_by", Way.STAND_IN, "meetings you changed"),
    PersonColumn(Meeting, "cancelled_by", Way.STAND_IN, "meetings you cancelled"),
    PersonColumn(MeetingOccurrence, "notes_by", Way.STAND_IN, "meeting notes you wrote"),
    PersonColumn(Rsvp, "user_id", Way.STAND_IN, "your answers to meetings (RSVPs)"),
    PersonColumn(TermsDraft, "drafted_by", Way.STAND_IN, "terms of reference you drafted"),
    PersonColumn(TermsDraft, "agreed_by", Way.STAND_IN, "terms of reference you marked agreed"),
    PersonColumn(TermsAgreement, "user_id", Way.STAND_IN, "your agreements to terms of reference"),
    PersonColumn(SustainingSettings, "updated_by", Way.STAND_IN, "sustaining settings you saved"),
    PersonColumn(
        SustainingSettings, "report_recipients", Way.PEOPLE, "sponsor reports sent to you"
    ),
    PersonColumn(Perspective, "logged_by", Way.STAND_IN, "guest perspectives you logged"),
    PersonColumn(Invitation, "posted_by", Way.STAND_IN, "invitations you posted"),
    PersonColumn(InvitationClick, "user_id", Way.STAND_IN, "invitations you pressed Join on"),
    PersonColumn(Closure, "closed_by", Way.STAND_IN, "communities you closed"),
    PersonColumn(Closure, "recipients", Way.PEOPLE, "archives sent to you"),
    PersonColumn(KnowledgeCapture, "user_id", Way.STAND_IN, "what you shared at a closure"),
    PersonColumn(CalendarFeed, "user_id", Way.DELETE, "your private calendar addresses"),
    PersonColumn(ValueStory, "user_id", Way.DELETE, "your value stories"),
    # The action stays with its meeting, owned by "a former member"; its reminders are dropped.
    PersonColumn(MeetingAction, "owner", Way.STAND_IN, "meeting actions you own"),
    PersonColumn(MeetingAction, "done_by", Way.STAND_IN, "meeting actions you marked done"),
    # Entries they wrote are deleted first (their words); those they only saved keep the text
    # and show the saver as "a former member"; a mention of them in an entry's text reads so.
    PersonColumn(LibraryEntry, "author", Way.STAND_IN, "your words in a community's library"),
    PersonColumn(LibraryEntry, "saved_by", Way.STAND_IN, "messages you saved to a library"),
    PersonColumn(LibraryEntry, "text", Way.PEOPLE, "library entries mentioning you"),
)

# Columns that look as if they could name a person (a Slack-id-sized string, or JSON) but do
# not: channels, messages, files, or text that holds no one's id.
NOT_PEOPLE: frozenset[tuple[str, str]] = frozenset(
    {
        ("communities", "channel_id"),
        ("scheduled_sends", "claimed_by"),  # the scheduler process holding the row
        ("processed_events", "claimed_by"),  # the process handling the event
        # An event's body as Slack sent it, held only until its listeners ran (milliseconds),
        # then dropped: it is gone long before anyone could ask to be forgotten.
        ("processed_events", "body"),
        ("stage_revisions", "stage"),
        ("meetings", "reminders"),
        ("join_requests", "notices"),  # coordinators' DM channels and message timestamps
        ("installations", "team_id"),
        ("installations", "enterprise_id"),
        ("installations", "app_id"),
        ("installations", "bot_id"),
        ("installations", "bot_user_id"),
        ("live_messages", "channel_id"),
        ("health_pictures", "kind"),
        ("health_pictures", "file_id"),
        ("invitations", "channel_id"),
        ("closures", "recipient_channel"),
        ("knowledge_captures", "answers"),  # their text: removed or kept, as they choose
        ("value_stories", "answers"),  # their words: deleted with the story (Way.DELETE)
        ("meeting_actions", "dm_channel"),  # the owner's DM with the app, where Done was sent
        ("library_entries", "tags"),  # words the saver typed
        ("library_entries", "channel_id"),
        ("library_entries", "message_ts"),
    }
)


@dataclass(frozen=True)
class CommunityHeld:
    id: int
    name: str
    roles: list[str]
    only_coordinator: bool


@dataclass(frozen=True)
class Holdings:
    """What Cultivate holds about one person in one workspace."""

    communities: list[CommunityHeld]
    counts: list[tuple[str, int]]  # (what, how many rows)
    introductions: list[dict[str, str]]  # what they said about themselves
    join_requests: list[tuple[str, str | None]]  # (state, reason)

    @property
    def left_without_coordinator(self) -> list[str]:
        return [c.name for c in self.communities if c.only_coordinator]

    @property
    def nothing(self) -> bool:
        return not self.communities and not any(n for _, n in self.counts)


def _roles(answers: dict[str, Any], user_id: str) -> list[str]:
    roles = []
    if user_id in (answers.get("coordinators") or []):
        roles.append("coordinator")
    if user_id in (answers.get("facilitators") or []):
        roles.append("facilitator")
    for assignment in answers.get("assignments") or []:
        if isinstance(assignment, dict) and user_id in (assignment.get("people") or []):
            roles.append(str(assignment.get("role") or "a role"))
    return roles


async def _current_roles(session: AsyncSession, community: Community) -> dict[str, Any]:
    assert community.id is not None
    revision = await stage_rows.latest_revision(session, community_id=community.id, stage=ROLES.key)
    return dict(revision.answers) if revision is not None else {}


async def holdings(database: Database, *, team_id: str, user_id: str) -> Holdings:
    async with database.session() as session:
        communities = []
        for community in await people.communities_of(session, team_id=team_id, user_id=user_id):
            assert community.id is not None
            answers = await _current_roles(session, community)
            coordinators = list(answers.get("coordinators") or [])
            communities.append(
                CommunityHeld(
                    id=community.id,
                    name=community.name,
                    roles=_roles(answers, user_id),
                    only_coordinator=coordinators == [user_id],
                )
            )
        counts = []
        for spec in PERSON_COLUMNS:
            if spec.way is Way.KEY:
                continue  # the same rows as their payloads: counted once, there
            if spec.way in (Way.STAND_IN, Way.CLEAR, Way.DELETE):
                n = await people.count_naming(
                    session, model=spec.model, column=spec.column, team_id=team_id, user_id=user_id
                )
            else:
                n = len(await _mentioning(session, spec, team_id=team_id, user_id=user_id))
            counts.append((spec.what, n))
        profiles = await people.profiles_of(session, team_id=team_id, user_id=user_id)
        requests = await people.join_requests_of(session, team_id=team_id, user_id=user_id)
    fields = ("role", "organisation", "interests", "hopes_to_give", "hopes_to_get")
    return Holdings(
        communities=communities,
        counts=counts,
        introductions=[{f: getattr(p, f) for f in fields if getattr(p, f)} for p in profiles],
        join_requests=[(r.state, r.reason) for r in requests],
    )


async def _mentioning(
    session: AsyncSession, spec: PersonColumn, *, team_id: str, user_id: str
) -> list[Any]:
    rows = await people.rows_mentioning(
        session, model=spec.model, column=spec.column, team_id=team_id, text=user_id
    )
    if spec.way is Way.KEY:
        return list(rows)
    # The text search is a first cut: a longer id containing this one is not them.
    return [r for r in rows if _names(getattr(r, spec.column), user_id)]


def _names(value: Any, user_id: str) -> bool:
    if isinstance(value, str):
        return value == user_id or f"<@{user_id}" in value
    if isinstance(value, list):
        return any(_names(v, user_id) for v in value)
    if isinstance(value, dict):
        return any(_names(v, user_id) for v in value.values())
    return False


def _rewritten(value: Any, user_id: str, stand_in: str | None) -> Any:
    """JSON with the person gone: with a stand-in, their id becomes it (a payload keeps its
    shape); without, they are taken out of every list of people. Mentions of them in text
    read "a former member" either way."""
    if isinstance(value, list):
        kept = value if stand_in is not None else [v for v in value if v != user_id]
        return [_rewritten(v, user_id, stand_in) for v in kept]
    if isinstance(value, dict):
        return {k: _rewritten(v, user_id, stand_in) for k, v in value.items()}
    if value == user_id:
        return stand_in
    if isinstance(value, str):
        return _MENTION(user_id).sub(FORMER_MEMBER, value)
    return value


def _MENTION(user_id: str) -> re.Pattern[str]:
    return re.compile(rf"<@{re.escape(user_id)}(?:\|[^>]*)?>")


@dataclass
class Erased:
    rows: int = 0
    captures_removed: int = 0
    notes_removed: int = 0
    by_column: dict[str, int] = field(default_factory=dict)


async def erase_person(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    user_id: str,
    keep_knowledge: bool,
    names: Sequence[str] = (),
) -> Erased:
    """Erase every row naming the person in this workspace, in one unit of work.

    What they wrote for a community's knowledge (capture answers, meeting notes) is kept
    without their name, or removed, as they chose. `names` (their display and real names, as
    Slack has them) are taken out of the stored terms-of-reference documents, which were
    rendered with names in them."""
    stand_in = new_stand_in()
    now = clock.now()
    erased = Erased()
    async with database.session() as session:
        # Nothing more is sent to them; a request nobody answered yet is withdrawn; Cultivate
        # stops counting them in communities they are still in.
        erased.rows += await scheduled.cancel_for_person(
            session, team_id=team_id, user_id=user_id, now=now
        )
        erased.rows += await people.delete_pending_join_requests(
            session, team_id=team_id, user_id=user_id
        )
        erased.rows += await people.end_open_memberships(
            session, team_id=team_id, user_id=user_id, now=now
        )
        erased.rows += await people.clear_profiles(session, team_id=team_id, user_id=user_id)
        erased.rows += await people.clear_join_reasons(session, team_id=team_id, user_id=user_id)
        # Their words in a community's library go, whatever they chose for the rest: only
        # what someone explicitly kept is stored, and it was theirs.
        erased.rows += await library_rows.delete_by_author(
            session, team_id=team_id, user_id=user_id
        )
        if not keep_knowledge:
            erased.captures_removed = await people.delete_captures(
                session, team_id=team_id, user_id=user_id
            )
            erased.notes_removed = await people.clear_notes(
                session, team_id=team_id, user_id=user_id
            )
        for spec in PERSON_COLUMNS:
            changed = await _erase_column(session, spec, team_id, user_id, stand_in)
            erased.by_column[f"{spec.model.__tablename__}.{spec.column}"] = changed
            erased.rows += changed
        erased.rows += await _scrub_documents(session, team_id, user_id, names)
    log.info("a person was erased from team %s: %d rows changed", team_id, erased.rows)
    return erased


async def _erase_column(
    session: AsyncSession, spec: PersonColumn, team_id: str, user_id: str, stand_in: str
) -> int:
    if spec.way is Way.DELETE:
        return await people.delete_naming(
            session, model=spec.model, column=spec.column, team_id=team_id, user_id=user_id
        )
    if spec.way in (Way.STAND_IN, Way.CLEAR):
        return await people.replace_naming(
            session,
            model=spec.model,
            column=spec.column,
            team_id=team_id,
            user_id=user_id,
            value=stand_in if spec.way is Way.STAND_IN else None,
        )
    rows = await _mentioning(session, spec, team_id=team_id, user_id=user_id)
    for row in rows:
        value = getattr(row, spec.column)
        if spec.way is Way.KEY:
            setattr(row, spec.column, value.replace(user_id, stand_in))
        else:
            kept = stand_in if spec.way is Way.PAYLOAD else None
            setattr(row, spec.column, _rewritten(value, user_id, kept))
        session.add(row)
    await session.flush()
    return len(rows)


async def _scrub_documents(
    session: AsyncSession, team_id: str, user_id: str, names: Sequence[str]
) -> int:
    """The terms of reference are stored rendered: drafts written before documents named people
    wrote them as "@Name" (or "@U123" when Slack could not say a name), later ones by their
    real name, escaped for Markdown. Each form becomes "a former member"."""
    written = {
        form for name in names if name for form in (name, escape(name), markdown_escape(name))
    }
    forms = {f"@{form}": "@" + FORMER_MEMBER for form in written} | dict.fromkeys(
        written, FORMER_MEMBER
    )
    forms |= {f"<@{user_id}>": "@" + FORMER_MEMBER, f"@{user_id}": "@" + FORMER_MEMBER}
    # Longest first: "@Carmen Díaz" goes whole before "Carmen" could take part of it.
    changed = 0
    for needle in sorted(forms, key=len, reverse=True):
        for draft in await people.rows_mentioning(
            session, model=TermsDraft, column="markdown", team_id=team_id, text=needle
        ):
            draft.markdown = draft.markdown.replace(needle, forms[needle])
            session.add(draft)
            changed += 1
    await session.flush()
    return changed
