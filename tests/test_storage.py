"""The schema: made by migrations, identical to the models, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

import storage.db
from storage.db import Database
from storage.migrate import alembic_config, current_revision, head_revision
from storage.models import Community
from storage.repositories import communities, stages
from tests.conftest import POSTGRES_SKIP, eventually

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def test_migrations_build_exactly_the_models(database: Database) -> None:
    assert await current_revision(database) == head_revision()
    async with database.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), SQLModel.metadata
            )
        )
    assert differences == []


def test_the_migration_chain_is_one_line_named_by_its_ids() -> None:
    """One head, every revision revising the one before it, and each file named by its id and
    whole words, so the chain reads in order in a listing (storage/migrations/README.md)."""
    scripts = ScriptDirectory.from_config(alembic_config())
    chain = list(reversed(list(scripts.walk_revisions())))
    assert scripts.get_heads() == [head_revision()]  # as storage.migrate reads it, cheaply
    assert chain[0].down_revision is None
    for before, after in pairwise(chain):
        assert after.down_revision == before.revision
    for script in chain:
        name = os.path.basename(script.path)
        assert name.startswith(f"{script.revision}_") and not name.endswith("_.py"), name
    assert [script.revision for script in chain] == sorted(script.revision for script in chain)


async def add_community(session: AsyncSession, *, name: str) -> Community:
    """A community in channel C1 of team T1."""
    return await communities.add_community(
        session,
        team_id="T1",
        channel_id="C1",
        name=name,
        domain="",
        timezone="UTC",
        created_by="U1",
        created_at=NOW,
    )


async def test_times_come_back_as_aware_utc(database: Database) -> None:
    async with database.session() as session:
        community = await add_community(session, name="A")
    async with database.session() as session:
        found = await communities.community_for_channel(session, team_id="T1", channel_id="C1")
    assert found is not None and found.id == community.id
    assert found.created_at == NOW and found.created_at.tzinfo is not None


async def test_two_saves_cannot_take_the_same_version(database: Database) -> None:
    async with database.session() as session:
        community = await add_community(session, name="A")
    assert community.id is not None

    async def save(answer: str) -> None:
        async with database.session() as session:
            await stages.add_revision(
                session,
                team_id="T1",
                community_id=community.id,  # type: ignore[arg-type]
                stage="scope",
                version=1,
                answers={"need": answer},
                edited_by="U1",
                edited_at=NOW,
            )

    await save("first")
    with pytest.raises(IntegrityError):
        await save("second")


async def test_the_same_community_is_not_made_twice_for_one_channel(database: Database) -> None:
    for attempt in range(2):
        try:
            async with database.session() as session:
                await add_community(session, name=f"A{attempt}")
        except IntegrityError:
            assert attempt == 1
    async with database.session() as session:
        assert len(await communities.communities_in_team(session, team_id="T1")) == 1


async def test_heroku_style_postgres_url_works_as_given() -> None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip(POSTGRES_SKIP)
    heroku = url.replace("postgresql://", "postgres://", 1)
    database = Database(heroku)
    try:
        assert await database.ping()
    finally:
        await database.dispose()


async def test_a_connection_dropped_while_idle_is_replaced_unseen(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ping before every unit of work: only a connection idle in the pool for a while is
    pinged, and one the server dropped meanwhile is replaced before anyone uses it."""
    if database.is_sqlite:
        pytest.skip("a SQLite connection is a file: nothing drops it")
    monkeypatch.setattr(storage.db, "IDLE_PING_SECONDS", 0.0)  # every connection counts as idle

    async def backend() -> int:
        async with database.session() as session:
            return int((await session.exec(text("SELECT pg_backend_pid()"))).one()[0])

    dropped = await backend()
    other = Database(database.url)
    async with other.session() as session:
        await session.exec(text(f"SELECT pg_terminate_backend({dropped}, 5000)"))
    await other.dispose()
    assert await backend() != dropped


