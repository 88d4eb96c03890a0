"""A community's library: the knowledge its members keep all along, not only at closure.

Only what someone explicitly keeps is stored: a message a member saves with the *Save to
knowledge* shortcut (its text as Slack has it, its author, its link, and the title
and tags the saver gives), or an answer to the monthly "What did we learn this month?" prompt
(a `bot.services.sustaining.LEARNING` round). The archive, the export and the closure's
capture start from it. Every save and removal is checked here against the team, the person and
the community, whatever the payload said.

An entry's text is kept in Slack's markup (`&lt;` for a typed `<`, `<@U…>` for a mention), as a
message has it; an answer typed into a form is escaped into the same markup when saved.
`document_line` turns it into parts as read (people as `Person`, `<!channel>` as the words
"@channel"): documents name people by their real names, and a message shows the parts escaped,
so nothing kept ever pings anyone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from bot.answers import clean, field_error
from bot.catalogue import Field, Kind
from bot.clock import Clock
from bot.services.access import UNKNOWN, InChannel, is_current_member, may_see
from bot.services.communities import (
    CommunityRecord,
    community_in_channel,
    load_record,
    require_open,
)
from bot.services.document import Inline, Line, Person
from bot.services.errors import Gone, InvalidAnswers, NoCommunity, NotAllowed
from bot.text import escape
from storage.db import Database
from storage.models import LibraryEntry
from storage.repositories import library as rows
from storage.repositories import scheduled

TITLE = Field("title", "Title", Kind.LINE, required=True, max_length=150)
TAGS = Field(
    "tags",
    "Tags",
    Kind.LINE,
    max_length=300,
    hint="Separated by commas, e.g. data sharing, procurement",
)
SAVE_FIELDS = (TITLE, TAGS)
LEARNED = Field("learned", "What did we learn?", Kind.TEXT, required=True, max_length=3000)
ANSWER_FIELDS = (LEARNED, Field("title", "In a few words", Kind.LINE, max_length=150), TAGS)
MAX_TAGS = 10
TAG_LENGTH = 40
SHOWN = 10  # entries listed by `/cop library`

MEMBERS_ONLY = "Only the community's members can keep its knowledge."
REMOVERS_ONLY = (
    "Only its author, whoever saved it, or the community's coordinators can remove an entry."
)
GONE = "That entry is no longer in the community's library."
CLOSED_LIBRARY = "This community is closed: its library is kept in its archive."
ALREADY_SAVED = "This message is already in the community's library, as “{title}”."
NOT_A_PERSON = "Only a person's message can be kept in the community's library."
TOLD = "library_saved_dm"  # the author told their message was kept, with *Remove*


@dataclass(frozen=True)
class Saved:
    entry: LibraryEntry
    new: bool  # False: the saver's own entry, with a new title and tags
    told: int | None  # the scheduled row telling the author, to send now


@dataclass(frozen=True)
class Message:
    """A message as Slack says it is (read from Slack by the handler, never from a payload)."""

    channel_id: str
    ts: str
    text: str  # Slack's markup
    author: str
    permalink: str | None


# -- the text, as Slack has it ----------------------------------------------------------------

_TOKEN = re.compile(r"<([^<>]*)>")
_USER = re.compile(r"@([UW][A-Z0-9]+)(?:\|([^>]*))?")
_CHANNEL = re.compile(r"#(C[A-Z0-9]+)(?:\|([^>]*))?")
_LINK = re.compile(r"((?:https?|mailto):[^|>]*)(?:\|(.*))?", re.DOTALL)


def _special(inner: str) -> str:
    """`!channel`, `!here`, `!subteam^S1|@team`, `!date^…|fallback`: what it reads as."""
    if "|" in inner:
        return inner.partition("|")[2]
    return "@" + inner[1:].partition("^")[0]


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def document_line(markup: str) -> Line:
    """The text as a document's parts: plain text as read, people as `Person`."""
    parts: list[Inline] = []
    end = 0
    for token in _TOKEN.finditer(markup):
        parts.append(_unescape(markup[end : token.start()]))
        inner = token.group(1)
        if user := _USER.fullmatch(inner):
            parts.append(Person(user.group(1)))
        elif channel := _CHANNEL.fullmatch(inner):
            parts.append("#" + _unescape(channel.group(2) or channel.group(1)))
        elif link := _LINK.fullmatch(inner):
            url, label = link.group(1), link.group(2)
            parts.append(f"{_unescape(label)} ({url})" if label else url)
        elif inner.startswith("!"):
            parts.append(_unescape(_special(inner)))
        else:
            parts.append(_unescape(token.group(0)))
        end = token.end()
    parts.append(_unescape(markup[end:]))
    return tuple(p for p in parts if p != "")


