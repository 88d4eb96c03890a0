"""The health figures read meetings held, with their RSVPs, from the meetings themselves."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.services import meetings
from bot.services.meetings import create_meeting, rsvp, upcoming
from tests.conftest import ASHA, BEN, CARMEN, TEAM, Cultivate
from tests.steps import start_community


async def test_meetings_held_come_with_their_attendance(
    cultivate: Cultivate, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    day = (clock.now() + timedelta(days=2)).date()
    await create_meeting(
        cultivate.database,
        clock,
        team_id=TEAM,
        community_id=1,
        user_id=ASHA,
        submitted={
            "title": "Catch-up",
            "agenda": "",
            "date": day.isoformat(),
            "time": "10:00",
            "duration": "60",
            "timezone": "UTC",
            "format": "online",
            "place": "",
            "recurrence": "none",
            "reminders": [],
        },
    )
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
