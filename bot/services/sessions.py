"""The sessions of a community's meetings as other features look through them (the next step
for the launch workshop, the milestones, the health figures): read once while an answer is
built. Imports nothing of meetings' own, so any service may use it."""

from __future__ import annotations

from bot.services.communities import CommunityRecord
from storage.db import Database
from storage.repositories import meetings as meeting_rows
from storage.repositories.meetings import Held


async def sessions_of(database: Database, record: CommunityRecord) -> list[Held]:
    """Every session (not cancelled) of the community's meetings, past and planned, soonest
    first: read once while an answer is built, as the next step (the launch workshop), the
    milestones and the health figures each look through them."""
    community = record.community
    assert community.id is not None
    team_id, community_id = community.team_id, community.id

    async def load() -> list[Held]:
        async with database.session() as session:
            return await meeting_rows.every_session(
                session, team_id=team_id, community_id=community_id
            )

    return await record.once("sessions", load)
