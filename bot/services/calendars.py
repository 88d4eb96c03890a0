"""Meetings in people's calendars: one meeting's `.ics` file, and each person's private
calendar address (a feed calendar apps subscribe to) for a community's meetings.

The calendar is built here and only here. A meeting is one VEVENT with a stable UID; its
start and end are wall-clock times with the meeting's own time zone (TZID, and a VTIMEZONE
describing it), so a calendar app keeps a weekly 10:00 Europe/London meeting at 10:00 in
London on both sides of a clock change. A series is ONE recurring event (its RRULE made from
the meeting's recurrence), never a list of copies. A session of a series that was cancelled is
an override of that instance (RECURRENCE-ID) with STATUS:CANCELLED; a meeting cancelled before
any of its sessions was held is CANCELLED as a whole, and a series cancelled part-way keeps
the sessions it held and shows the planned ones cancelled. Summary, description and location
are the meeting's own text as typed (plain text, no Slack markup), with a link back to the
community's channel.

A private address is a secret from `secrets.token_urlsafe` in the URL. Only its SHA-256 is
stored, so a copy of the database alone cannot subscribe; the address is therefore shown to
its person once, when made, and each person has their own (making a new one replaces theirs).
A coordinator can revoke every address of the community. A wrong or revoked secret, or one
whose person can no longer see the community (left a private channel), finds nothing.

`icalendar` is imported only when a calendar is made (an idle process does not hold it).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.recurrence import Recurrence, Series, same_weekday
from bot.services.access import InChannel, community_for
from bot.services.communities import CommunityRecord, community_by_id, require_coordinator
from bot.services.errors import Gone, NoCommunity
from bot.services.meetings import series_of
from storage.db import Database
from storage.models import Meeting, MeetingOccurrence
from storage.repositories import calendars as calendar_rows
from storage.repositories import meetings as meeting_rows

if TYPE_CHECKING:
    from icalendar import Event

PRODID = "-//Cultivate//Community meetings//EN"
FEED_MEETINGS = 200  # the most recently planned meetings a feed shows
TOKEN_BYTES = 32
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # what token_urlsafe(32) makes
FEED_PATH = "/calendar/{token}.ics"
RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


# -- the calendar -------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What a meeting's event says about where it belongs."""

    community_name: str
    channel_link: str  # a link that opens the community's channel in Slack


def channel_link(team_id: str, channel_id: str) -> str:
    return f"https://slack.com/app_redirect?team={team_id}&channel={channel_id}"


def context_of(record: CommunityRecord) -> Context:
    community = record.community
    return Context(community.name, channel_link(community.team_id, community.channel_id))


def calendar(
    meetings: Sequence[Meeting],
    cancelled: Sequence[MeetingOccurrence],
    context: Context,
    *,
    name: str | None = None,
) -> bytes:
    """The meetings as one iCalendar file: each an event (a series one recurring event), its
    cancelled sessions as cancelled instances, and a VTIMEZONE for every zone used."""
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name is not None:
        cal.add("x-wr-calname", name)
        cal.add("x-published-ttl", timedelta(hours=1))  # how often a subscriber looks again
    by_meeting: dict[int, list[MeetingOccurrence]] = {}
    for occurrence in cancelled:
        by_meeting.setdefault(occurrence.meeting_id, []).append(occurrence)
    for meeting in meetings:
        assert meeting.id is not None
        for event in meeting_events(meeting, by_meeting.get(meeting.id, []), context):
            cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def meeting_events(
    meeting: Meeting, cancelled: Sequence[MeetingOccurrence], context: Context
) -> list[Event]:
    """The meeting's event, then an override for each cancelled session of its series."""
    zone = ZoneInfo(meeting.timezone)
    first = datetime.combine(meeting.first_date, meeting.start_time)
    series = series_of(meeting)
    cancelled = sorted(cancelled, key=lambda o: o.starts_at)
    held_before_cancelling = meeting.cancelled_at is not None and _held_before(meeting, series)
    master = _event(meeting, first, zone, context)
    if meeting.cancelled_at is not None and not held_before_cancelling:
        master.add("status", "CANCELLED")  # never held: the whole meeting is off
        if series.recurrence != Recurrence.NONE:
            master.add("rrule", _rrule(series, None))
        return [master]
    master.add("status", "CONFIRMED")
    if series.recurrence == Recurrence.NONE:
        return [master]
    # A series cancelled part-way ends with its last planned session (shown cancelled).
    ends = None
    if meeting.cancelled_at is not None:
        ends = max([o.starts_at for o in cancelled] + [meeting.cancelled_at])
    master.add("rrule", _rrule(series, ends))
    events = [master]
    instances = _instances(series, cancelled)
    for occurrence in cancelled:
        local = occurrence.starts_at.astimezone(zone).replace(tzinfo=None)
        if local not in instances:
            continue  # a session the series was later moved away from: not on the rule
        override = _event(meeting, local, zone, context)
        override.add("recurrence-id", local.replace(tzinfo=zone))
        override.add("status", "CANCELLED")
        events.append(override)
    return events


