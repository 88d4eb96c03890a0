"""People newly made a community's coordinators or facilitators: told once, by a direct
message, what the role means and what to do first, and added to the community's channel.

Saving the roles stage schedules one row per person it newly names (`schedule_notices`, in the
save's own unit of work), about the revision it saved; the handler sends them after its ack
with `dispatcher.send_now`. Each row's key holds the revision's version, so a save handled
twice, or a heartbeat racing the handler, tells nobody twice; a save that names nobody new
tells nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.answers import Answers
from bot.services.communities import CommunityRecord, is_closed, load_record
from bot.services.errors import NoCommunity
from storage.db import Database
from storage.models import Community
from storage.repositories import scheduled

ROLE_NOTICE = "role_notice"
COORDINATOR, FACILITATOR = "coordinator", "facilitator"
# Each role, and the roles stage's question that names who holds it.
ROLE_QUESTIONS = {COORDINATOR: "coordinators", FACILITATOR: "facilitators"}


def notices_subject(community_id: int, version: int) -> str:
    """The notices one save of the roles stage scheduled."""
    return f"role-notices:{community_id}:{version}"


def newly_named(before: Answers, after: Answers, *, saved_by: str) -> dict[str, list[str]]:
    """Who holds a role after a save that they did not hold before, with those roles. The
    person who saved it is left out: they know what they just did."""
    found: dict[str, list[str]] = {}
    for role, key in ROLE_QUESTIONS.items():
        held = set(before.get(key) or [])
        for user_id in after.get(key) or []:
            if user_id in held or user_id == saved_by:
                continue
            roles = found.setdefault(user_id, [])
            if role not in roles:
                roles.append(role)
    return found


async def schedule_notices(
    session: AsyncSession,
    *,
    community: Community,
    before: Answers,
    after: Answers,
    version: int,
    saved_by: str,
    now: datetime,
) -> None:
    """One notice, due now, for each person this save of the roles stage newly named."""
    assert community.id is not None
    for user_id, roles in newly_named(before, after, saved_by=saved_by).items():
        await scheduled.schedule(
            session,
            team_id=community.team_id,
            community_id=community.id,
            kind=ROLE_NOTICE,
            due_at=now,
            payload={"user": user_id, "roles": roles, "by": saved_by},
            subject=notices_subject(community.id, version),
            dedupe_key=f"{ROLE_NOTICE}:{community.id}:{version}:{user_id}",
            channel=user_id,
        )


async def waiting_notices(
    database: Database, *, team_id: str, community_id: int, version: int
) -> list[int]:
    """The notices a save scheduled that have not gone yet: for the handler to send now."""
    async with database.session() as session:
        return await scheduled.open_ids_about(
            session, team_id=team_id, subject=notices_subject(community_id, version)
        )


@dataclass(frozen=True)
class Notice:
    record: CommunityRecord
    user_id: str
    roles: list[str]  # the roles named that they still hold, as ROLE_QUESTIONS names them
    saved_by: str  # who named them: told if they cannot be added to the channel


async def notice(
    database: Database, *, team_id: str, community_id: int, payload: dict[str, Any]
) -> Notice | None:
    """The notice a row is for, as things are now: None if the community is gone or closed,
    or the person no longer holds any role it named (a later save took it back)."""
    try:
        async with database.session() as session:
            record = await load_record(session, team_id=team_id, community_id=community_id)
    except NoCommunity:
        return None
    if is_closed(record):
        return None
    user_id = str(payload.get("user") or "")
    held = {COORDINATOR: record.coordinators, FACILITATOR: record.facilitators}
    roles = [r for r in payload.get("roles") or [] if user_id in held.get(r, [])]
    if not user_id or not roles:
        return None
    return Notice(record=record, user_id=user_id, roles=roles, saved_by=str(payload.get("by")))
