"""Is the community alive? Health figures over a period, computed from what is stored:
memberships (joins and leaves), daily activity counts, levels, meetings and milestones.

One computation feeds `/cop health`, the digest, the pictures and the sponsor report, so they
can never disagree. The computing is pure (`compute`, `history`): the loaders only gather rows.

Definitions, as the figures are shown (members, joined, left, active and levels are
`bot.services.counting`'s, as every other surface counts them):
- members: people in the channel at the period's end, bots left out;
- joined / left: people who joined / left in the period (a person counted once); those in the
  channel when it became a community did not join it;
- active: members who posted in the 30 days to the period's end (the roster's window), and
  their share of members;
- levels: coordinator (from the roles stage), else the level a coordinator chose, else the one
  suggested from those 30 days' activity (as the roster shows them);
- newcomers who have not yet posted: members welcomed as newcomers in the last 60 days who have
  not posted since they joined (never its coordinators or facilitators);
- recently inactive: members who posted in the previous period and not in this one;
- meetings held and attendance: from `bot.services.meetings.meetings_between` (RSVPs "going");
- milestones: done; due (not done, due today or later); overdue (not done, due before today).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from bot.answers import progress
from bot.catalogue import SETUP_STAGES
from bot.clock import Clock
from bot.services import counting, meetings, milestones
from bot.services.communities import CommunityRecord, community_by_id, is_closed, load_record
from bot.services.development import Development, development
from bot.services.levels import AnyLevel
from bot.services.meetings import MeetingHeld
from bot.services.milestones import MilestoneState
from bot.text import calendar_date, escape
from storage.db import Database
from storage.repositories import sustaining as rows
from storage.repositories.sustaining import DayCount

if TYPE_CHECKING:
    from bot.services.development import Development

ACTIVITY_WINDOW = counting.ACTIVITY_WINDOW  # "active": posted in the 30 days to the end
NEWCOMER_WINDOW = timedelta(days=60)  # a welcomed member who joined this recently is new
HISTORY_WEEKS = 26  # the members-and-activity picture's span, at most
# What the digest's suggestions look for.
RECRUIT_AFTER = timedelta(days=60)
GREET_AFTER = timedelta(days=14)
MEET_AFTER = timedelta(weeks=6)
DIGEST_HOUR = time(9, 0)  # digests and prompts arrive at 09:00 in the community's time zone


class Cadence(StrEnum):
    """How often a digest (or a report) comes: the length of its period."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"

    @property
    def length(self) -> relativedelta:
        return {
            Cadence.WEEKLY: relativedelta(weeks=1),
            Cadence.MONTHLY: relativedelta(months=1),
            Cadence.QUARTERLY: relativedelta(months=3),
        }[self]

    @property
    def noun(self) -> str:
        return {Cadence.WEEKLY: "week", Cadence.MONTHLY: "month", Cadence.QUARTERLY: "quarter"}[
            self
        ]


@dataclass(frozen=True)
class Period:
    start: datetime  # aware, UTC; included
    end: datetime  # aware, UTC; excluded
    key: str  # e.g. "2026-11", "2026-W48", "2026-Q4", or "to-2026-12-01" for a trailing one

    def words(self, timezone: str) -> str:
        """The period as calendar dates where the community is, e.g. "Sun 1 Nov 2026 to Mon
        30 Nov 2026" (its end is excluded, so the last day shown is the day before)."""
        zone = ZoneInfo(timezone)
        first = self.start.astimezone(zone).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(zone).date()
        return f"{calendar_date(first)} to {calendar_date(last)}"

    @property
    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.start, f"before-{self.key}")


def _local(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))


def _at_nine(day: date, timezone: str) -> datetime:
    return datetime.combine(day, DIGEST_HOUR, tzinfo=ZoneInfo(timezone)).astimezone(ZoneInfo("UTC"))


def trailing(cadence: Cadence, now: datetime, timezone: str) -> Period:
    """The period of this length that ends now: what `/cop health` and `/cop report` show."""
    local_now = _local(now, timezone)
    start = (local_now - cadence.length).astimezone(now.tzinfo)
    return Period(start, now, f"to-{local_now:%Y-%m-%dT%H:%M}")


def period_start_day(cadence: Cadence, day: date) -> date:
    """The first day of the calendar period containing `day`."""
    if cadence == Cadence.WEEKLY:
        return day - timedelta(days=day.weekday())
    if cadence == Cadence.MONTHLY:
        return day.replace(day=1)
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def _key(cadence: Cadence, first_day: date) -> str:
    if cadence == Cadence.WEEKLY:
        year, week, _ = first_day.isocalendar()
        return f"{year}-W{week:02d}"
    if cadence == Cadence.MONTHLY:
        return f"{first_day:%Y-%m}"
    return f"{first_day.year}-Q{(first_day.month - 1) // 3 + 1}"