def _held_before(meeting: Meeting, series: Series) -> bool:
    """Whether a cancelled meeting had a session before it was cancelled."""
    assert meeting.cancelled_at is not None
    first = next(series.starts(), None)
    return first is not None and first < meeting.cancelled_at


def _instances(series: Series, cancelled: Sequence[MeetingOccurrence]) -> set[datetime]:
    """The series' local starts up to its last cancelled session."""
    if not cancelled:
        return set()
    last = max(o.starts_at for o in cancelled).astimezone(series.zone).replace(tzinfo=None)
    found: set[datetime] = set()
    for local in series.local_starts():
        if local > last:
            break
        found.add(local)
    return found


def _event(meeting: Meeting, local_start: datetime, zone: ZoneInfo, context: Context) -> Event:
    from icalendar import Event

    event = Event()
    event.add("uid", f"meeting-{meeting.id}-{meeting.team_id}@cultivate")
    event.add("dtstamp", meeting.updated_at.astimezone(UTC))
    event.add("created", meeting.created_at.astimezone(UTC))
    event.add("last-modified", meeting.updated_at.astimezone(UTC))
    event.add("sequence", meeting.plan_version)  # bumped by every change and the cancelling
    event.add("summary", meeting.title)
    start = local_start.replace(tzinfo=zone)
    event.add("dtstart", start)
    end = local_start + timedelta(minutes=meeting.duration_minutes)
    event.add("dtend", end.replace(tzinfo=zone))
    if meeting.place:
        event.add("location", meeting.place)
    event.add("description", _description(meeting, context))
    event.add("url", context.channel_link)
    return event


def _description(meeting: Meeting, context: Context) -> str:
    parts = [meeting.agenda.strip()] if meeting.agenda.strip() else []
    if meeting.place:
        parts.append(f"Where: {meeting.place}")
    parts.append(f"A meeting of {context.community_name}. In Slack: {context.channel_link}")
    return "\n\n".join(parts)


def _rrule(series: Series, ends: datetime | None) -> dict[str, Any]:
    """The series' recurrence as an RRULE. Its last day is local to the meeting's zone; RFC
    5545 wants UNTIL in UTC when the start has a TZID."""
    rule: dict[str, Any] = {"freq": "weekly"}
    match series.recurrence:
        case Recurrence.FORTNIGHTLY:
            rule["interval"] = 2
        case Recurrence.MONTHLY:
            day = same_weekday(series.first_date)
            rule = {"freq": "monthly", "byday": f"{day.n}{RRULE_DAYS[day.weekday]}"}
    until = (
        datetime.combine(series.until, time(23, 59, 59), tzinfo=series.zone).astimezone(UTC)
        if series.until is not None
        else None
    )
    if ends is not None:
        until = min(until, ends) if until is not None else ends
    if until is not None:
        rule["until"] = until.astimezone(UTC)
    return rule


