"""The health figures read meetings held, with their RSVPs, from the meetings themselves."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.services import meetings
from bot.services.meetings import create_meeting, rsvp, upcoming
from storage.repositories import meetings as meeting_rows
from tests.conftest import ASHA, BEN, CARMEN, TEAM, Cultivate
from tests.steps import start_community


async def meeting_in_two_days(
    cultivate: Cultivate, clock: ManualClock, *, title: str, recurrence: str
) -> None:
    """A community (id 1) with one meeting whose first session is in two days at 10:00 UTC."""
    await start_community(cultivate, timezone="UTC")
    day = (clock.now() + timedelta(days=2)).date()
    await create_meeting(
        cultivate.database,
        clock,
        team_id=TEAM,
        community_id=1,
        user_id=ASHA,
        submitted={
            "title": title,
            "agenda": "",
            "date": day.isoformat(),
            "time": "10:00",
            "duration": "60",
            "timezone": "UTC",
            "format": "online",
            "place": "",
            "recurrence": recurrence,
            "reminders": [],
        },
    )


async def test_meetings_held_come_with_their_attendance(
    cultivate: Cultivate, clock: ManualClock
) -> None:
    await meeting_in_two_days(cultivate, clock, title="Catch-up", recurrence="none")
    [session] = await upcoming(cultivate.database, clock, team_id=TEAM, community_id=1)
    for person, answer in ((ASHA, "going"), (BEN, "going"), (CARMEN, "cant")):
        await rsvp(
            cultivate.database,
            clock,
            team_id=TEAM,
            occurrence_id=session.id,
            user_id=person,
            answer=answer,
        )
    start, end = clock.now(), clock.now() + timedelta(days=7)
    clock.advance(timedelta(days=3))
    [held] = await meetings.meetings_between(
        cultivate.database, team_id=TEAM, community_id=1, start=start, end=end
    )
    assert (held.title, held.going, held.maybe, held.cant) == ("Catch-up", 2, 0, 1)
    assert held.starts_at == session.occurrence.starts_at
    assert (
        await meetings.meetings_between(
            cultivate.database, team_id=TEAM, community_id=1, start=end, end=end + timedelta(days=7)
        )
        == []
    )


async def test_upcoming_sessions_come_with_the_counts_of_their_rsvps(
    cultivate: Cultivate, clock: ManualClock
) -> None:
    """The sessions to come and their RSVP counts are read in one statement: each session has
    its own counts, exactly as counted from the rows, the answers nobody gave left out."""
    await meeting_in_two_days(cultivate, clock, title="Weekly", recurrence="weekly")
    first, second = await upcoming(cultivate.database, clock, team_id=TEAM, community_id=1)
    assert (first.counts, second.counts) == ({}, {})
    given = {
        first.id: ((ASHA, "going"), (BEN, "going"), (CARMEN, "cant")),
        second.id: ((BEN, "maybe"),),
    }
    for occurrence_id, answers in given.items():
        for person, answer in answers:
            await rsvp(
                cultivate.database,
                clock,
                team_id=TEAM,
                occurrence_id=occurrence_id,
                user_id=person,
                answer=answer,
            )
    counted = await upcoming(cultivate.database, clock, team_id=TEAM, community_id=1)
    assert [s.counts for s in counted] == [{"going": 2, "cant": 1}, {"maybe": 1}]
    [only] = await upcoming(cultivate.database, clock, team_id=TEAM, community_id=1, limit=1)
    assert (only.id, only.counts) == (first.id, {"going": 2, "cant": 1})


def test_the_answers_counted_are_the_answers_offered() -> None:
    assert tuple(o.value for o in meetings.RSVP_ANSWERS) == meeting_rows.ANSWERS