async def test_a_request_still_to_be_acked_gets_the_next_connection_first(
    database: Database,
) -> None:
    """Work after acks (answers, notes, welcomes, the scheduler's sends) waiting for a
    connection gives way to a request that has not been acked yet, such as a form's save,
    however long it has waited: otherwise a burst of it makes the save miss Slack's 3 s."""
    entered: list[str] = []
    released = {name: asyncio.Event() for name in ("held", "late 1", "late 2", "save")}

    async def unit(name: str, *, after_an_ack: bool, release: asyncio.Event) -> None:
        with storage.db.giving_way() if after_an_ack else contextlib.nullcontext():
            async with database.session() as session:
                entered.append(name)  # the turn's order: nothing is awaited since it was given
                await session.execute(text("SELECT 1"))
                await release.wait()

    size = database.turns.size
    holders = [
        asyncio.create_task(unit(f"held {i}", after_an_ack=True, release=released["held"]))
        for i in range(size)
    ]
    await eventually(lambda: _at_least(entered, size))
    waiting = [
        asyncio.create_task(unit("late 1", after_an_ack=True, release=released["late 1"])),
        asyncio.create_task(unit("late 2", after_an_ack=True, release=released["late 2"])),
    ]
    await asyncio.sleep(0.05)  # they wait longer than the save
    save = asyncio.create_task(unit("save", after_an_ack=False, release=released["save"]))
    await asyncio.sleep(0.05)
    assert len(entered) == size  # all waiting: every turn is taken

    released["held"].set()
    await asyncio.gather(*holders)
    await eventually(lambda: _at_least(entered, size + min(size, 3)))
    assert entered[size] == "save"
    for event in released.values():
        event.set()
    await asyncio.gather(save, *waiting)
    assert sorted(entered[size:]) == ["late 1", "late 2", "save"]


async def _at_least(entered: list[str], count: int) -> bool:
    return len(entered) >= count


async def test_work_after_acks_waits_while_a_request_is_answered_but_not_for_ever(
    database: Database,
) -> None:
    """One event loop runs both: while a request is being answered (its ack not yet sent),
    work after acks starts no unit of work, so the ack is not queued behind it; a stream of
    requests that never ends still lets it move, a unit at a time."""
    entered: list[str] = []

    async def unit(name: str) -> None:
        with storage.db.giving_way():
            async with database.session() as session:
                await session.execute(text("SELECT 1"))
                entered.append(name)

    with database.turns.answering():
        waiting = asyncio.create_task(unit("after an ack"))
        async with database.session() as session:  # the request's own save goes at once
            await session.execute(text("SELECT 1"))
            entered.append("the request")
        await asyncio.sleep(storage.db.GIVE_WAY_SECONDS / 2)  # timers: this wakes first
        assert entered == ["the request"]
    await waiting
    assert entered == ["the request", "after an ack"]

    with database.turns.answering():  # a request that takes far longer than giving way
        await unit("after an ack, at last")
    assert entered[-1] == "after an ack, at last"


async def test_a_view_that_many_features_read_for_is_one_unit_of_work(
    database: Database,
) -> None:
    """`/cop status` and App Home ask each feature for its section, and each feature reads in
    a unit of work of its own. Inside `reading()` they are one: one connection and one
    transaction for the whole view (what one writes, the next sees; if the view fails, none
    of it stays), and a task started there is a unit of work of its own."""
    checkouts: list[object] = []
    sa_event.listen(database.engine.sync_engine, "checkout", lambda *_: checkouts.append(1))
    sessions: list[AsyncSession] = []

    async def feature_reads(name: str) -> None:
        async with database.session() as session:
            sessions.append(session)
            session.add(
                Community(
                    team_id="T1",
                    channel_id=f"C-{name}",
                    name=name,
                    domain="",
                    timezone="UTC",
                    created_by="U1",
                    created_at=NOW,
                )
            )

    async def count() -> int:
        async with database.session() as session:
            return len((await session.exec(select(Community))).all())

    with pytest.raises(RuntimeError):
        async with database.reading():
            await feature_reads("one")
            await feature_reads("two")
            assert await count() == 2  # the second saw the first's row
            assert len(set(map(id, sessions))) == 1
            raise RuntimeError("the view failed")
    assert len(checkouts) == 1
    assert await count() == 0  # rolled back whole

    async with database.reading():
        await feature_reads("three")
        elsewhere = asyncio.create_task(feature_reads("four"))
    await elsewhere  # started inside, run after: its own unit of work
    assert sessions[-1] is not sessions[-2]
    assert await count() == 2