def plain_text(markup: str) -> str:
    """The text as plain words (a title's starting point, what search looks in)."""
    return "".join(
        ("@" + "someone") if isinstance(p, Person) else str(p) for p in document_line(markup)
    )


def first_line(markup: str) -> str:
    """A title to start from: the message's first line that has words, shortened."""
    for line in plain_text(markup).splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= TITLE.max_length else line[: TITLE.max_length - 1] + "…"
    return ""


def tags_of(typed: str | None) -> list[str]:
    """Comma-separated tags, trimmed, without repeats (any case), in the order typed."""
    seen: dict[str, str] = {}
    for tag in (typed or "").split(","):
        tag = " ".join(tag.split())
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag
    return list(seen.values())


def _checked(fields: tuple[Field, ...], submitted: dict[str, object]) -> tuple[dict, list[str]]:
    answers = clean(submitted)
    errors = {
        spec.key: problem
        for spec in fields
        if (problem := field_error(spec, answers.get(spec.key)))
    }
    tags = tags_of(answers.get(TAGS.key))
    if len(tags) > MAX_TAGS:
        errors[TAGS.key] = f"Please give at most {MAX_TAGS} tags."
    elif any(len(t) > TAG_LENGTH for t in tags):
        errors[TAGS.key] = f"Please keep each tag under {TAG_LENGTH} characters."
    if errors:
        raise InvalidAnswers(errors)
    return answers, tags


# -- who may keep what ------------------------------------------------------------------------


async def _require_member(
    database: Database, record: CommunityRecord, user_id: str, in_channel: InChannel | None
) -> None:
    """A private channel's community is refused to anyone not in it, as if it did not exist;
    anyone else who is not a member is told only members keep its knowledge."""
    if not await may_see(database, record, user_id, in_channel):
        raise NoCommunity(UNKNOWN)
    assert record.community.id is not None
    if record.is_coordinator(user_id) or await is_current_member(
        database, community_id=record.community.id, user_id=user_id
    ):
        return
    if in_channel is not None and await in_channel(record.community.channel_id, user_id):
        return
    raise NotAllowed(MEMBERS_ONLY)


async def community_of_channel(
    database: Database,
    *,
    team_id: str,
    user_id: str,
    channel_id: str,
    in_channel: InChannel | None = None,
) -> CommunityRecord:
    """The community whose channel a message was in, if this person may keep its knowledge:
    this team's, one they may see and are a member of, and open."""
    record = await community_in_channel(database, team_id=team_id, channel_id=channel_id)
    if record is None:
        raise NoCommunity(UNKNOWN)
    await _require_member(database, record, user_id, in_channel)
    require_open(record, CLOSED_LIBRARY)
    return record


async def _community(database: Database, *, team_id: str, community_id: int) -> CommunityRecord:
    try:
        async with database.session() as session:
            return await load_record(session, team_id=team_id, community_id=community_id)
    except NoCommunity:
        raise NoCommunity(UNKNOWN) from None


# -- saving -------------------------------------------------------------------------------------


async def save_message(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    user_id: str,
    community_id: int,
    message: Message,
    submitted: dict[str, object],
    in_channel: InChannel | None = None,
) -> Saved:
    """Keep a message in its community's library; its author (if someone else) is told. The message
    must be in the community's own channel (or a thread there), the community this team's and
    open, and the person one of its members. The same message saved again by whoever saved it
    changes its title and tags; by anyone else, it is refused."""
    answers, tags = _checked(SAVE_FIELDS, submitted)
    record = await _community(database, team_id=team_id, community_id=community_id)
    if record.community.channel_id != message.channel_id:
        raise NoCommunity(UNKNOWN)
    await _require_member(database, record, user_id, in_channel)
    if not message.author:
        raise NotAllowed(NOT_A_PERSON)
    try:
        async with database.session() as session:
            record = await load_record(session, team_id=team_id, community_id=community_id)
            require_open(record, CLOSED_LIBRARY)
            found = await rows.of_message(session, community_id=community_id, message_ts=message.ts)
            if found is not None:
                if found.saved_by != user_id:
                    raise InvalidAnswers({TITLE.key: ALREADY_SAVED.format(title=found.title)})
                found.title, found.tags = answers[TITLE.key], tags
                session.add(found)
                await session.flush()
                return Saved(found, new=False, told=None)
            entry = LibraryEntry(
                team_id=team_id,
                community_id=community_id,
                title=answers[TITLE.key],
                tags=tags,
                text=message.text,
                author=message.author,
                channel_id=message.channel_id,
                message_ts=message.ts,
                permalink=message.permalink,
                saved_by=user_id,
                saved_at=clock.now(),
            )
            session.add(entry)
            await session.flush()
            told = None
            if message.author != user_id:
                row = await scheduled.schedule(
                    session,
                    team_id=team_id,
                    community_id=community_id,
                    kind=TOLD,
                    due_at=clock.now(),
                    payload={"user": message.author, "entry": entry.id, "saved_by": user_id},
                    dedupe_key=f"{TOLD}:{entry.id}",
                    channel=message.author,
                )
                told = row.id if row is not None else None
            return Saved(entry, new=True, told=told)
    except IntegrityError:
        raise InvalidAnswers({TITLE.key: ALREADY_SAVED.format(title=answers[TITLE.key])}) from None


