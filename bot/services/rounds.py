"""The recurring messages' rounds as the scheduler runs them: a round fans out to one row per
person, and each person's message first checks it is still wanted. A round no longer wanted
(the community closed, the settings changed) is dropped, not retried. The digest, the sponsor
report and new perspectives all go this way."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.dispatch import Drop, Due
from bot.services import sustaining
from bot.services.communities import CommunityRecord
from bot.services.development import Development
from bot.services.errors import NoCommunity
from bot.services.health import HealthFigures, Period, figures_for
from bot.services.sustaining import NoLongerWanted, Plan
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
    """One person's message from a round: its community and period, if still wanted."""
    if due.community_id is None:
        raise Drop("no community")
    try:
        return await sustaining.still_wanted(
            database, team_id=due.team_id, community_id=due.community_id, payload=due.payload
        )
    except (NoLongerWanted, NoCommunity) as reason:
        raise Drop(str(reason)) from None


@dataclass(frozen=True)
class RoundFigures:
    """What one person's digest or report is made of."""

    record: CommunityRecord
    period: Period
    plan: Plan
    figures: HealthFigures
    development: Development


async def figures_of(database: Database, clock: Clock, due: Due) -> RoundFigures:
    """One person's message from a round, if still wanted: the figures over its period."""
    record, period = await wanted(database, due)
    plan = await sustaining.plan(
        database, team_id=due.team_id, community_id=record.community.id or 0
    )
    figures, development = await figures_for(database, clock, record, period, plan.stage_override)
    return RoundFigures(record, period, plan, figures, development)
