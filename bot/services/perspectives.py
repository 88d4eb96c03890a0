"""New perspectives: the log of external experts and guest speakers a community's coordinators
invited (or who came), shown in status and kept for the archive. The prompt to invite one is a
sustaining round (`bot.services.sustaining.PERSPECTIVE`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.answers import clean, field_error
from bot.catalogue import Field, Kind
from bot.clock import Clock
from bot.services.communities import (
    CommunityRecord,
    community_by_id,
    load_record,
    require_coordinator,
    require_open,
)
from bot.services.errors import InvalidAnswers
from bot.services.sustaining import CLOSED_SUSTAINING
from storage.db import Database
from storage.models import Perspective
from storage.repositories import sustaining as rows
from storage.repositories.sustaining import GuestLine

PERSPECTIVE_FIELDS = (
    Field(
        "guest", "Who", Kind.LINE, required=True, max_length=150, placeholder="e.g. Dr Amina Yusuf"
    ),
    Field("organisation", "Their organisation", Kind.LINE, max_length=150),
    Field("topic", "Topic", Kind.LINE, required=True, max_length=300),
    Field("day", "Date", Kind.DATE, required=True),
)


async def log_perspective(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    answers: dict[str, Any],
) -> Perspective:
    """A coordinator logs an external expert or guest speaker invited (or to come)."""
    answers = clean(answers)
    errors = {
        spec.key: problem
        for spec in PERSPECTIVE_FIELDS
        if (problem := field_error(spec, answers.get(spec.key)))
    }
    if errors:
        raise InvalidAnswers(errors)
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        require_coordinator(record, user_id)
        require_open(record, CLOSED_SUSTAINING)
        return await rows.add_perspective(
            session,
            team_id=team_id,
            community_id=community_id,
            guest=answers["guest"],
            organisation=answers.get("organisation") or "",
            topic=answers["topic"],
            day=date.fromisoformat(answers["day"]),
            logged_by=user_id,
            logged_at=clock.now(),
        )


async def perspectives(database: Database, *, team_id: str, community_id: int) -> list[Perspective]:
    """The log of perspectives invited, newest first: shown in status, kept for the archive."""
    record = await community_by_id(database, team_id=team_id, community_id=community_id)
    return await perspectives_of(database, record)


async def latest_of(
    database: Database, record: CommunityRecord, *, shown: int
) -> tuple[int, list[GuestLine]]:
    """How many perspectives the community logged, and the newest `shown` (status's lines)."""
    assert record.community.id is not None
    async with database.session() as session:
        return await rows.latest_perspectives(
            session, community_id=record.community.id, shown=shown
        )


async def perspectives_of(database: Database, record: CommunityRecord) -> list[Perspective]:
    """`perspectives`, for a community already loaded (`/cop status` and App Home have it)."""
    assert record.community.id is not None
    async with database.session() as session:
        return list(await rows.perspectives(session, community_id=record.community.id))
