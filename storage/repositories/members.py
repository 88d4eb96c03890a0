"""Memberships, activity counts, profiles, join requests and welcome settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import bindparam, func, null, union_all, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import core_rows, table_of
from storage.models import ActivityDay, JoinRequest, MemberProfile, Membership, WelcomeSettings
from storage.repositories import community_settings, scoped

# -- memberships --------------------------------------------------------------------------


async def latest_membership(
    session: AsyncSession, *, community_id: int, user_id: str
) -> Membership | None:
    """The person's newest membership of the community, ended or not."""
    result = await session.exec(
        select(Membership)
        .where(Membership.community_id == community_id, Membership.user_id == user_id)
        .order_by(col(Membership.joined_at).desc(), col(Membership.id).desc())
        .limit(1)
    )
    return result.first()


async def membership_by_id(
    session: AsyncSession, *, team_id: str, membership_id: int
) -> Membership | None:
    return await scoped.by_id(session, Membership, team_id=team_id, row_id=membership_id)


async def current_members(session: AsyncSession, *, community_id: int) -> Sequence[Membership]:
    """Memberships that have not ended, bots left out, oldest first."""
    result = await session.exec(
        select(Membership)
        .where(
            Membership.community_id == community_id,
            col(Membership.left_at).is_(None),
            col(Membership.is_bot).is_(False),
        )
        .order_by(col(Membership.joined_at), col(Membership.id))
    )
    return result.all()


async def add_present(
    session: AsyncSession,
    *,
    team_id: str,
    community_id: int,
    user_ids: Sequence[str],
    joined_at: datetime,
) -> int:
    """Start an unwelcomed membership for each person who has no current one; someone a join
    event recorded meanwhile is left as they are. Returns how many were started."""
    if not user_ids:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Membership).values(
        [
            {
                "team_id": team_id,
                "community_id": community_id,
                "user_id": user_id,
                "joined_at": joined_at,
                "welcomed": False,
                "is_bot": False,
            }
            for user_id in dict.fromkeys(user_ids)
        ]
    )
    result = await session.exec(
        statement.on_conflict_do_nothing(
            index_elements=["community_id", "user_id"],
            index_where=col(Membership.left_at).is_(None),
        )
    )
    return int(result.rowcount or 0)


async def counted_as_joined(
    session: AsyncSession, *, membership_id: int, joined_at: datetime, began_by: datetime
) -> bool:
    """A membership recorded from the channel's list at the start (joined by `began_by`, not
    welcomed) becomes a join at `joined_at`, welcomed. False if it was not such a one (any
    more): of two copies of one join event, one changes it."""
    result = await session.exec(
        update(Membership)
        .where(
            col(Membership.id) == membership_id,
            col(Membership.welcomed).is_(False),
            col(Membership.left_at).is_(None),
            col(Membership.joined_at) <= began_by,
        )
        .values(joined_at=joined_at, welcomed=True)
    )
    return result.rowcount == 1


async def welcomed_between(
    session: AsyncSession, *, community_id: int, start: datetime, end: datetime
) -> Sequence[Membership]:
    """People welcomed for joining in [start, end) who are still members: one greeting's."""
    result = await session.exec(
        select(Membership)
        .where(
            Membership.community_id == community_id,
            col(Membership.joined_at) >= start,
            col(Membership.joined_at) < end,
            col(Membership.welcomed).is_(True),
            col(Membership.is_bot).is_(False),
            col(Membership.left_at).is_(None),
        )
        .order_by(col(Membership.joined_at), col(Membership.id))
    )
    return result.all()


async def end_membership(
    session: AsyncSession, *, community_id: int, user_id: str, left_at: datetime
) -> Membership | None:
    """End the person's current membership; None if they had none."""
    result = await session.exec(
        select(Membership).where(
            Membership.community_id == community_id,
            Membership.user_id == user_id,
            col(Membership.left_at).is_(None),
        )
    )
    membership = result.first()
    if membership is None:
        return None
    membership.left_at = left_at
    session.add(membership)
    await session.flush()
    return membership


async def mark_bot(session: AsyncSession, *, membership_id: int) -> None:
    await session.exec(
        update(Membership)
        .where(col(Membership.id) == membership_id)
        .values(is_bot=True, welcomed=False)
    )


async def set_level(
    session: AsyncSession,
    *,
    membership_id: int,
    level: str | None,
    set_by: str,
    set_at: datetime,
) -> None:
    await session.exec(
        update(Membership)
        .where(col(Membership.id) == membership_id)
        .values(level=level, level_set_by=set_by, level_set_at=set_at)
    )


async def member_counts(session: AsyncSession, *, community_ids: Sequence[int]) -> dict[int, int]:
    if not community_ids:
        return {}
    result = await session.exec(
        select(Membership.community_id, func.count())
        .where(
            col(Membership.community_id).in_(community_ids),
            col(Membership.left_at).is_(None),
            col(Membership.is_bot).is_(False),
        )
        .group_by(col(Membership.community_id))
    )
    return {community_id: count for community_id, count in result.all()}


# -- activity -----------------------------------------------------------------------------


