"""The meeting form, as data, and what counts as a valid meeting.

The handler renders these fields with `handlers.forms` and reads them back; `check` turns
the answers into `Details` or refuses them naming each wrong field. Nothing here is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.answers import clean, field_error, is_empty
from bot.catalogue import Field, Kind, Option
from bot.recurrence import Recurrence, Series, local_time
from bot.services.communities import CommunityRecord, valid_timezone
from bot.services.errors import InvalidAnswers
from storage.models import Meeting

MEETING = "meeting"
LAUNCH = "launch"  # the launch workshop: a meeting that happens once


def _options(*pairs: tuple[str, str]) -> tuple[Option, ...]:
    return tuple(Option(value, label) for value, label in pairs)


FORMATS = _options(("face_to_face", "Face-to-face"), ("online", "Online"), ("hybrid", "Hybrid"))
DURATIONS = _options(
    ("30", "30 minutes"),
    ("45", "45 minutes"),
    ("60", "1 hour"),
    ("90", "1½ hours"),
    ("120", "2 hours"),
    ("180", "3 hours"),
    ("240", "4 hours"),
    ("360", "6 hours"),
    ("480", "A whole day"),
)
RECURRENCES = _options(
    (Recurrence.NONE, "Does not repeat"),
    (Recurrence.WEEKLY, "Every week"),
    (Recurrence.FORTNIGHTLY, "Every two weeks"),
    (Recurrence.MONTHLY, "Every month, on the same weekday"),
)
REMINDER_OFFSETS: dict[str, timedelta] = {
    "1w": timedelta(weeks=1),
    "1d": timedelta(days=1),
    "1h": timedelta(hours=1),
    "15m": timedelta(minutes=15),
}
REMINDERS = _options(
    ("1w", "1 week before"),
    ("1d", "1 day before"),
    ("1h", "1 hour before"),
    ("15m", "15 minutes before"),
)

# The meeting form, as data: the handler renders these and reads them back.
TITLE = Field("title", "Title", Kind.LINE, required=True, max_length=150)
AGENDA = Field("agenda", "Agenda", Kind.TEXT, max_length=3000)
DATE = Field("date", "Date", Kind.DATE, required=True)
TIME = Field("time", "Start time", Kind.TIME, required=True)
DURATION = Field("duration", "Duration", Kind.CHOICE, required=True, options=DURATIONS)
TIMEZONE = Field(
    "timezone",
    "Time zone",
    Kind.ZONE,
    required=True,
    hint="The date and time are in this zone, and the meeting keeps its clock time across "
    "daylight-saving changes. Type part of a city's name to search.",
)
FORMAT = Field("format", "Format", Kind.CHOICE, required=True, options=FORMATS)
PLACE = Field("place", "Place or link", Kind.LINE, max_length=500)
RECURRENCE = Field("recurrence", "Repeats", Kind.CHOICE, required=True, options=RECURRENCES)
UNTIL = Field("until", "Repeat until", Kind.DATE, hint="Leave empty to repeat until cancelled.")
REMIND = Field("reminders", "Remind the channel", Kind.CHOICES, options=REMINDERS)
FACILITATOR = Field(
    "facilitator",
    "Facilitator",
    Kind.USER,
    hint="Asked for notes and actions afterwards. Leave empty to be asked yourself.",
)
MEETING_FIELDS: tuple[Field, ...] = (
    TITLE,
    AGENDA,
    DATE,
    TIME,
    DURATION,
    TIMEZONE,
    FORMAT,
    PLACE,
    RECURRENCE,
    UNTIL,
    REMIND,
    FACILITATOR,
)
# The launch workshop happens once: no repeating.
LAUNCH_FIELDS: tuple[Field, ...] = tuple(f for f in MEETING_FIELDS if f not in (RECURRENCE, UNTIL))

NOTES = Field("notes", "Notes", Kind.TEXT, required=True, max_length=3000)
ACTIONS = Field(
    "actions", "Actions, one per line", Kind.TEXT, max_length=3000, hint="Who does what, by when."
)
NOTES_FIELDS: tuple[Field, ...] = (NOTES, ACTIONS)
MAX_ACTIONS = 30


@dataclass(frozen=True)
class Details:
    """A meeting as the form described it, checked."""

    title: str
    agenda: str
    first_date: date
    start_time: time
    duration_minutes: int
    timezone: str
    format: str
    place: str
    recurrence: Recurrence
    until: date | None
    reminders: list[str]
    facilitator: str | None


# -- the form ---------------------------------------------------------------------------


def new_form_values(record: CommunityRecord, *, purpose: str, agenda: str = "") -> dict[str, Any]:
    return {
        "title": "Launch workshop" if purpose == LAUNCH else "",
        "agenda": agenda,
        "duration": "120" if purpose == LAUNCH else "60",
        "timezone": record.community.timezone,
        "format": "online",
        "recurrence": Recurrence.NONE,
        "reminders": ["1d", "1h"],
    }


def form_values(meeting: Meeting, next_start: datetime | None) -> dict[str, Any]:
    """A meeting as its edit form shows it: dated from its next session."""
    start = (
        local_time(next_start, meeting.timezone)
        if next_start is not None
        else datetime.combine(meeting.first_date, meeting.start_time)
    )
    return {
        "title": meeting.title,
        "agenda": meeting.agenda,
        "date": start.date().isoformat(),
        "time": start.time().isoformat(timespec="minutes"),
        "duration": str(meeting.duration_minutes),
        "timezone": meeting.timezone,
        "format": meeting.format,
        "place": meeting.place,
        "recurrence": meeting.recurrence,
        "until": meeting.repeat_until.isoformat() if meeting.repeat_until else None,
        "reminders": list(meeting.reminders),
        "facilitator": meeting.facilitator,
    }


def check(submitted: dict[str, Any], *, fields: tuple[Field, ...], now: datetime) -> Details:
    """The form's answers as Details, or InvalidAnswers naming each field that is wrong."""
    answers = clean(submitted)
    errors = {f.key: e for f in fields if (e := field_error(f, answers.get(f.key)))}
    unknown = set(answers) - {f.key for f in fields}
    if unknown:
        errors[fields[0].key] = "Unexpected answers: " + ", ".join(sorted(unknown))
    zone = str(answers.get("timezone") or "")
    if "timezone" not in errors and not valid_timezone(zone):
        errors["timezone"] = "Not a time zone we know; use a name like Europe/London."
    if errors:
        raise InvalidAnswers(errors)

    first_date = date.fromisoformat(answers["date"])
    start_time = time.fromisoformat(answers["time"])
    recurrence = Recurrence(answers.get("recurrence") or Recurrence.NONE)
    until = None if is_empty(answers.get("until")) else date.fromisoformat(answers["until"])
    if recurrence == Recurrence.NONE:
        until = None
    if until is not None and until < first_date:
        errors["until"] = "The last date must be on or after the first."
    else:
        first = next(Series(first_date, start_time, zone, recurrence, until).starts())
        if first <= now:
            errors["time"] = f"That time has already passed in {zone}."
    if errors:
        raise InvalidAnswers(errors)
    return Details(
        title=answers["title"],
        agenda=answers.get("agenda") or "",
        first_date=first_date,
        start_time=start_time,
        duration_minutes=int(answers["duration"]),
        timezone=zone,
        format=answers["format"],
        place=answers.get("place") or "",
        recurrence=recurrence,
        until=until,
        reminders=[r for r in REMINDER_OFFSETS if r in (answers.get("reminders") or [])],
        facilitator=answers.get("facilitator") or None,
    )
