"""Joining a community: its membership policy, the directory, and requests to join a community
whose membership is by invitation, which its coordinators approve or decline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.catalogue import MEMBERS, WAYS_OF_WORKING
from bot.clock import Clock
from bot.services import counting
from bot.services.access import InChannel, community_for
from bot.services.communities import (
    CommunityRecord,
    is_closed,
    load_record,
    records_in_team,
    require_coordinator,
    require_open,
)
from bot.services.errors import AlreadyDecided, InvalidAnswers, NoJoinRequest
from bot.services.welcomes import purpose
from storage.db import Database
from storage.models import JoinRequest, Membership
from storage.repositories import closures as closure_rows
from storage.repositories import communities as community_rows
from storage.repositories import members as member_rows
from storage.repositories import scheduled

OPEN = "open"
INVITATION = "invitation"

# Kinds of scheduled rows this feature sends.
JOIN_REQUEST = "join_request"  # asks each coordinator, with Approve and Decline
JOIN_ANSWER = "join_answer"  # invites (if approved) and tells the person
UNAPPROVED_JOIN = "unapproved_join"  # tells coordinators someone joined without approval

PENDING, APPROVED, DECLINED = member_rows.PENDING, "approved", "declined"
LAPSED = "lapsed"  # still waiting when the community closed
REASON_MAX = 500

CLOSED_JOINING = (
    "This community has closed, so it takes no new members: its channel and archive are kept "
    "as its record."
)


def membership_policy(record: CommunityRecord) -> str:
    """Open or by invitation, as the members stage says; open until it says otherwise. A
    private channel's community is by invitation whatever the stage says: nobody is added to
    a private channel without a coordinator's approval."""
    if record.community.is_private:
        return INVITATION
    answer = record.stages[MEMBERS.key].answers.get("membership")
    return INVITATION if answer == INVITATION else OPEN


def is_listed(record: CommunityRecord) -> bool:
    """A community private to its members, or in a private channel, or whose channel is gone,
    is left out of the directory."""
    if record.community.is_private or record.community.gone_at is not None:
        return False
    return record.stages[WAYS_OF_WORKING.key].answers.get("public_domain") != "private"


@dataclass(frozen=True)
class Listing:
    """A community as the directory shows it to one person."""

    record: CommunityRecord
    purpose: str | None
    members: int
    policy: str
    is_member: bool
    has_asked: bool
    # A closed community is listed apart, never with a Join: its archive, if it was published.
    closed: bool = False
    archive: str | None = None


async def directory(database: Database, *, team_id: str, viewer: str) -> list[Listing]:
    async with database.session() as session:
        records = [r for r in await records_in_team(session, team_id=team_id) if is_listed(r)]
        ids = [r.community.id for r in records if r.community.id is not None]
        counts = await counting.member_counts(session, community_ids=ids)
        mine = await community_rows.current_community_ids(session, team_id=team_id, user_id=viewer)
        asked = {
            r.community_id
            for r in await member_rows.pending_join_requests(
                session, community_ids=ids, user_id=viewer
            )
        }
        archives: dict[int, str | None] = {}
        for r in records:
            if is_closed(r) and r.community.id is not None:
                closure = await closure_rows.closure_for(
                    session, team_id=team_id, community_id=r.community.id
                )
                archives[r.community.id] = closure.archive_permalink if closure else None
    return [
        Listing(
            record=r,
            purpose=purpose(r),
            members=counts.get(r.community.id or 0, 0),
            policy=membership_policy(r),
            is_member=r.community.id in mine,
            has_asked=r.community.id in asked,
            closed=is_closed(r),
            archive=archives.get(r.community.id or 0),
        )
        for r in records
    ]


class Asked(StrEnum):
    """What asking to join came to."""

    MEMBER = "member"  # already a member
    OPEN = "open"  # open membership: the person can be added straight away
    REQUESTED = "requested"  # the coordinators have been asked
    WAITING = "waiting"  # they had already asked; the request is still waiting


async def ask_to_join(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    invited: bool = False,
    in_channel: InChannel | None = None,
) -> tuple[Asked, CommunityRecord]:
    """Join an open community, or ask a community by invitation's coordinators. Someone may
    only ask a private channel's community if they can see it (they are in its channel) or
    pressed an invitation its coordinators posted (`invited`); otherwise it is refused as if
    it did not exist."""
    if not invited:
        await community_for(
            database,
            team_id=team_id,
            user_id=user_id,
            community_id=community_id,
            in_channel=in_channel,
        )
    now = clock.now()
    try:
        async with database.session() as session:
            record = await load_record(session, team_id=team_id, community_id=community_id)
            require_open(record, CLOSED_JOINING)
            latest = await member_rows.latest_membership(
                session, community_id=community_id, user_id=user_id
            )
            if latest is not None and latest.left_at is None:
                return Asked.MEMBER, record
            if membership_policy(record) == OPEN or record.holds_role(user_id):
                # Someone the coordinators named in the roles stage is not asked to wait for
                # their approval (nor, as a coordinator, to approve themselves).
                return Asked.OPEN, record
            if await member_rows.pending_join_requests(
                session, community_ids=[community_id], user_id=user_id
            ):
                return Asked.WAITING, record
            request = await member_rows.add_join_request(
                session,
                team_id=team_id,
                community_id=community_id,
                user_id=user_id,
                requested_at=now,
            )
            await _schedule_about(
                session,
                kind=JOIN_REQUEST,
                team_id=team_id,
                community_id=community_id,
                request_id=request.id,
                now=now,
            )
    except IntegrityError:
        # A second click a moment after the first: its request is the one waiting.
        async with database.session() as session:
            record = await load_record(session, team_id=team_id, community_id=community_id)
        return Asked.WAITING, record
    return Asked.REQUESTED, record


