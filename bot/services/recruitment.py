"""Recruitment: the ready-made invitation (what it says, from the community's setup), each
posting of it, who pressed its Join and who joined through it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.catalogue import MEMBERS, SCOPE
from bot.clock import Clock
from bot.services import counting
from bot.services.communities import (
    CommunityRecord,
    community_by_id,
    is_closed,
    load_record,
    require_coordinator,
    require_open,
)
from bot.services.errors import InvalidAnswers
from bot.services.joining import INVITATION, membership_policy
from bot.services.sustaining import CLOSED_SUSTAINING
from bot.services.welcomes import purpose
from storage.db import Database
from storage.models import Invitation
from storage.repositories import sustaining as rows

# Someone who pressed Join on an invitation and became a member within this long joined
# through it.
JOINED_THROUGH_WITHIN = timedelta(days=30)


@dataclass(frozen=True)
class InvitationContent:
    record: CommunityRecord
    purpose: str | None  # as typed: escape before posting
    who_for: str | None
    benefits: str | None
    by_invitation: bool


def invitation_content(record: CommunityRecord) -> InvitationContent:
    members = record.stages[MEMBERS.key].answers
    scope = record.stages[SCOPE.key].answers
    return InvitationContent(
        record=record,
        purpose=purpose(record),
        who_for=str(members.get("skills") or "").strip() or None,
        benefits=str(scope.get("benefits") or "").strip() or None,
        by_invitation=membership_policy(record) == INVITATION,
    )


async def start_invitation(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    channel_id: str,
) -> tuple[Invitation, InvitationContent]:
    """A coordinator posts the invitation to a channel: kept, so joins through it count."""
    if not channel_id.startswith(("C", "G")):
        raise InvalidAnswers({"channel": "Choose a channel to post it in."})
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        require_coordinator(record, user_id)
        require_open(record, CLOSED_SUSTAINING)
        invitation = await rows.add_invitation(
            session,
            team_id=team_id,
            community_id=community_id,
            channel_id=channel_id,
            posted_by=user_id,
            posted_at=clock.now(),
        )
    return invitation, invitation_content(record)


async def invitation_posted(database: Database, *, invitation_id: int, ts: str) -> None:
    async with database.session() as session:
        await rows.set_invitation_ts(session, invitation_id=invitation_id, ts=ts)


async def invitation_clicked(
    database: Database, clock: Clock, *, team_id: str, invitation_id: int, user_id: str
) -> CommunityRecord | None:
    """Someone pressed Join on an invitation. None if the invitation is gone. A press on a
    closed community's invitation is not counted (asking to join then says it is closed)."""
    async with database.session() as session:
        invitation = await rows.invitation_by_id(
            session, team_id=team_id, invitation_id=invitation_id
        )
        if invitation is None:
            return None
        record = await load_record(session, team_id=team_id, community_id=invitation.community_id)
        if is_closed(record):
            return record
        await rows.add_click(
            session,
            team_id=team_id,
            community_id=invitation.community_id,
            invitation_id=invitation_id,
            user_id=user_id,
            clicked_at=clock.now(),
        )
    return record


@dataclass(frozen=True)
class Recruitment:
    posted: int  # invitations posted
    clicked: int  # people who pressed Join on one
    joined: int  # of them, those who became members within 30 days of pressing it


async def recruitment(database: Database, *, team_id: str, community_id: int) -> Recruitment:
    record = await community_by_id(database, team_id=team_id, community_id=community_id)
    return await recruitment_of(database, record)


async def recruitment_of(database: Database, record: CommunityRecord) -> Recruitment:
    """Who joined through the invitation: a membership that began within 30 days after the
    person pressed its Join button (Slack's join event is what says they joined)."""
    community_id = record.community.id
    assert community_id is not None
    async with database.session() as session:
        pressed, posted = await rows.clicks_and_invitations(session, community_id=community_id)
        history = await counting.memberships_of(session, record)
    return Recruitment(
        posted=posted,
        clicked=len({c.user_id for c in pressed}),
        joined=joined_through(pressed, history),
    )


def joined_through(pressed: Sequence[Any], history: Sequence[Any]) -> int:
    # Each person's joins, so a click is matched against its presser's alone.
    joins: dict[str, list[datetime]] = {}
    for m in history:
        joins.setdefault(m.user_id, []).append(m.joined_at)
    joined = set()
    for click in pressed:
        if any(
            click.clicked_at <= at <= click.clicked_at + JOINED_THROUGH_WITHIN
            for at in joins.get(click.user_id, ())
        ):
            joined.add(click.user_id)
    return len(joined)
