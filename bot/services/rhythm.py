"""The community's rhythm as health figures, the digest and the sponsor report need it:
meetings held (with attendance, from RSVPs) and milestones (with whether they are done: the
governance milestone's "Done on" field). `bot.services.health` computes every figure from these
two functions, so the figures, the digest and the report cannot disagree about them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.catalogue import GOVERNANCE, LAUNCH_WORKSHOP_HELD, TERMS_AGREED
from bot.clock import Clock
from bot.services.communities import community_by_id
from bot.services.meeting_form import LAUNCH
from storage.db import Database
from storage.repositories import meetings as meeting_rows


@dataclass(frozen=True)
class MeetingHeld:
    title: str  # as typed: escape before posting
    starts_at: datetime  # aware, UTC
    going: int
    maybe: int = 0
    cant: int = 0


@dataclass(frozen=True)
class MilestoneState:
    title: str  # as typed: escape before posting
    due: date
    owner: str | None
    done: bool
    done_on: date | None = None


async def meetings_between(
    database: Database, *, team_id: str, community_id: int, start: datetime, end: datetime
) -> list[MeetingHeld]:
    """Meetings that started in [start, end), oldest first."""
    async with database.session() as session:
        pairs = await meeting_rows.occurrences_started_between(
            session, team_id=team_id, community_id=community_id, start=start, end=end
        )
        counts = await meeting_rows.rsvp_counts_for(
            session, occurrence_ids=[o.id for o, _ in pairs if o.id is not None]
        )
    return [
        MeetingHeld(
            title=meeting.title,
            starts_at=occurrence.starts_at,
            going=counts.get(occurrence.id or 0, {}).get("going", 0),
            maybe=counts.get(occurrence.id or 0, {}).get("maybe", 0),
            cant=counts.get(occurrence.id or 0, {}).get("cant", 0),
        )
        for occurrence, meeting in pairs
    ]


async def milestones(
    database: Database, clock: Clock, *, team_id: str, community_id: int
) -> list[MilestoneState]:
    """The community's milestones as governance lists them, by due date. A milestone done
    when something Cultivate records happens (the launch workshop held, the terms agreed) is
    done from that day, whether or not anyone typed the date."""
    record = await community_by_id(database, team_id=team_id, community_id=community_id)
    community = record.community
    async with database.session() as session:
        held = await meeting_rows.occurrences_started_between(
            session,
            team_id=team_id,
            community_id=community_id,
            start=community.created_at,
            end=clock.now(),
        )
    zone = ZoneInfo(community.timezone)
    happened: dict[str, date] = {}
    launches = [o.starts_at for o, meeting in held if meeting.purpose == LAUNCH]
    if launches:
        happened[LAUNCH_WORKSHOP_HELD] = min(launches).astimezone(zone).date()
    if community.launched_at is not None:  # launched when the terms were marked agreed
        happened[TERMS_AGREED] = community.launched_at.astimezone(zone).date()
    items = record.stages[GOVERNANCE.key].answers.get("milestones") or []
    found = [_state(item, happened) for item in items if isinstance(item, dict)]
    return sorted((m for m in found if m is not None), key=lambda m: (m.due, m.title))


def _state(item: dict[str, Any], happened: dict[str, date]) -> MilestoneState | None:
    try:
        due = date.fromisoformat(str(item.get("due")))
    except ValueError:
        return None  # a milestone without a valid date cannot be due or overdue
    done = item.get("done")
    done_on = None
    if isinstance(done, str):
        try:
            done_on = date.fromisoformat(done)
        except ValueError:
            done_on = None
    if not done and str(item.get("done_when")) in happened:
        done = done_on = happened[str(item["done_when"])]
    return MilestoneState(
        title=str(item.get("title") or ""),
        due=due,
        owner=item.get("owner") or None,
        done=bool(done),
        done_on=done_on,
    )
