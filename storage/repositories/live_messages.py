"""Messages redrawn from rows: a change counter, and a short claim on the right to redraw.

The claim is a conditional UPDATE, like the scheduler's claim on due rows: it succeeds for
one caller only, and only while there is a change not yet shown and nobody else holds it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import add_new
from storage.models import LiveMessage


async def add(
    session: AsyncSession,
    *,
    team_id: str,
    community_id: int,
    subject: str,
    channel_id: str,
    ts: str,
) -> bool:
    """Record a posted message. False if one is already recorded for the subject."""
    posted = LiveMessage(
        team_id=team_id, community_id=community_id, subject=subject, channel_id=channel_id, ts=ts
    )
    return await add_new(session, posted)


async def find(session: AsyncSession, *, team_id: str, subject: str) -> LiveMessage | None:
    result = await session.exec(
        select(LiveMessage).where(LiveMessage.team_id == team_id, LiveMessage.subject == subject)
    )
    return result.first()


async def subjects_posted(session: AsyncSession, *, team_id: str, subjects: list[str]) -> set[str]:
    if not subjects:
        return set()
    result = await session.exec(
        select(LiveMessage.subject).where(
            LiveMessage.team_id == team_id, col(LiveMessage.subject).in_(subjects)
        )
    )
    return set(result.all())


async def bump(session: AsyncSession, *, team_id: str, subject: str) -> None:
    """Note that what the message shows has changed (an atomic increment, in the caller's
    unit of work, so the change and the note commit together)."""
    await session.exec(
        update(LiveMessage)
        .where(col(LiveMessage.team_id) == team_id, col(LiveMessage.subject) == subject)
        .values(changes=LiveMessage.changes + 1)
    )


async def claim_redraw(
    session: AsyncSession, *, team_id: str, subject: str, now: datetime, lease: timedelta
) -> tuple[str, str, int] | None:
    """Take the right to redraw: (channel, ts, the change being drawn), or None when there is
    nothing new to show or someone else is drawing it."""
    result = await session.exec(
        update(LiveMessage)
        .where(
            col(LiveMessage.team_id) == team_id,
            col(LiveMessage.subject) == subject,
            col(LiveMessage.shown) < col(LiveMessage.changes),
            or_(
                col(LiveMessage.redrawing_until).is_(None),
                col(LiveMessage.redrawing_until) < now,
            ),
        )
        .values(redrawing_until=now + lease)
        .returning(LiveMessage.channel_id, LiveMessage.ts, LiveMessage.changes)
    )
    row = result.first()
    return (row[0], row[1], row[2]) if row is not None else None


async def finish_redraw(
    session: AsyncSession, *, team_id: str, subject: str, shown: int | None
) -> None:
    """Give the claim back, recording which change is now shown (None: nothing was drawn)."""
    values: dict[str, object] = {"redrawing_until": None}
    if shown is not None:
        values["shown"] = shown
    await session.exec(
        update(LiveMessage)
        .where(col(LiveMessage.team_id) == team_id, col(LiveMessage.subject) == subject)
        .values(**values)
    )
