"""Data does not outlive its purpose: a workspace that leaves is erased after
UNINSTALL_RETENTION_DAYS (or at once with `python -m bot purge-team`), housekeeping deletes
old activity, finished scheduled rows, expired OAuth states and old event ids, and a channel or
person that is gone is sent nothing more."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from bot.clock import ManualClock
from bot.housekeeping import housekeeping
from bot.runtime import Runtime
from bot.services import joining
from bot.services.retention import tidy
from bot.services.workspaces import erase_workspace
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    ActivityDay,
    Community,
    OAuthState,
    ProcessedEvent,
    ScheduledSend,
    TeamDeparture,
)
from storage.repositories import scheduled
from storage.repositories.scheduled import OPEN_STATES
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, TEAM, Cultivate
from tests.installs import SECOND, Installable, installable_app  # noqa: F401 (a fixture)
from tests.steps import an_installation, run_main, start_community

OTHER = "T0OTHER"


async def rows_of(database: Database, team_id: str) -> dict[str, int]:
    """How many rows each table holds for the team (tables with none left out)."""
    counts = {}
    async with database.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if "team_id" in table.c:
                query = select(func.count()).select_from(table).where(table.c.team_id == team_id)
                n = (await connection.execute(query)).scalar_one()
                if n:
                    counts[table.name] = n
    return counts


def a_community(team_id: str, channel_id: str, now: datetime) -> Community:
    return Community(
        team_id=team_id,
        channel_id=channel_id,
        name="Housing",
        domain="",
        timezone="UTC",
        created_by=ASHA,
        created_at=now,
    )


async def another_team(database: Database, now: datetime) -> None:
    """A second workspace's community, which no erasure of the first may touch."""
    async with database.session() as session:
        session.add(a_community(OTHER, "C0OTHER", now))


async def test_an_uninstalled_workspace_is_erased_after_the_retention_period(
    cultivate: Cultivate, clock: ManualClock
) -> None:
    await start_community(cultivate)
    await another_team(cultivate.database, clock.now())
    held = await rows_of(cultivate.database, TEAM)
    assert {"communities", "memberships", "stage_revisions"} <= held.keys()

    await cultivate.event({"type": "app_uninstalled"})
    await cultivate.settled()
    async with cultivate.database.session() as session:
        departure = (await session.exec(select(TeamDeparture))).scalars().one()
    assert departure.erase_at == clock.now() + timedelta(days=30)

    clock.advance(timedelta(days=29, hours=23))
    await housekeeping(cultivate.runtime, activity_days=400)
    assert (await rows_of(cultivate.database, TEAM)).keys() >= held.keys()

    clock.advance(timedelta(hours=2))
    tidied = await housekeeping(cultivate.runtime, activity_days=400)
    assert tidied.workspaces == 1
    assert await rows_of(cultivate.database, TEAM) == {}
    assert await rows_of(cultivate.database, OTHER) == {"communities": 1}


async def test_reinstalling_within_the_period_keeps_everything(
    installable: tuple[Installable, Runtime],
    clock: ManualClock,
) -> None:
    app, runtime = installable
    await app.install(SECOND, "code-1")
    assert await app.post(*app.requests(SECOND).event_callback({"type": "app_uninstalled"})) == 200

    async def departed() -> int:
        async with runtime.database.session() as session:
            return len((await session.exec(select(TeamDeparture))).all())

    for _ in range(500):
        if await departed():
            break
        await asyncio.sleep(0.01)
    assert await departed() == 1

    clock.advance(timedelta(days=10))
    await app.install(SECOND, "code-2")
    assert await departed() == 0
    clock.advance(timedelta(days=60))
    await tidy(runtime.database, clock, activity_days=400)
    assert (await rows_of(runtime.database, SECOND)) == {"installations": 1}


