"""The community's next meeting, as other features (the welcome) need to mention it.

This is the one seam between members and meetings. Meetings are built separately; until they
are wired in, no community has a next meeting and `next_meeting` returns None. To wire them,
replace the body of `next_meeting` with a call into the meetings service that returns the
first meeting starting after `clock.now()` (not cancelled) as an `UpcomingMeeting`. Nothing
else changes: the welcome DM, its {next_meeting} placeholder and the preview read it here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
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
    return None
