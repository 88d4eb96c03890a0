"""The event inbox: what Slack sent, kept from before its 200 until every listener has run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import add_new
from storage.models import ProcessedEvent
from storage.repositories import leases


class EventState(StrEnum):
    PENDING = "pending"  # acked, not yet handled
    CLAIMED = "claimed"  # a process is handling it, until its lease runs out
    DONE = "done"
    FAILED = "failed"  # its handling died too often: it would only die again


async def receive(
    connection: AsyncConnection,
    *,
    received: Sequence[tuple[str, str, str]],
    received_at: datetime | ColumnElement[datetime],
    claimed_by: str,
    lease_until: datetime | ColumnElement[datetime],
) -> dict[tuple[str, str], int]:
    """Keep events (team id, event id, body), claimed by the process that is about to ack
    them; returns the row of each (team id, event id) that was new. One received before (a
    redelivery) gets no row. The dedupe row and the event are one row: both are kept or
    neither. One INSERT … ON CONFLICT DO NOTHING for the lot."""
    if not received:
        return {}
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    inserted = await connection.execute(
        insert(ProcessedEvent)
        .values(
            [
                {
                    "team_id": team_id,
                    "event_id": event_id,
                    "received_at": received_at,
                    "body": body,
                    "state": EventState.CLAIMED,
                    "attempts": 1,
                    "claimed_by": claimed_by,
                    "lease_until": lease_until,
                }
                for team_id, event_id, body in received
            ]
        )
        .on_conflict_do_nothing(index_elements=["team_id", "event_id"])
        .returning(ProcessedEvent.id, ProcessedEvent.team_id, ProcessedEvent.event_id)
    )
    return {(team_id, event_id): row for row, team_id, event_id in inserted.all()}


async def first_delivery(
    session: AsyncSession, *, team_id: str, event_id: str, received_at: datetime
) -> bool:
    """Record an event id handled outside the inbox (Socket Mode); False if it was recorded
    before (a redelivery)."""
    handled = ProcessedEvent(
        team_id=team_id, event_id=event_id, received_at=received_at, state=EventState.DONE
    )
    return await add_new(session, handled)


async def claim(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    ids: Sequence[int] | None = None,
    received_before: datetime | None = None,
) -> Sequence[ProcessedEvent]:
    """Claim events to handle, as `scheduled.claim_due` claims rows: pending ones (only those
    received before `received_before`, if given: the process that acked a newer one is about to
    handle it), or claimed ones whose lease ran out."""
    pending = col(ProcessedEvent.state) == EventState.PENDING
    if received_before is not None:
        pending = pending & (col(ProcessedEvent.received_at) < received_before)
    return await leases.claim(
        session,
        ProcessedEvent,
        waiting=pending,
        only=[] if ids is None else [col(ProcessedEvent.id).in_(ids)],
        order_by=[col(ProcessedEvent.id)],
        worker=worker,
        now=now,
        lease=lease,
        limit=limit,
    )


async def finish(
    session: AsyncSession, *, rows: Sequence[int], worker: str, state: EventState
) -> int:
    """Record that events' listeners ran (or were given up on), where the rows are still
    ours. The body is dropped: nothing keeps what Slack sent longer than it takes to handle."""
    finished = await leases.update_held(
        session,
        ProcessedEvent,
        worker=worker,
        ids=rows,
        values={"state": state, "lease_until": None, "body": None},
    )
    return len(finished)


async def forget_events_before(session: AsyncSession, *, before: datetime) -> int:
    """Forget handled events received before `before`: Slack no longer redelivers them."""
    result = await session.exec(
        delete(ProcessedEvent).where(
            col(ProcessedEvent.received_at) < before,
            col(ProcessedEvent.state).in_((EventState.DONE, EventState.FAILED)),
        )
    )
    return result.rowcount