async def test_housekeeping_deletes_what_is_past_its_period(
    database: Database, clock: ManualClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        community = a_community(TEAM, HOUSING, now)
        session.add(community)
        await session.flush()
        for days_ago in (401, 399):
            session.add(
                ActivityDay(
                    team_id=TEAM,
                    community_id=community.id,
                    user_id=BEN,
                    day=(now - timedelta(days=days_ago)).date(),
                    messages=3,
                )
            )
        for state, finished_days_ago in (("sent", 91), ("cancelled", 89), ("failed", 120)):
            session.add(
                ScheduledSend(
                    team_id=TEAM,
                    kind="note",
                    payload={},
                    due_at=now - timedelta(days=finished_days_ago),
                    state=state,
                    finished_at=now - timedelta(days=finished_days_ago),
                )
            )
        # Pending for a long time (a far-off reminder's row was due long ago): never deleted.
        session.add(
            ScheduledSend(team_id=TEAM, kind="note", payload={}, due_at=now - timedelta(days=200))
        )
        session.add(OAuthState(state="old", expires_at=now - timedelta(minutes=1)))
        session.add(OAuthState(state="fresh", expires_at=now + timedelta(minutes=9)))
        session.add(
            ProcessedEvent(
                team_id=TEAM, event_id="Ev1", received_at=now - timedelta(days=2), state="done"
            )
        )
        session.add(ProcessedEvent(team_id=TEAM, event_id="Ev2", received_at=now, state="done"))
        # Still waiting in the inbox (its process died before handling it): kept until handled.
        session.add(
            ProcessedEvent(team_id=TEAM, event_id="Ev0", received_at=now - timedelta(days=2))
        )

    tidied = await tidy(database, clock, activity_days=400)
    assert (tidied.activity_days, tidied.finished_sends) == (1, 2)
    assert (tidied.oauth_states, tidied.event_ids) == (1, 1)
    async with database.session() as session:
        days = (await session.exec(select(ActivityDay.day))).scalars().all()
        sends = (await session.exec(select(ScheduledSend.state))).scalars().all()
        states = (await session.exec(select(OAuthState.state))).scalars().all()
        events = (await session.exec(select(ProcessedEvent.event_id))).scalars().all()
    assert days == [(now - timedelta(days=399)).date()]
    assert sorted(sends) == ["cancelled", "pending"]
    assert states == ["fresh"] and sorted(events) == ["Ev0", "Ev2"]

    # A shorter ACTIVITY_RETENTION_DAYS deletes more.
    assert (await tidy(database, clock, activity_days=30)).activity_days == 1


async def schedule_for(cultivate: Cultivate, community_id: int | None, user: str, key: str) -> None:
    async with cultivate.database.session() as session:
        await scheduled.schedule(
            session,
            team_id=TEAM,
            community_id=community_id,
            kind="note",
            due_at=cultivate.runtime.clock.now() + timedelta(days=1),
            payload={"user": user},
            dedupe_key=key,
        )


async def open_keys(cultivate: Cultivate) -> list[str]:
    """The test's own rows still to be sent (a community schedules its digests too)."""
    async with cultivate.database.session() as session:
        rows = await session.exec(
            select(ScheduledSend.dedupe_key).where(
                ScheduledSend.state.in_(OPEN_STATES), ScheduledSend.kind == "note"
            )
        )
        return sorted(rows.scalars().all())


@pytest.mark.parametrize(
    "event", ["channel_deleted", "channel_archive", "group_deleted", "group_archive"]
)
async def test_a_deleted_or_archived_channel_marks_its_community_gone_and_sends_nothing_more(
    cultivate: Cultivate, clock: ManualClock, event: str
) -> None:
    await start_community(cultivate)
    await schedule_for(cultivate, 1, BEN, "housing")
    await schedule_for(cultivate, None, BEN, "elsewhere")

    await cultivate.event({"type": event, "channel": HOUSING, "user": ASHA})
    await cultivate.settled()
    async with cultivate.database.session() as session:
        community = (await session.exec(select(Community))).scalars().one()
        still_open = await scheduled.open_for_community(session, team_id=TEAM, community_id=1)
    assert community.gone_at == clock.now()
    assert still_open == []  # its digests too
    assert await joining.directory(cultivate.database, team_id=TEAM, viewer=BEN) == []
    assert await open_keys(cultivate) == ["elsewhere"]

    # Another channel's deletion changes nothing.
    await cultivate.event({"type": event, "channel": "C0ELSEWHERE"})
    await cultivate.settled()
    assert await open_keys(cultivate) == ["elsewhere"]


async def test_a_deactivated_persons_pending_direct_messages_are_dropped(
    cultivate: Cultivate,
) -> None:
    await start_community(cultivate)
    await schedule_for(cultivate, 1, CARMEN, "carmen")
    await schedule_for(cultivate, 1, BEN, "ben")

    await cultivate.event({"type": "user_change", "user": {"id": CARMEN, "deleted": False}})
    await cultivate.settled()
    assert await open_keys(cultivate) == ["ben", "carmen"]

    await cultivate.event({"type": "user_change", "user": {"id": CARMEN, "deleted": True}})
    await cultivate.settled()
    assert await open_keys(cultivate) == ["ben"]


def test_purge_team_erases_one_workspace_now(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'cultivate.db'}")
    now = datetime(2026, 12, 1, tzinfo=UTC)

    async def two_teams() -> None:
        await upgrade(database)
        await another_team(database, now)
        async with database.session() as session:
            session.add(a_community(TEAM, HOUSING, now))
            session.add(an_installation(TEAM, "sealed"))
        await database.dispose()

    asyncio.run(two_teams())
    assert run_main(monkeypatch, tmp_path, "purge-team", TEAM) == 0
    assert capsys.readouterr().out.splitlines() == [f"erased team {TEAM}: 2 rows deleted"]
    assert asyncio.run(rows_of(database, TEAM)) == {}
    assert asyncio.run(rows_of(database, OTHER)) == {"communities": 1}

    # Nothing left to erase, no id, or not a team id: one line each, nothing changed.
    for argv, status, says in (
        (("purge-team", TEAM), 1, f"nothing is stored for team {TEAM}"),
        (("purge-team",), 2, "no team id"),
        (("purge-team", "U0ASHA"), 2, "'U0ASHA' is not a Slack team id"),
        (("purge-team", "t0other"), 2, "'t0other' is not a Slack team id"),
    ):
        assert run_main(monkeypatch, tmp_path, *argv) == status
        out = capsys.readouterr()
        [line] = out.err.strip().splitlines()
        assert line.startswith("cultivate: purge-team: ") and says in line
        assert out.out == ""
    assert asyncio.run(rows_of(database, OTHER)) == {"communities": 1}
    asyncio.run(database.dispose())


async def test_erasing_a_workspace_covers_every_table_with_a_team(database: Database) -> None:
    """Every table with rows of a team has a team_id: what `delete_team` walks."""
    for table in SQLModel.metadata.sorted_tables:
        if table.name in ("oauth_states",):
            continue  # not a team's: an unauthenticated install's state, deleted when expired
        assert "team_id" in table.c, f"{table.name} has no team_id: erasure would miss it"
    assert await erase_workspace(database, team_id=TEAM) == 0