async def count_message(
    session: AsyncSession, *, team_id: str, community_id: int, user_id: str, day: date
) -> None:
    """Add one to the person's count for the day, in one statement (no read-then-write race)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(ActivityDay).values(
        team_id=team_id, community_id=community_id, user_id=user_id, day=day, messages=1
    )
    await session.exec(
        statement.on_conflict_do_update(
            index_elements=["community_id", "user_id", "day"],
            set_={"messages": ActivityDay.messages + 1},
        )
    )


async def activity_since(
    session: AsyncSession, *, community_id: int, since: date
) -> dict[str, tuple[int, int]]:
    """Per person: (messages, days with a message) from `since` on."""
    result = await session.exec(
        select(ActivityDay.user_id, func.sum(ActivityDay.messages), func.count())
        .where(ActivityDay.community_id == community_id, col(ActivityDay.day) >= since)
        .group_by(col(ActivityDay.user_id))
    )
    return {user: (int(messages or 0), int(days)) for user, messages, days in result.all()}


async def posted_since(
    session: AsyncSession, *, community_id: int, user_id: str, since: date
) -> bool:
    result = await session.exec(
        select(ActivityDay.id)
        .where(
            ActivityDay.community_id == community_id,
            ActivityDay.user_id == user_id,
            col(ActivityDay.day) >= since,
        )
        .limit(1)
    )
    return result.first() is not None


# -- profiles -----------------------------------------------------------------------------


async def profile(
    session: AsyncSession, *, community_id: int, user_id: str
) -> MemberProfile | None:
    result = await session.exec(
        select(MemberProfile).where(
            MemberProfile.community_id == community_id, MemberProfile.user_id == user_id
        )
    )
    return result.first()


_PROFILES = table_of(MemberProfile)


async def save_profile(
    session: AsyncSession,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    fields: dict[str, str],
    introduced_at: datetime,
) -> MemberProfile:
    """Create or replace the person's profile in this community."""
    found = await profile(session, community_id=community_id, user_id=user_id)
    if found is None:
        found = MemberProfile(
            team_id=team_id, community_id=community_id, user_id=user_id, introduced_at=introduced_at
        )
    for key, value in fields.items():
        setattr(found, key, value)
    found.introduced_at = introduced_at
    session.add(found)
    await session.flush()
    return found


# -- join requests ------------------------------------------------------------------------

PENDING = "pending"


async def add_join_request(
    session: AsyncSession, *, team_id: str, community_id: int, user_id: str, requested_at: datetime
) -> JoinRequest:
    """Raises IntegrityError if the person already has a request waiting."""
    request = JoinRequest(
        team_id=team_id, community_id=community_id, user_id=user_id, requested_at=requested_at
    )
    session.add(request)
    await session.flush()
    return request


async def join_request_by_id(
    session: AsyncSession, *, team_id: str, request_id: int
) -> JoinRequest | None:
    return await scoped.by_id(session, JoinRequest, team_id=team_id, row_id=request_id)


async def latest_join_request(
    session: AsyncSession, *, community_id: int, user_id: str
) -> JoinRequest | None:
    result = await session.exec(
        select(JoinRequest)
        .where(JoinRequest.community_id == community_id, JoinRequest.user_id == user_id)
        .order_by(col(JoinRequest.requested_at).desc(), col(JoinRequest.id).desc())
        .limit(1)
    )
    return result.first()


async def pending_join_requests(
    session: AsyncSession, *, community_ids: Sequence[int], user_id: str | None = None
) -> Sequence[JoinRequest]:
    if not community_ids:
        return []
    query = select(JoinRequest).where(
        col(JoinRequest.community_id).in_(community_ids), JoinRequest.state == PENDING
    )
    if user_id is not None:
        query = query.where(JoinRequest.user_id == user_id)
    result = await session.exec(query.order_by(col(JoinRequest.requested_at)))
    return result.all()


_JOIN_REQUESTS = table_of(JoinRequest)
# The roster's two small reads in one statement: a row for each introduced person (their id,
# no count), then one row with the join requests waiting (no id, the count).
_INTRODUCED_AND_WAITING = union_all(
    core_select(_PROFILES.c.user_id, null()).where(
        _PROFILES.c.community_id == bindparam("community_id")
    ),
    core_select(null(), func.count())
    .select_from(_JOIN_REQUESTS)
    .where(
        _JOIN_REQUESTS.c.community_id == bindparam("community_id"),
        _JOIN_REQUESTS.c.state == PENDING,
    ),
)


async def introduced_and_waiting(
    session: AsyncSession, *, community_id: int
) -> tuple[set[str], int]:
    """Who has introduced themselves in the community, and how many join requests wait."""
    introduced: set[str] = set()
    waiting = 0
    for user_id, count in await core_rows(
        session, _INTRODUCED_AND_WAITING, community_id=community_id
    ):
        if user_id is None:
            waiting = int(count)
        else:
            introduced.add(user_id)
    return introduced, waiting


async def decide_join_request(
    session: AsyncSession,
    *,
    request_id: int,
    state: str,
    decided_by: str,
    decided_at: datetime,
    reason: str | None,
) -> bool:
    """Decide a request that is still waiting. False if someone decided it first."""
    result = await session.exec(
        update(JoinRequest)
        .where(col(JoinRequest.id) == request_id, col(JoinRequest.state) == PENDING)
        .values(state=state, decided_by=decided_by, decided_at=decided_at, reason=reason)
    )
    return result.rowcount == 1


async def set_join_request_notices(
    session: AsyncSession, *, request_id: int, notices: list[dict[str, str]]
) -> None:
    # Only this column: a decision saved meanwhile is not overwritten.
    await session.exec(
        update(JoinRequest).where(col(JoinRequest.id) == request_id).values(notices=notices)
    )


# -- welcome settings ---------------------------------------------------------------------


async def welcome_settings(session: AsyncSession, *, community_id: int) -> WelcomeSettings | None:
    return await community_settings.find(session, WelcomeSettings, community_id=community_id)
