"""What Cultivate stops keeping, and when: the retention rules of docs/privacy.md.

Housekeeping (on the scheduler's heartbeat) deletes what is past its period; Slack's events
say when a channel or a person is gone, and nothing more is sent for them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.services.workspaces import erase_departed_workspaces
from storage.db import Database
from storage.repositories import installations, retention, scheduled
from storage.repositories.communities import community_for_channel
from storage.repositories.events import forget_events_before

log = logging.getLogger(__name__)

# A finished scheduled row (sent, failed, cancelled) shows in App Home's "failed" list and
# explains what happened; after this it explains nothing anyone still asks about.
FINISHED_SENDS_KEPT = timedelta(days=90)
# Slack stops redelivering an event after about an hour; a day is a wide margin.
EVENT_IDS_KEPT = timedelta(days=1)


@dataclass(frozen=True)
class Tidied:
    activity_days: int
    finished_sends: int
    oauth_states: int
    event_ids: int
    workspaces: int


async def tidy(database: Database, clock: Clock, *, activity_days: int) -> Tidied:
    """Delete everything past its retention period; erase departed workspaces that are due."""
    now = clock.now()
    async with database.session() as session:
        activity = await retention.delete_activity_before(
            session, day=(now - timedelta(days=activity_days)).date()
        )
        sends = await retention.delete_finished_sends_before(
            session, before=now - FINISHED_SENDS_KEPT
        )
        states = await installations.delete_expired_states(session, now=now)
        events = await forget_events_before(session, before=now - EVENT_IDS_KEPT)
    erased = await erase_departed_workspaces(database, clock)
    tidied = Tidied(activity, sends, states, events, len(erased))
    if any((activity, sends, states, events, erased)):
        log.info("housekeeping: %s", tidied)
    return tidied


async def channel_gone(database: Database, clock: Clock, *, team_id: str, channel_id: str) -> bool:
    """The channel was deleted or archived: its community is gone and nothing pending for it
    is sent (each would only fail and tell the coordinators so). False if no community."""
    now = clock.now()
    async with database.session() as session:
        community = await community_for_channel(session, team_id=team_id, channel_id=channel_id)
        if community is None or community.id is None:
            return False
        if community.gone_at is None:
            community.gone_at = now
            session.add(community)
        cancelled = await scheduled.cancel(
            session, team_id=team_id, community_id=community.id, now=now
        )
    log.info(
        "community %s's channel is gone; cancelled %d scheduled sends", community.id, cancelled
    )
    return True


async def person_deactivated(
    database: Database, clock: Clock, *, team_id: str, user_id: str
) -> int:
    """A deactivated account reads nothing: drop the direct messages still due to it."""
    async with database.session() as session:
        return await scheduled.cancel_for_person(
            session, team_id=team_id, user_id=user_id, now=clock.now()
        )
