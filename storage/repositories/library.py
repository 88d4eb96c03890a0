"""A community's library: the entries its members chose to keep (saved messages, monthly
answers), found by words, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, cast, delete, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import LibraryEntry
from storage.repositories import scoped


async def entry(session: AsyncSession, *, team_id: str, entry_id: int) -> LibraryEntry | None:
    return await scoped.by_id(session, LibraryEntry, team_id=team_id, row_id=entry_id)


async def of_message(
    session: AsyncSession, *, community_id: int, message_ts: str
) -> LibraryEntry | None:
    result = await session.exec(
        select(LibraryEntry).where(
            LibraryEntry.community_id == community_id, LibraryEntry.message_ts == message_ts
        )
    )
    return result.first()


async def answer_of(
    session: AsyncSession, *, community_id: int, period: str, author: str
) -> LibraryEntry | None:
    result = await session.exec(
        select(LibraryEntry).where(
            LibraryEntry.community_id == community_id,
            LibraryEntry.period == period,
            LibraryEntry.author == author,
        )
    )
    return result.first()


async def entries(
    session: AsyncSession,
    *,
    community_id: int,
    words: Sequence[str] = (),
    text_words: Sequence[str] = (),
    limit: int | None = None,
) -> Sequence[LibraryEntry]:
    """The community's entries, newest first; with `words`, those holding every word (any
    case) in their title, tags or text (`text_words`: each word as the text is stored)."""
    query = select(LibraryEntry).where(LibraryEntry.community_id == community_id)
    for word, in_text in zip(words, text_words or words, strict=True):
        query = query.where(
            or_(
                func.lower(LibraryEntry.title).contains(word.lower(), autoescape=True),
                func.lower(cast(LibraryEntry.tags, String)).contains(word.lower(), autoescape=True),
                func.lower(LibraryEntry.text).contains(in_text.lower(), autoescape=True),
            )
        )
    query = query.order_by(col(LibraryEntry.saved_at).desc(), col(LibraryEntry.id).desc())
    if limit is not None:
        query = query.limit(limit)
    result = await session.exec(query)
    return result.all()


async def count(session: AsyncSession, *, community_id: int) -> int:
    result = await session.exec(
        select(func.count())
        .select_from(LibraryEntry)
        .where(LibraryEntry.community_id == community_id)
    )
    return int(result.one())


async def delete_by_author(session: AsyncSession, *, team_id: str, user_id: str) -> int:
    """A forgotten person's own words go: every entry they wrote, in this team."""
    result = await session.exec(
        delete(LibraryEntry).where(  # type: ignore[call-overload]
            col(LibraryEntry.team_id) == team_id, col(LibraryEntry.author) == user_id
        )
    )
    return int(result.rowcount or 0)
