"""The community's next meeting, as other features (the welcome) need to mention it: the one
place members ask meetings anything, so the welcome DM, its {next_meeting} placeholder and the
editor's preview all read the same answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.services import meetings
from storage.db import Database


@dataclass(frozen=True)
class UpcomingMeeting:
    title: str  # as a coordinator typed it: escape before posting
    starts_at: datetime  # aware, UTC
    where: str | None = None  # a room or a link, as typed


async def next_meeting(
    database: Database, clock: Clock, *, team_id: str, community_id: int
) -> UpcomingMeeting | None:
    """The community's next meeting after now, or None if none is planned."""
    now = clock.now()
    sessions = await meetings.upcoming(
        database, clock, team_id=team_id, community_id=community_id, limit=5
    )
    for session in sessions:
        if session.occurrence.starts_at > now and not session.cancelled:
            return UpcomingMeeting(
                title=session.meeting.title,
                starts_at=session.occurrence.starts_at,
                where=session.meeting.place or None,
            )
    return None
