"""The community's rhythm as health figures, the digest and the sponsor report need it:
meetings held (with attendance) and milestones (with whether they are done).

This is the one seam between sustaining and meetings. Meetings, RSVPs and a milestone's
"done" state are built separately (issue 3); until they land:

- `meetings_between` returns no meetings, so "meetings held" is 0 and every digest suggests
  scheduling one. WHEN MEETINGS LAND, replace its body with a query of the meetings service
  for the community's occurrences that started in [start, end) and were not cancelled, each
  as a `MeetingHeld`: its title, its start (aware, UTC), and its RSVP counts (going, maybe,
  can't). Keep the order (oldest first).
- `milestones` reads the governance stage's `milestones` answer. An item is done when it has a
  truthy `done` key (issue 3 stores the day it was done there as "YYYY-MM-DD", which is read
  as `done_on`). WHEN MILESTONES LAND, this can stay as it is if they keep that key; if they
  move elsewhere, return the same `MilestoneState`s from there.

Nothing else changes: `bot.services.health` computes every figure from these two functions,
and tests of meeting figures monkeypatch `meetings_between` with made-up meetings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.catalogue import GOVERNANCE
from bot.clock import Clock
from bot.services.communities import community_by_id
from storage.db import Database


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
    """Meetings that started in [start, end), oldest first. None until meetings land."""
    return []


async def milestones(
    database: Database, clock: Clock, *, team_id: str, community_id: int
) -> list[MilestoneState]:
    """The community's milestones as governance lists them, by due date."""
    record = await community_by_id(database, team_id=team_id, community_id=community_id)
    items = record.stages[GOVERNANCE.key].answers.get("milestones") or []
    found = [_state(item) for item in items if isinstance(item, dict)]
    return sorted((m for m in found if m is not None), key=lambda m: (m.due, m.title))


def _state(item: dict[str, Any]) -> MilestoneState | None:
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
    return MilestoneState(
        title=str(item.get("title") or ""),
        due=due,
        owner=item.get("owner") or None,
        done=bool(done),
        done_on=done_on,
    )
