"""Messages that show what rows say (RSVP counts, agreements) and are redrawn in place.

Whoever changes the rows bumps the message's change counter in the same unit of work. Then
anyone may redraw it: `begin_redraw` hands out the right to draw (to one caller at a time,
and only when there is a change not yet shown), the caller reads the rows, updates the
message, and `end_redraw` records which change it showed. A change that lands while someone
is drawing is drawn by them on their next round. So after any burst of clicks, on any number
of processes, the message ends up showing every click, and a burst costs a few updates
rather than one per click.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from storage.db import Database
from storage.repositories import live_messages

# A drawer that dies mid-draw holds the right this long; the next change then redraws.
REDRAW_LEASE = timedelta(seconds=30)


@dataclass(frozen=True)
class Redraw:
    channel_id: str
    ts: str
    change: int  # the change this drawing shows (at least)


async def record_message(
    database: Database,
    *,
    team_id: str,
    community_id: int,
    subject: str,
    channel_id: str,
    ts: str,
) -> bool:
    async with database.session() as session:
        return await live_messages.add(
            session,
            team_id=team_id,
            community_id=community_id,
            subject=subject,
            channel_id=channel_id,
            ts=ts,
        )


async def changed(database: Database, *, team_id: str, subjects: list[str]) -> None:
    """Note a change made elsewhere (an edit, a cancellation) that these messages must show."""
    async with database.session() as session:
        for subject in subjects:
            await live_messages.bump(session, team_id=team_id, subject=subject)


async def begin_redraw(
    database: Database, clock: Clock, *, team_id: str, subject: str
) -> Redraw | None:
    async with database.session() as session:
        claim = await live_messages.claim_redraw(
            session, team_id=team_id, subject=subject, now=clock.now(), lease=REDRAW_LEASE
        )
    if claim is None:
        return None
    channel_id, ts, change = claim
    return Redraw(channel_id=channel_id, ts=ts, change=change)


async def end_redraw(database: Database, *, team_id: str, subject: str, shown: int | None) -> None:
    async with database.session() as session:
        await live_messages.finish_redraw(session, team_id=team_id, subject=subject, shown=shown)
