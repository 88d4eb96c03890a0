"""A round of a recurring message (the health digest, the new-perspective prompt, the sponsor
report) as the dispatcher sends it: one row per person and the next round, or the row dropped
when the community no longer wants it."""

from __future__ import annotations

from bot.clock import Clock
from bot.dispatch import Drop, Due
from bot.services import sustaining
from bot.services.communities import CommunityRecord
from bot.services.errors import NoCommunity
from bot.services.health import Period
from bot.services.sustaining import NoLongerWanted
from storage.db import Database


async def run_round(database: Database, clock: Clock, due: Due, kind: str) -> None:
    """A round of a recurring message is due: one row per person, and the next round."""
    if due.community_id is None:
        raise Drop("no community")
    try:
        await sustaining.run_round(
            database,
            clock,
            team_id=due.team_id,
            community_id=due.community_id,
            kind=kind,
            payload=due.payload,
        )
    except (NoLongerWanted, NoCommunity) as reason:
        raise Drop(str(reason)) from None


async def wanted(database: Database, due: Due) -> tuple[CommunityRecord, Period]:
    if due.community_id is None:
        raise Drop("no community")
    try:
        return await sustaining.still_wanted(
            database, team_id=due.team_id, community_id=due.community_id, payload=due.payload
        )
    except (NoLongerWanted, NoCommunity) as reason:
        raise Drop(str(reason)) from None
