"""Claiming rows with a lease: the one query by which processes share work (scheduled sends,
events in the inbox) so that each row is taken by one of them at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedEvent, ScheduledSend

CLAIMED = "claimed"  # the state of a row a process holds, in both tables

Leased = TypeVar("Leased", ScheduledSend, ProcessedEvent)


async def claim(
    session: AsyncSession,
    table: type[Leased],
    *,
    waiting: ColumnElement[bool],
    only: Sequence[ColumnElement[bool]] = (),
    order_by: Sequence[ColumnElement[object]],
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> Sequence[Leased]:
    """Claim up to `limit` rows for `worker`, atomically: those `waiting` to be taken, or
    claimed by someone whose lease ran out (narrowed by `only`, taken in `order_by` order).
    Each claim counts as an attempt.

    One conditional UPDATE takes them. On PostgreSQL the inner SELECT locks with SKIP LOCKED,
    so concurrent heartbeats take disjoint rows without waiting; SQLite serialises writers, so
    the one statement is already atomic there.
    """
    takeable = (
        select(table.id)
        .where(
            or_(waiting, (col(table.state) == CLAIMED) & (col(table.lease_until) < now)),
            *only,
        )
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.exec(
        update(table)
        .where(col(table.id).in_(takeable.scalar_subquery()))
        .values(
            state=CLAIMED,
            claimed_by=worker,
            lease_until=now + lease,
            attempts=table.attempts + 1,
        )
        .returning(table.id)
    )
    claimed_ids = list(claimed.scalars().all())
    if not claimed_ids:
        return []
    rows = await session.exec(
        select(table)
        .where(col(table.id).in_(claimed_ids))
        .order_by(*order_by)
        .execution_options(populate_existing=True)
    )
    return rows.all()


async def update_held(
    session: AsyncSession,
    table: type[Leased],
    *,
    worker: str,
    ids: Sequence[int],
    values: dict[str, Any],
) -> set[int]:
    """Set `values` on those of `ids` that `worker` still holds, in one statement; which they
    were. A row whose lease ran out may have been taken by another process meanwhile: then it
    is theirs, untouched."""
    if not ids:
        return set()
    result = await session.exec(
        update(table)
        .where(
            col(table.id).in_(ids),
            col(table.claimed_by) == worker,
            col(table.state) == CLAIMED,
        )
        .values(**values)
        .returning(table.id)
    )
    return set(result.scalars().all())


async def renew(
    session: AsyncSession,
    table: type[Leased],
    *,
    worker: str,
    ids: Sequence[int],
    lease_until: datetime,
) -> int:
    """Extend this worker's claims that are still in flight, so a slow send or a long queue
    is not mistaken for a dead process and its rows taken twice."""
    renewed = await update_held(
        session, table, worker=worker, ids=ids, values={"lease_until": lease_until}
    )
    return len(renewed)
