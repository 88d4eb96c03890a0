"""Value stories, as data: the five kinds of value in Wenger, Trayner and de Laat's
value-creation framework ("Promoting and assessing value creation in communities and networks",
2011), each with the question members are asked and the short label documents and counts use;
the consent a member gives; and how often they are asked, with its periods.

This is the one place that says what a value story asks. The form, the sponsor report and
`/cop health` are built from it, so a question reworded here is reworded everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from bot.services.health import Period


@dataclass(frozen=True)
class ValueKind:
    key: str
    label: str  # short: "Immediate value"
    question: str  # what the member is asked
    hint: str


VALUE_KINDS: tuple[ValueKind, ...] = (
    ValueKind(
        "immediate",
        "Immediate value",
        "What happened in the community that mattered to you?",
        "A conversation, a meeting, a question answered, someone you met.",
    ),
    ValueKind(
        "potential",
        "Potential value",
        "What did it give you?",
        "Knowledge, skills, contacts, confidence, a resource you can use later.",
    ),
    ValueKind(
        "applied",
        "Applied value",
        "What did you do differently because of it?",
        "In your work, your team or a project: something you tried, changed or reused.",
    ),
    ValueKind(
        "realised",
        "Realised value",
        "What difference did it make?",
        "For you, your organisation, or the people you serve: time saved, better outcomes.",
    ),
    ValueKind(
        "reframing",
        "Reframing value",
        "Did it change how you or your organisation see things?",
        "A new way of thinking about the work, what success means, or what matters.",
    ),
)
MAX_ANSWER = 1500  # characters in one answer


class Consent(StrEnum):
    NAMED = "named"
    UNNAMED = "unnamed"
    PRIVATE = "private"

    @property
    def label(self) -> str:
        return {
            Consent.NAMED: "Share it with my name",
            Consent.UNNAMED: "Share it without my name",
            Consent.PRIVATE: "Don't share it (it is only counted)",
        }[self]

    @property
    def shared(self) -> bool:
        return self is not Consent.PRIVATE


class StoryCadence(StrEnum):
    """How often members are asked for a value story."""

    QUARTERLY = "quarterly"
    HALF_YEARLY = "half-yearly"
    NEVER = "never"

    @property
    def label(self) -> str:
        return {
            StoryCadence.QUARTERLY: "Every quarter",
            StoryCadence.HALF_YEARLY: "Every six months",
            StoryCadence.NEVER: "Never",
        }[self]

    @property
    def months(self) -> int:
        """A period's length; a community asking never still files stories by quarter."""
        return 6 if self is StoryCadence.HALF_YEARLY else 3

    @property
    def noun(self) -> str:
        return "six months" if self is StoryCadence.HALF_YEARLY else "quarter"


DEFAULT_CADENCE = StoryCadence.QUARTERLY
ASKED_AT = time(9, 0)  # the prompt arrives at 09:00 on a period's first day, community time


def _first_day(cadence: StoryCadence, day: date) -> date:
    months = cadence.months
    return day.replace(month=(day.month - 1) // months * months + 1, day=1)


def _at(day: date, moment: time, timezone: str) -> datetime:
    return datetime.combine(day, moment, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def next_boundary(cadence: StoryCadence, after: datetime, timezone: str) -> datetime:
    """When members are next asked (09:00 on a period's first day), strictly after `after`."""
    day = _first_day(cadence, after.astimezone(ZoneInfo(timezone)).date())
    while (moment := _at(day, ASKED_AT, timezone)) <= after:
        day = _first_day(cadence, day + relativedelta(months=cadence.months))
    return moment


def period_before(cadence: StoryCadence, boundary: datetime, timezone: str) -> Period:
    """The period members are asked about at `boundary`: the one that has just ended, from
    midnight on its first day to midnight on the day the next begins."""
    end_day = boundary.astimezone(ZoneInfo(timezone)).date()
    first = _first_day(cadence, end_day - timedelta(days=1))
    letter = "H" if cadence is StoryCadence.HALF_YEARLY else "Q"
    key = f"{first.year}-{letter}{(first.month - 1) // cadence.months + 1}"
    return Period(_at(first, time(0), timezone), _at(end_day, time(0), timezone), key)


def asked_about(cadence: StoryCadence, now: datetime, timezone: str) -> Period:
    """The period members were last asked about: a story told now is filed under it."""
    current = period_before(cadence, next_boundary(cadence, now, timezone), timezone)
    first = current.start.astimezone(ZoneInfo(timezone)).date()
    return period_before(cadence, _at(first, ASKED_AT, timezone), timezone)