def next_boundary(cadence: Cadence, after: datetime, timezone: str) -> datetime:
    """When the next calendar period begins (09:00 on its first day, community time), strictly
    after `after`: when the digest for the period that then ends is due."""
    day = period_start_day(cadence, _local(after, timezone).date())
    while (moment := _at_nine(day, timezone)) <= after:
        day = period_start_day(cadence, day + cadence.length)
    return moment


def calendar_period_before(cadence: Cadence, boundary: datetime, timezone: str) -> Period:
    """The calendar period whose digest is due at `boundary` (a `next_boundary`): from
    midnight on its first day to midnight on the day the next period begins."""
    end_day = _local(boundary, timezone).date()
    first = period_start_day(cadence, end_day - timedelta(days=1))
    return Period(_midnight(first, timezone), _midnight(end_day, timezone), _key(cadence, first))


def _midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(ZoneInfo("UTC"))


# -- the figures --------------------------------------------------------------------------


@dataclass(frozen=True)
class Newcomer:
    user_id: str
    joined_at: datetime


@dataclass(frozen=True)
class HealthFigures:
    community_id: int
    community_name: str
    timezone: str
    period: Period
    members: int
    joined: int
    left: int
    active: int
    levels: dict[AnyLevel, int]  # every level, most involved first (the roster's levels)
    silent_newcomers: list[Newcomer]
    recently_inactive: list[str]
    meetings: list[MeetingHeld]
    milestones: list[MilestoneState]
    today: date  # the period's last moment as a date where the community is
    last_joined_at: datetime | None
    last_meeting_at: datetime | None
    age: timedelta  # since the community began
    checklist_answered: int = 0
    checklist_questions: int = 0
    suggestions: list[str] = field(default_factory=list)

    @property
    def active_share(self) -> float:
        return self.active / self.members if self.members else 0.0

    @property
    def attendance(self) -> int:
        """People who said they would go, over the period's meetings."""
        return sum(m.going for m in self.meetings)

    @property
    def milestones_done(self) -> int:
        return sum(m.done for m in self.milestones)

    @property
    def milestones_due(self) -> int:
        return sum(not m.done and m.due >= self.today for m in self.milestones)

    @property
    def milestones_overdue(self) -> int:
        return sum(not m.done and m.due < self.today for m in self.milestones)


def _day(moment: datetime, timezone: str) -> date:
    return _local(moment, timezone).date()


def compute(
    record: CommunityRecord,
    period: Period,
    memberships: Sequence[counting.Held],
    activity: Sequence[DayCount],
    meetings: Sequence[MeetingHeld],
    recent_meetings: Sequence[MeetingHeld],
    milestones: Sequence[MilestoneState],
) -> HealthFigures:
    """Every figure, from the rows. `activity` must reach back to the start of the previous
    period and 30 days before the period's end; `recent_meetings` are those of the last six
    weeks to the period's end."""
    community = record.community
    assert community.id is not None
    tz, end = community.timezone, period.end
    counted = counting.figures(record, memberships, activity, start=period.start, end=end)
    current = counted.members
    posted = functools.partial(counting.posted, activity)
    end_day = _day(end, tz)

    silent = []
    for user_id, membership in current.items():
        if (
            membership.welcomed
            and not record.holds_role(user_id)  # named after they joined: not a newcomer
            and end - membership.joined_at <= NEWCOMER_WINDOW
            and not posted(_day(membership.joined_at, tz), end_day).get(user_id)
        ):
            silent.append(Newcomer(user_id, membership.joined_at))

    previous = period.previous
    # Local days: the previous period's last day is the day before this period's first.
    this_period = posted(_day(period.start, tz), end_day)
    before = posted(_day(previous.start, tz), _day(period.start, tz) - timedelta(days=1))
    inactive = [u for u in current if u in before and u not in this_period]

    figures = HealthFigures(
        community_id=community.id,
        community_name=community.name,
        timezone=tz,
        period=period,
        members=len(current),
        joined=len(counted.joined),
        left=len(counted.left),
        active=len(counted.active),
        levels=counted.by_level(),
        silent_newcomers=sorted(silent, key=lambda n: n.joined_at),
        recently_inactive=sorted(inactive),
        meetings=list(meetings),
        milestones=list(milestones),
        today=end_day,
        last_joined_at=counting.last_join(memberships, community, end),
        last_meeting_at=max((m.starts_at for m in recent_meetings), default=None),
        age=end - community.created_at,
    )
    return _with_suggestions(figures)