async def decide(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    request_id: int,
    coordinator: str,
    approve: bool,
    reason: str | None = None,
) -> tuple[JoinRequest, CommunityRecord]:
    """Approve or decline a waiting request. Only the community's coordinators may, and
    only once: whoever answers second is told who answered first."""
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > REASON_MAX:
        raise InvalidAnswers({"reason": f"Please keep the reason under {REASON_MAX} characters."})
    now = clock.now()
    async with database.session() as session:
        request = await member_rows.join_request_by_id(
            session, team_id=team_id, request_id=request_id
        )
        if request is None:
            raise NoJoinRequest("that request no longer exists")
        record = await load_record(session, team_id=team_id, community_id=request.community_id)
        require_coordinator(record, coordinator)
        require_open(record, CLOSED_JOINING)
        state = APPROVED if approve else DECLINED
        if not await member_rows.decide_join_request(
            session,
            request_id=request_id,
            state=state,
            decided_by=coordinator,
            decided_at=now,
            reason=None if approve else reason,
        ):
            await session.refresh(request)  # whoever answered a moment before us
            raise AlreadyDecided(request.state, request.decided_by)
        await _schedule_about(
            session,
            kind=JOIN_ANSWER,
            team_id=team_id,
            community_id=request.community_id,
            request_id=request_id,
            now=now,
        )
        await session.refresh(request)
    return request, record


async def lapse_pending_requests(
    session: AsyncSession, *, team_id: str, community_id: int, closed_by: str, now: datetime
) -> int:
    """At closure, in its unit of work: requests still waiting lapse, and each person who
    asked is told (JOIN_ANSWER) rather than left waiting for an answer that cannot come."""
    waiting = await member_rows.pending_join_requests(session, community_ids=[community_id])
    for request in waiting:
        assert request.id is not None
        await member_rows.decide_join_request(
            session,
            request_id=request.id,
            state=LAPSED,
            decided_by=closed_by,
            decided_at=now,
            reason=None,
        )
        await _schedule_about(
            session,
            kind=JOIN_ANSWER,
            team_id=team_id,
            community_id=community_id,
            request_id=request.id,
            now=now,
        )
    return len(waiting)


async def _schedule_about(
    session: AsyncSession,
    *,
    kind: str,
    team_id: str,
    community_id: int,
    request_id: int | None,
    now: datetime,
) -> None:
    """Something to send now about a join request, once however often it is scheduled."""
    await scheduled.schedule(
        session,
        team_id=team_id,
        community_id=community_id,
        kind=kind,
        due_at=now,
        payload={"request": request_id},
        dedupe_key=f"{kind}:{request_id}",
    )


async def join_request(
    database: Database, *, team_id: str, request_id: int
) -> tuple[JoinRequest, CommunityRecord] | None:
    async with database.session() as session:
        request = await member_rows.join_request_by_id(
            session, team_id=team_id, request_id=request_id
        )
        if request is None:
            return None
        record = await load_record(session, team_id=team_id, community_id=request.community_id)
    return request, record


async def record_notices(
    database: Database, *, request_id: int, notices: list[dict[str, str]]
) -> None:
    async with database.session() as session:
        await member_rows.set_join_request_notices(session, request_id=request_id, notices=notices)


async def approved(
    session: AsyncSession,
    *,
    record: CommunityRecord,
    user_id: str,
    inviter: str | None,
    bot_user_id: str | None,
) -> bool:
    """Whether joining an invitation-only community was approved: a coordinator (or the bot,
    acting on an approval) added them, they coordinate or facilitate it (the coordinators
    named them), or their request was approved."""
    if record.holds_role(user_id):
        return True
    if inviter is not None and (inviter == bot_user_id or record.is_coordinator(inviter)):
        return True
    assert record.community.id is not None
    latest = await member_rows.latest_join_request(
        session, community_id=record.community.id, user_id=user_id
    )
    return latest is not None and latest.state == APPROVED


async def schedule_unapproved_report(
    session: AsyncSession, *, record: CommunityRecord, membership: Membership, now: datetime
) -> None:
    """Tell the coordinators, once, that someone joined without approval. Nobody is removed:
    that is for people to decide."""
    assert record.community.id is not None and membership.id is not None
    await scheduled.schedule(
        session,
        team_id=record.community.team_id,
        community_id=record.community.id,
        kind=UNAPPROVED_JOIN,
        due_at=now,
        payload={"membership": membership.id, "user": membership.user_id},
        dedupe_key=f"{UNAPPROVED_JOIN}:{membership.id}",
    )


async def unapproved_member(
    database: Database, *, team_id: str, membership_id: int
) -> tuple[Membership, CommunityRecord] | None:
    """The member to report for joining without approval; None if they have left since."""
    async with database.session() as session:
        membership = await member_rows.membership_by_id(
            session, team_id=team_id, membership_id=membership_id
        )
        if membership is None or membership.left_at is not None:
            return None
        record = await load_record(session, team_id=team_id, community_id=membership.community_id)
    return membership, record