async def save_answer(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    user_id: str,
    community_id: int,
    period: str,
    submitted: dict[str, object],
) -> LibraryEntry:
    """A member's answer to "What did we learn this month?" kept as their entry for that
    month (answering again changes it). Members only, while the community is open."""
    if not re.fullmatch(r"\d{4}-\d{2}", period):
        raise Gone("That prompt is not one Cultivate sent.")
    answers, tags = _checked(ANSWER_FIELDS, submitted)
    record = await _community(database, team_id=team_id, community_id=community_id)
    await _require_member(database, record, user_id, None)
    learned = str(answers[LEARNED.key])
    title = str(answers.get("title") or "") or first_line(escape(learned))
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        require_open(record, CLOSED_LIBRARY)
        entry = await rows.answer_of(
            session, community_id=community_id, period=period, author=user_id
        )
        if entry is None:
            entry = LibraryEntry(
                team_id=team_id,
                community_id=community_id,
                title=title,
                text="",
                author=user_id,
                period=period,
                saved_by=user_id,
                saved_at=clock.now(),
            )
        entry.title, entry.tags, entry.text = title, tags, escape(learned)
        session.add(entry)
        await session.flush()
        return entry


# -- removing ---------------------------------------------------------------------------------


async def remove_entry(
    database: Database, *, team_id: str, user_id: str, entry_id: int
) -> LibraryEntry:
    """Take an entry out of the library: its author, whoever saved it, or a coordinator."""
    async with database.session() as session:
        entry = await rows.entry(session, team_id=team_id, entry_id=entry_id)
        if entry is None:
            raise Gone(GONE)
        record = await load_record(session, team_id=team_id, community_id=entry.community_id)
        if user_id not in (entry.author, entry.saved_by) and not record.is_coordinator(user_id):
            raise NotAllowed(REMOVERS_ONLY)
        await session.delete(entry)
    return entry


async def entry_by_id(database: Database, *, team_id: str, entry_id: int) -> LibraryEntry:
    async with database.session() as session:
        entry = await rows.entry(session, team_id=team_id, entry_id=entry_id)
    if entry is None:
        raise Gone(GONE)
    return entry


# -- finding ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    entries: list[LibraryEntry]  # the newest first, at most SHOWN
    words: list[str]


async def find(database: Database, record: CommunityRecord, typed: str) -> Found:
    """`/cop library [words]`: the entries holding every word (any case) in their title,
    tags or text, newest first; with no words, the latest."""
    assert record.community.id is not None
    words = typed.split()[:10]
    async with database.session() as session:
        found = await rows.entries(
            session,
            community_id=record.community.id,
            words=words,
            text_words=[escape(w) for w in words],
            limit=SHOWN,
        )
    return Found(list(found), words)


async def entries_of(database: Database, *, community_id: int) -> list[LibraryEntry]:
    """Every entry of the community, newest first (the archive, the capture)."""
    async with database.session() as session:
        return list(await rows.entries(session, community_id=community_id))


async def held(database: Database, *, community_id: int) -> tuple[int, list[LibraryEntry]]:
    """How many entries the library holds, and the latest few."""
    async with database.session() as session:
        total = await rows.count(session, community_id=community_id)
        latest = await rows.entries(session, community_id=community_id, limit=5)
    return total, list(latest)


def authors(entries: Sequence[LibraryEntry]) -> set[str]:
    """Everyone the entries name (authors, savers, people mentioned): for real names."""
    found = {e.author for e in entries} | {e.saved_by for e in entries}
    for entry in entries:
        found |= {p.user_id for p in document_line(entry.text) if isinstance(p, Person)}
    return found