def _with_suggestions(figures: HealthFigures) -> HealthFigures:
    """What the figures suggest doing, in the coordinators' terms."""
    end = figures.period.end
    found = []
    if figures.age >= RECRUIT_AFTER and (
        figures.last_joined_at is None or end - figures.last_joined_at >= RECRUIT_AFTER
    ):
        found.append("recruit")
    if any(end - n.joined_at >= GREET_AFTER for n in figures.silent_newcomers):
        found.append("greet")
    if figures.last_meeting_at is None or end - figures.last_meeting_at >= MEET_AFTER:
        found.append("meet")
    return HealthFigures(**{**figures.__dict__, "suggestions": found})


async def figures(
    database: Database, clock: Clock, *, team_id: str, community_id: int, period: Period
) -> HealthFigures:
    """The community's health over `period`, from what is stored."""
    record = await community_by_id(database, team_id=team_id, community_id=community_id)
    return await figures_of(database, clock, record, period=period)


async def figures_of(
    database: Database, clock: Clock, record: CommunityRecord, *, period: Period
) -> HealthFigures:
    """`figures`, for a community already loaded."""
    assert record.community.id is not None
    async with database.session() as session:
        history = await counting.memberships_of(session, record)
        first, last = counting.activity_window(record.community, period.start, period.end)
        activity = await counting.activity_of(session, record, first=first, last=last)
    # The period's meetings and the last six weeks' (for the suggestion), from one read.
    since = period.end - MEET_AFTER
    both = await meetings.meetings_held(
        database, record, start=min(period.start, since), end=period.end
    )
    held = [m for m in both if m.starts_at >= period.start]
    recent = [m for m in both if m.starts_at >= since]
    milestone_list = await milestones.milestone_states(database, clock, record)
    computed = compute(record, period, history, activity, held, recent, milestone_list)
    answered = [progress(stage, record.stages[stage.key].answers) for stage in SETUP_STAGES]
    return HealthFigures(
        **{
            **computed.__dict__,
            "checklist_answered": sum(a for a, _ in answered),
            "checklist_questions": sum(t for _, t in answered),
        }
    )


# -- history, for the members-and-activity picture ----------------------------------------


@dataclass(frozen=True)
class Week:
    ends: datetime  # the week's last moment (excluded)
    members: int
    active: int  # posted in the 30 days to the week's end
    messages: int  # posted in the week


async def history(
    database: Database, *, team_id: str, community_id: int, end: datetime
) -> list[Week]:
    """Week by week up to `end`, since the community began (at most 26 weeks)."""
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        tz = record.community.timezone
        weeks = max(1, min(HISTORY_WEEKS, -(-(end - record.community.created_at).days // 7)))
        start = end - timedelta(weeks=weeks)
        memberships = await rows.memberships(session, community_id=community_id)
        activity = await rows.activity_between(
            session,
            community_id=community_id,
            first=_day(start - ACTIVITY_WINDOW, tz),
            last=_day(end, tz),
        )
    return weekly(memberships, activity, end=end, weeks=weeks, timezone=tz)


def weekly(
    memberships: Sequence[counting.Held],
    activity: Sequence[DayCount],
    *,
    end: datetime,
    weeks: int,
    timezone: str,
) -> list[Week]:
    points = []
    for n in range(weeks, 0, -1):
        week_end = end - timedelta(weeks=n - 1)
        last = _day(week_end, timezone)
        members = set(counting.members_at(memberships, week_end))
        recent = {
            a.user_id
            for a in activity
            if _day(week_end - ACTIVITY_WINDOW, timezone) <= a.day <= last
        }
        in_week = sum(
            a.messages
            for a in activity
            if _day(week_end - timedelta(weeks=1), timezone) < a.day <= last
        )
        points.append(Week(week_end, len(members), len(members & recent), in_week))
    return points


def levels_line(counts: dict[AnyLevel, int], separator: str = ", ") -> str:
    """How many members each level has: "1 coordinator, 2 active", a level the community named
    as "Steering group: 2". The roster and the health figures say it alike."""
    return separator.join(escape(level.counted(n)) for level, n in counts.items())


async def current_figures(
    database: Database, clock: Clock, record: CommunityRecord
) -> tuple[HealthFigures, Development]:
    """The figures over the period ending now (the digest's length): what `/cop health` and
    `/cop report` both show."""
    # Sustaining's plans are built on this module's periods: imported here, not at the top,
    # so the two modules can load in either order.
    from bot.services.sustaining import plan_of

    community = record.community
    assert community.id is not None
    planned = await plan_of(database, record)
    period = trailing(planned.digest, clock.now(), community.timezone)
    return await figures_for(database, clock, record, period, planned.stage_override)


async def figures_for(
    database: Database,
    clock: Clock,
    record: CommunityRecord,
    period: Period,
    override: str | None,
) -> tuple[HealthFigures, Development]:
    """The figures over `period`, and the stage of development they show (or a coordinator set)."""
    community = record.community
    assert community.id is not None
    found = await figures_of(database, clock, record, period=period)
    return found, development(found, closed=is_closed(record), override=override)
