"""Cheap reads: `/cop status` and App Home load a community with the same number of SQL
statements whatever its size, so none is made per member, meeting, milestone or item."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from fakeslack.workspace import BOT_USER_ID, Channel
from sandbox.seeding import fill
from storage.db import Database
from storage.models import Membership
from storage.repositories import communities
from storage.repositories import sustaining as history
from tests.conftest import Cultivate
from tests.steps import open_home, start_community, status_blocks

SIZES = (1, 10, 100)


@asynccontextmanager
async def counted(cultivate: Cultivate) -> AsyncIterator[list[str]]:
    """The SQL statements the app runs inside the block, once what it began before is done."""
    await cultivate.settled()
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = cultivate.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
        await cultivate.settled()
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_status_and_home_take_as_many_statements_for_1_10_or_100_of_everything(
    cultivate: Cultivate,
) -> None:
    """One community of each size, each in a channel of its own with its own coordinator (so
    their Home shows that community alone): 1, 10 and 100 members, meetings with their
    sessions and RSVPs, milestones, stakeholders and every other list's items, join
    requests, guests, invitations and their clicks, drafts of the terms and agreements, rows
    scheduled and failed."""
    counts: dict[int, dict[str, int]] = {}
    for community_id, size in enumerate(SIZES, start=1):
        [coordinator] = cultivate.slack.workspace.add_people(1, name="coordinator")
        channel = f"C0READS{size}"
        cultivate.slack.workspace.channels[channel] = Channel(
            channel, f"reads-{size}", members=[BOT_USER_ID, coordinator]
        )
        await start_community(cultivate, user=coordinator, channel=channel, timezone="UTC")
        await fill(
            cultivate.database,
            community_id=community_id,
            size=size,
            now=cultivate.runtime.clock.now(),
            channel_id=channel,
            coordinator=coordinator,
        )
        # A first look sets up what a community's first status does (its digest's round):
        # counted is the second.
        await status_blocks(
            cultivate, user=coordinator, channel=channel, count=2 * community_id - 1
        )
        await open_home(cultivate, coordinator)
        async with counted(cultivate) as status:
            blocks = await status_blocks(
                cultivate, user=coordinator, channel=channel, count=2 * community_id
            )
        async with counted(cultivate) as home:
            view = await open_home(cultivate, coordinator)
        assert f"<#{channel}>" in str(blocks)
        assert f"<#{channel}>" in str(view["blocks"])
        counts[size] = {"/cop status": len(status), "App Home": len(home)}
    assert counts[10] == counts[1], counts
    assert counts[100] == counts[1], counts


async def test_a_read_of_plain_rows_sees_what_its_unit_of_work_has_not_saved_yet(
    database: Database,
) -> None:
    """Counting reads memberships as plain rows (`storage.db.core_rows`), not through the ORM,
    which flushes before it reads: a membership added, or ended, earlier in the same unit of
    work is counted as an ORM query would count it."""
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    async with database.session() as session:
        community = await communities.add_community(
            session,
            team_id="T0READS",
            channel_id="C0READS",
            name="Reads",
            domain="",
            timezone="UTC",
            created_by="U0ASHA",
            created_at=now,
        )
        assert community.id is not None
        ids = {"team_id": "T0READS", "community_id": community.id}
        session.add(Membership(**ids, user_id="U0ASHA", joined_at=now))
        ending = Membership(**ids, user_id="U0BEN", joined_at=now)
        session.add(ending)
        assert [
            m.user_id for m in await history.membership_history(session, community_id=community.id)
        ] == [
            "U0ASHA",
            "U0BEN",
        ]
        ending.left_at = now + timedelta(hours=1)
        [_, ended] = await history.membership_history(session, community_id=community.id)
        assert ended.left_at == now + timedelta(hours=1)