def file_name(title: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-")[:60].strip("-")
    return f"{stem or 'meeting'}.ics"


# -- one meeting's file ---------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingFile:
    name: str
    title: str  # the meeting's, as typed: escape before posting
    content: bytes


async def meeting_file(
    database: Database,
    *,
    team_id: str,
    meeting_id: int,
    user_id: str,
    in_channel: InChannel | None = None,
) -> MeetingFile:
    """The meeting's `.ics`, for someone who may see its community (a private channel's
    only to the people in it)."""
    async with database.session() as session:
        meeting = await meeting_rows.meeting_by_id(session, team_id=team_id, meeting_id=meeting_id)
        if meeting is None:
            raise Gone("That meeting no longer exists.")
        cancelled = await calendar_rows.cancelled_occurrences(session, meeting_ids=[meeting_id])
    record = await community_for(
        database,
        team_id=team_id,
        user_id=user_id,
        community_id=meeting.community_id,
        in_channel=in_channel,
    )
    content = calendar([meeting], cancelled, context_of(record))
    return MeetingFile(name=file_name(meeting.title), title=meeting.title, content=content)


# -- private addresses ------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(public_url: str, token: str) -> str:
    return public_url + FEED_PATH.format(token=token)


async def address_made(
    database: Database, *, team_id: str, community_id: int, user_id: str
) -> datetime | None:
    """When the person's address for the community was made, or None if they have none."""
    async with database.session() as session:
        found = await calendar_rows.feed_of(
            session, team_id=team_id, community_id=community_id, user_id=user_id
        )
    return found.created_at if found is not None else None


async def new_address(
    database: Database,
    clock: Clock,
    *,
    public_url: str,
    team_id: str,
    community_id: Any,
    user_id: str,
    in_channel: InChannel | None = None,
) -> tuple[CommunityRecord, str]:
    """A new private address for the person (their old one stops working), if they may see
    the community. The address is returned once: only its secret's hash is kept."""
    record = await community_for(
        database,
        team_id=team_id,
        user_id=user_id,
        community_id=community_id,
        in_channel=in_channel,
    )
    assert record.community.id is not None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    for attempt in (1, 2):
        try:
            async with database.session() as session:
                await calendar_rows.replace_feed(
                    session,
                    team_id=team_id,
                    community_id=record.community.id,
                    user_id=user_id,
                    token_hash=hash_token(token),
                    now=clock.now(),
                )
            break
        except IntegrityError:
            # The same person asked twice at once and the other request's row came first:
            # replace that one (so the address shown last is the one that works).
            if attempt == 2:
                raise
    return record, feed_url(public_url, token)


async def revoke_addresses(
    database: Database, *, team_id: str, community_id: int, user_id: str
) -> int:
    """Every private address of the community stops working: for its coordinators only."""
    record = await community_by_id(database, team_id=team_id, community_id=community_id)
    require_coordinator(record, user_id)
    async with database.session() as session:
        return await calendar_rows.revoke_all(session, team_id=team_id, community_id=community_id)


async def feed(database: Database, *, token: str) -> bytes | None:
    """The community calendar a private address shows, or None for a malformed, wrong or
    revoked secret, or one whose person may no longer see the community. A closed community's
    feed still answers: its meetings show as held or cancelled, so subscribers see them end
    rather than vanish."""
    if not TOKEN.match(token):
        return None
    async with database.session() as session:
        found = await calendar_rows.feed_by_hash(session, token_hash=hash_token(token))
        if found is None:
            return None
    try:
        record = await community_for(
            database,
            team_id=found.team_id,
            user_id=found.user_id,
            community_id=found.community_id,
        )
    except NoCommunity:
        return None
    async with database.session() as session:
        meetings = await calendar_rows.meetings_of(
            session, team_id=found.team_id, community_id=found.community_id, limit=FEED_MEETINGS
        )
        cancelled = await calendar_rows.cancelled_occurrences(
            session, meeting_ids=[m.id for m in meetings if m.id is not None]
        )
    name = f"{record.community.name} meetings"
    return calendar(meetings, cancelled, context_of(record), name=name)
