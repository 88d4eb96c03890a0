"""When a meeting's sessions fall: computed in the meeting's own time zone.

A series is kept as a local first day, a wall-clock time and an IANA zone. dateutil's rrule
steps through naive local times (18:00, 18:00, 18:00…) and each is only then placed in the
zone, so a weekly 18:00 Europe/London meeting is at 18:00 in London on both sides of a
daylight-saving change (17:00 UTC in summer, 18:00 UTC in winter). Stepping through UTC
instants instead would drift by an hour twice a year.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil.rrule import FR, MO, MONTHLY, SA, SU, TH, TU, WE, WEEKLY, rrule, weekday

WEEKDAYS = (MO, TU, WE, TH, FR, SA, SU)


class Recurrence(StrEnum):
    NONE = "none"
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"  # on the same weekday: the 2nd Tuesday, the last Friday


@dataclass(frozen=True)
class Series:
    first_date: date
    start_time: time
    timezone: str
    recurrence: Recurrence = Recurrence.NONE
    until: date | None = None  # the last day a session may fall on, inclusive

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_starts(self) -> Iterator[datetime]:
        """Naive local start times, in order (endless unless the series has an end)."""
        first = datetime.combine(self.first_date, self.start_time)
        if self.recurrence == Recurrence.NONE:
            yield first
            return
        until = datetime.combine(self.until, time.max) if self.until else None
        match self.recurrence:
            case Recurrence.WEEKLY:
                rule = rrule(WEEKLY, dtstart=first, until=until)
            case Recurrence.FORTNIGHTLY:
                rule = rrule(WEEKLY, interval=2, dtstart=first, until=until)
            case Recurrence.MONTHLY:
                rule = rrule(MONTHLY, dtstart=first, until=until, byweekday=same_weekday(first))
        yield from rule

    def starts(self) -> Iterator[datetime]:
        """Each session's start as an aware UTC datetime."""
        zone = self.zone
        for local in self.local_starts():
            yield to_utc(local, zone)

    def starts_after(self, moment: datetime, count: int) -> list[datetime]:
        """The first `count` starts strictly after `moment` (aware)."""
        return list(islice((s for s in self.starts() if s > moment), count))


def same_weekday(day: date) -> weekday:
    """The weekday of `day` as "the nth of the month": the 5th becomes "the last", since
    most months have no 5th Tuesday."""
    nth = (day.day - 1) // 7 + 1
    return WEEKDAYS[day.weekday()](-1 if nth >= 5 else nth)


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive local time in `zone` as aware UTC.

    In the hour skipped when clocks go forward, the time is read with the offset before the
    change (fold=0), so 01:30 on that morning becomes 02:30 summer time; in the hour repeated
    when they go back, the first of the two is meant.
    """
    return local.replace(tzinfo=zone).astimezone(UTC)


def local_time(moment: datetime, timezone: str) -> datetime:
    """An aware moment as wall-clock time in `timezone`."""
    return moment.astimezone(ZoneInfo(timezone))


def describe(series: Series) -> str:
    """How a series repeats, in words: "Weekly on Tuesdays until Tue 1 Dec 2026"."""
    day = series.first_date
    weekday_name = f"{day:%A}"
    match series.recurrence:
        case Recurrence.NONE:
            return "Once"
        case Recurrence.WEEKLY:
            text = f"Weekly on {weekday_name}s"
        case Recurrence.FORTNIGHTLY:
            text = f"Every two weeks on {weekday_name}s"
        case Recurrence.MONTHLY:
            nth = (day.day - 1) // 7 + 1
            ordinal = "last" if nth >= 5 else ("1st", "2nd", "3rd", "4th")[nth - 1]
            text = f"Monthly on the {ordinal} {weekday_name}"
    if series.until is not None:
        text += f" until {series.until:%a} {series.until.day} {series.until:%b %Y}"
    return text
