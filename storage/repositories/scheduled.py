"""Rows due later, and the atomic claim that makes each one go out once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, update
from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import add_new, core_rows, insert_or_merge, table_of
from storage.models import ScheduledSend
from storage.repositories import leases, scoped


class SendState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt
    DROPPED = "dropped"  # too late to be worth sending
    CANCELLED = "cancelled"


OPEN_STATES = (SendState.PENDING, SendState.CLAIMED)
# How long after a process's last row in a channel the channel stays with it: long enough
# for that process to have paced its next post there (Slack allows about one a second).
CHANNEL_KEPT_FOR = timedelta(seconds=5)


async def schedule(
    session: AsyncSession,
    *,
    team_id: str,
    kind: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
    community_id: int | None = None,
    subject: str | None = None,
    dedupe_key: str | None = None,
    stale_at: datetime | None = None,
    channel: str | None = None,
) -> ScheduledSend | None:
    """Add a row. With a dedupe_key already used in this team, add nothing and return None.
    `channel` is where it will post (a person's id for a DM), if known now."""
    row = ScheduledSend(
        team_id=team_id,
        community_id=community_id,
        kind=kind,
        payload=payload or {},
        subject=subject,
        dedupe_key=dedupe_key,
        channel=channel,
        due_at=due_at,
        stale_at=stale_at,
    )
    if dedupe_key is None:
        session.add(row)
        await session.flush()
        return row
    return row if await add_new(session, row) else None


async def schedule_all(session: AsyncSession, rows: Sequence[ScheduledSend]) -> int:
    """Add the rows in one statement, each one whose dedupe_key is already used in its team
    left out (as `schedule` leaves it out): what one event starts (a welcome's DM, greeting
    and follow-ups) is one round trip, not one savepoint and insert each. How many were new."""
    if not rows:
        return 0
    statement = (
        insert_or_merge(session, ScheduledSend)
        .values([row.model_dump(exclude={"id"}) for row in rows])
        .on_conflict_do_nothing(index_elements=["team_id", "dedupe_key"])
        .returning(ScheduledSend.id)
    )
    return len((await session.exec(statement)).all())


async def claim_due(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    ids: Sequence[int] | None = None,
    team_id: str | None = None,
) -> Sequence[ScheduledSend]:
    """Claim up to `limit` due rows for `worker` (only among `ids`, and of `team_id`, if
    given), atomically: pending rows that are due, or claimed ones whose lease ran out (see
    `leases.claim`). A heartbeat (no `ids`) leaves a row to the process that holds a claim
    in its channel or posted a row there in the last `CHANNEL_KEPT_FOR`. Rows that a request
    asks to send now go at once: someone is waiting for them, and the rare 429 from the other
    process's pace is waited out and retried."""
    only = []
    if ids is None:
        only.append(_not_held_elsewhere(worker=worker, now=now))
    else:
        only.append(col(ScheduledSend.id).in_(ids))
    if team_id is not None:
        only.append(col(ScheduledSend.team_id) == team_id)
    return await leases.claim(
        session,
        ScheduledSend,
        waiting=(col(ScheduledSend.state) == SendState.PENDING)
        & (col(ScheduledSend.due_at) <= now),
        only=only,
        order_by=[col(ScheduledSend.due_at), col(ScheduledSend.id)],
        worker=worker,
        now=now,
        lease=lease,
        limit=limit,
    )


def _not_held_elsewhere(*, worker: str, now: datetime) -> ColumnElement[bool]:
    """Whether no other process holds the row's channel. A process paces its own posts to a
    channel; another posting there meanwhile would draw a 429 for both. A row without a
    channel is anyone's; a dead process's hold ends with its lease and `CHANNEL_KEPT_FOR`.
    The held channels are found once a claim (a hashed subquery), not once a candidate row."""
    other = aliased(ScheduledSend)
    held = core_select(other.channel).where(
        other.channel.is_not(None),
        other.claimed_by != worker,
        ((other.state == SendState.CLAIMED) & (other.lease_until >= now))
        # In the last seconds: not after `now`, so a clock set back holds nothing for long.
        | ((other.finished_at > now - CHANNEL_KEPT_FOR) & (other.finished_at <= now)),
    )
    return col(ScheduledSend.channel).is_(None) | col(ScheduledSend.channel).not_in(held)


async def confirm_claims(
    session: AsyncSession,
    *,
    send_ids: Sequence[int],
    worker: str,
    lease_until: datetime | ColumnElement[datetime],
) -> set[int]:
    """Just before sending: which of these rows are still ours? Those are given a lease to
    `lease_until`. A row can wait in a process's queue past its lease and be taken by another;
    then it is theirs."""
    return await leases.update_held(
        session,
        ScheduledSend,
        worker=worker,
        ids=send_ids,
        values={"lease_until": lease_until},
    )


async def finish(
    session: AsyncSession,
    *,
    send_ids: Sequence[int],
    worker: str,
    state: SendState,
    now: datetime | ColumnElement[datetime],
    error: str | None = None,
) -> set[int]:
    """Record how claimed rows ended, in one statement; which of them were still ours. A row
    whose claim was lost (the lease ran out and someone else took it) keeps their outcome."""
    ended = {"state": state, "finished_at": now, "last_error": error, "lease_until": None}
    return await leases.update_held(
        session, ScheduledSend, worker=worker, ids=send_ids, values=ended
    )


async def retry_later(
    session: AsyncSession,
    *,
    send_ids: Sequence[int],
    worker: str,
    due_at: datetime | ColumnElement[datetime],
    error: str,
) -> set[int]:
    """Put claimed rows back to be tried again at `due_at`; which of them were still ours."""
    pending_again = {
        "state": SendState.PENDING,
        "due_at": due_at,
        "last_error": error,
        "claimed_by": None,
        "lease_until": None,
    }
    return await leases.update_held(
        session, ScheduledSend, worker=worker, ids=send_ids, values=pending_again
    )


async def cancel(
    session: AsyncSession,
    *,
    team_id: str,
    community_id: int,
    subject: str | None = None,
    kinds: Sequence[str] | None = None,
    now: datetime,
) -> int:
    """Cancel what has not been sent yet: about one subject, or all the community's."""
    query = update(ScheduledSend).where(
        col(ScheduledSend.team_id) == team_id,
        col(ScheduledSend.community_id) == community_id,
        col(ScheduledSend.state).in_(OPEN_STATES),
    )
    if subject is not None:
        query = query.where(col(ScheduledSend.subject) == subject)
    if kinds is not None:
        query = query.where(col(ScheduledSend.kind).in_(kinds))
    result = await session.exec(
        query.values(state=SendState.CANCELLED, finished_at=now, lease_until=None)
    )
    return result.rowcount


async def open_for_community(
    session: AsyncSession, *, team_id: str, community_id: int
) -> Sequence[ScheduledSend]:
    query = scoped.of_community(ScheduledSend, team_id=team_id, community_id=community_id)
    result = await session.exec(
        query.where(col(ScheduledSend.state).in_(OPEN_STATES)).order_by(col(ScheduledSend.due_at))
    )
    return result.all()


async def failed_for_community(
    session: AsyncSession, *, team_id: str, community_id: int, limit: int = 10
) -> Sequence[ScheduledSend]:
    query = scoped.of_community(ScheduledSend, team_id=team_id, community_id=community_id)
    result = await session.exec(
        query.where(ScheduledSend.state == SendState.FAILED)
        .order_by(col(ScheduledSend.finished_at).desc())
        .limit(limit)
    )
    return result.all()


async def cancel_team(session: AsyncSession, *, team_id: str, now: datetime) -> int:
    """Stop everything a team had scheduled (the app was uninstalled there)."""
    result = await session.exec(
        update(ScheduledSend)
        .where(col(ScheduledSend.team_id) == team_id, col(ScheduledSend.state).in_(OPEN_STATES))
        .values(state=SendState.CANCELLED, finished_at=now, lease_until=None)
    )
    return result.rowcount


async def open_dedupe_keys(
    session: AsyncSession, *, team_id: str, dedupe_keys: Sequence[str]
) -> set[str]:
    """Which of these keys belong to rows not yet sent (or given up on)."""
    if not dedupe_keys:
        return set()
    result = await session.exec(
        select(ScheduledSend.dedupe_key).where(
            ScheduledSend.team_id == team_id,
            col(ScheduledSend.dedupe_key).in_(dedupe_keys),
            col(ScheduledSend.state).in_(OPEN_STATES),
        )
    )
    return {key for key in result.all() if key is not None}


async def open_ids_about(session: AsyncSession, *, team_id: str, subject: str) -> list[int]:
    """The rows about one subject not yet sent: what a request sends at once after its ack."""
    result = await session.exec(
        select(ScheduledSend.id)
        .where(
            ScheduledSend.team_id == team_id,
            ScheduledSend.subject == subject,
            col(ScheduledSend.state).in_(OPEN_STATES),
        )
        .order_by(col(ScheduledSend.id))
    )
    return [row_id for row_id in result.all() if row_id is not None]


async def latest_open_due(
    session: AsyncSession, *, team_id: str, community_id: int, kind: str
) -> datetime | None:
    """When the last row of this kind still to go out for the community is due: what a
    feature paces its next one after."""
    result = await session.exec(
        select(func.max(ScheduledSend.due_at)).where(
            ScheduledSend.team_id == team_id,
            ScheduledSend.community_id == community_id,
            ScheduledSend.kind == kind,
            col(ScheduledSend.state).in_(OPEN_STATES),
        )
    )
    return result.first()


_SENDS = table_of(ScheduledSend)
_KINDS_STILL_OPEN = (
    core_select(_SENDS.c.kind)
    .where(
        _SENDS.c.team_id == bindparam("team_id"),
        _SENDS.c.community_id == bindparam("community_id"),
        _SENDS.c.kind.in_(bindparam("kinds", expanding=True)),
        _SENDS.c.state.in_(OPEN_STATES),
    )
    .distinct()
)


async def kinds_still_open(
    session: AsyncSession, *, team_id: str, community_id: int, kinds: Sequence[str]
) -> set[str]:
    """Which of these kinds have a row still to go out for the community, in one read."""
    rows = await core_rows(
        session, _KINDS_STILL_OPEN, team_id=team_id, community_id=community_id, kinds=list(kinds)
    )
    return {kind for (kind,) in rows}


async def cancel_for_person(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime
) -> int:
    """Cancel what has not been sent yet to one person: rows whose payload's `user` is them
    (every sender that messages a person directly names them there)."""
    result = await session.exec(
        select(ScheduledSend).where(
            ScheduledSend.team_id == team_id, col(ScheduledSend.state).in_(OPEN_STATES)
        )
    )
    ids = [row.id for row in result.all() if row.payload.get("user") == user_id]
    if not ids:
        return 0
    cancelled = await session.exec(
        update(ScheduledSend)
        .where(col(ScheduledSend.id).in_(ids), col(ScheduledSend.state).in_(OPEN_STATES))
        .values(state=SendState.CANCELLED, finished_at=now, lease_until=None)
    )
    return cancelled.rowcount
