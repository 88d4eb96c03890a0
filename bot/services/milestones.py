"""Milestones and deadlines, from the governance stage's answers.

A milestone's owner is reminded a week and a day before it is due (at 09:00 in the
community's time zone). The reminders are re-planned whenever the governance stage is saved,
in the same unit of work as the save, so saved dates and pending reminders never disagree.
A milestone is done when its "Done on" date is set: by a coordinator in the stage form, or by
its owner (or a coordinator) from the reminder, or when what it waits for is seen happening
(the launch workshop held, the terms agreed): `milestone_states` is how every figure, the digest
and the sponsor report see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.answers import Answers
from bot.catalogue import GOVERNANCE, LAUNCH_WORKSHOP_HELD, TERMS_AGREED
from bot.clock import Clock
from bot.services.communities import CommunityRecord, load_record, require_open
from bot.services.errors import EditConflict, Gone, NotAllowed
from bot.services.meeting_form import LAUNCH
from bot.services.sessions import sessions_of
from storage.db import Database
from storage.models import Community
from storage.repositories import scheduled
from storage.repositories import stages as stage_rows

MILESTONE_REMINDER = "milestone_reminder"
SUBJECT = "milestones"
REMIND_DAYS_BEFORE = (7, 1)
REMIND_AT = time(9, 0)  # in the community's time zone
# A reminder more than a day late has lost its point: dropped, not sent.
STALE_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Milestone:
    title: str
    due: date
    owner: str | None
    done: date | None

    def matches(self, item: dict[str, Any]) -> bool:
        return item.get("title") == self.title and item.get("due") == self.due.isoformat()


def milestones_in(answers: Answers) -> list[Milestone]:
    return [
        Milestone(
            title=str(item["title"]),
            due=date.fromisoformat(item["due"]),
            owner=item.get("owner") or None,
            done=date.fromisoformat(item["done"]) if item.get("done") else None,
        )
        for item in answers.get("milestones") or []
    ]


def today_for(community: Community, now: datetime) -> date:
    """The date now where the community is: what "overdue" is measured against."""
    return now.astimezone(ZoneInfo(community.timezone)).date()


async def replan(
    session: AsyncSession, *, community: Community, answers: Answers, version: int, now: datetime
) -> None:
    """Cancel the community's pending milestone reminders and schedule them again from these
    answers (saved as governance `version`)."""
    assert community.id is not None
    await scheduled.cancel(
        session, team_id=community.team_id, community_id=community.id, subject=SUBJECT, now=now
    )
    zone = ZoneInfo(community.timezone)
    for index, milestone in enumerate(milestones_in(answers)):
        if milestone.owner is None or milestone.done is not None:
            continue
        for days in REMIND_DAYS_BEFORE:
            due_at = datetime.combine(milestone.due - timedelta(days=days), REMIND_AT, zone)
            if due_at <= now:
                continue
            await scheduled.schedule(
                session,
                team_id=community.team_id,
                community_id=community.id,
                kind=MILESTONE_REMINDER,
                due_at=due_at,
                stale_at=due_at + STALE_AFTER,
                subject=SUBJECT,
                dedupe_key=f"milestone:{community.id}:v{version}:{index}:{days}",
                channel=milestone.owner,
                payload={
                    "title": milestone.title,
                    "due": milestone.due.isoformat(),
                    "owner": milestone.owner,
                    "days": days,
                },
            )


def still_due(record: CommunityRecord, payload: dict[str, Any]) -> Milestone | None:
    """The milestone a reminder is about, if it is still there, still its owner's, not done."""
    for milestone in milestones_in(record.stages[GOVERNANCE.key].answers):
        if (
            milestone.title == payload.get("title")
            and milestone.due.isoformat() == payload.get("due")
            and milestone.owner == payload.get("owner")
            and milestone.done is None
        ):
            return milestone
    return None


async def mark_done(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    title: str,
    due: str,
) -> tuple[CommunityRecord, Milestone]:
    """Mark a milestone done today, as a new version of the governance answers.

    Only its owner or a coordinator may, whatever button they pressed. A concurrent save of the
    governance stage takes the version first; then we try again on top of it.
    """
    for _ in range(3):
        try:
            async with database.session() as session:
                record = await load_record(session, team_id=team_id, community_id=community_id)
                saved = record.stages[GOVERNANCE.key]
                items = list(saved.answers.get("milestones") or [])
                index = next(
                    (
                        n
                        for n, item in enumerate(items)
                        if item.get("title") == title and item.get("due") == due
                    ),
                    None,
                )
                if index is None:
                    raise Gone("That milestone has been changed or removed since.")
                item = items[index]
                if user_id != item.get("owner") and not record.is_coordinator(user_id):
                    raise NotAllowed(
                        "Only the milestone's owner or a coordinator can mark it done."
                    )
                require_open(
                    record,
                    "This community is closed, so its milestones can no longer be changed: "
                    "they are kept as its record, in the archive.",
                )
                if not item.get("done"):
                    now = clock.now()
                    items[index] = {**item, "done": today_for(record.community, now).isoformat()}
                    answers = {**saved.answers, "milestones": items}
                    revision = await stage_rows.add_revision(
                        session,
                        team_id=team_id,
                        community_id=community_id,
                        stage=GOVERNANCE.key,
                        version=saved.version + 1,
                        answers=answers,
                        edited_by=user_id,
                        edited_at=now,
                    )
                    await replan(
                        session,
                        community=record.community,
                        answers=answers,
                        version=revision.version,
                        now=now,
                    )
            return record, milestones_in({"milestones": [items[index]]})[0]
        except IntegrityError:
            continue
    raise EditConflict(None, None)


@dataclass(frozen=True)
class MilestoneState:
    title: str  # as typed: escape before posting
    due: date
    owner: str | None
    done: bool
    done_on: date | None = None


async def milestone_states(
    database: Database, clock: Clock, record: CommunityRecord
) -> list[MilestoneState]:
    """The community's milestones as governance lists them, by due date. A milestone done
    when something Cultivate records happens (the launch workshop held, the terms agreed) is
    done from that day, whether or not anyone typed the date."""
    return await record.once("milestones", lambda: _milestone_states(database, clock, record))


async def _milestone_states(
    database: Database, clock: Clock, record: CommunityRecord
) -> list[MilestoneState]:
    community = record.community
    assert community.id is not None
    now = clock.now()
    zone = ZoneInfo(community.timezone)
    happened: dict[str, date] = {}
    launches = [
        session.starts_at
        for session in await sessions_of(database, record)
        if session.purpose == LAUNCH and community.created_at <= session.starts_at < now
    ]
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
