"""What a closing community's members learned: who may share it, until when, each person's
answers kept as versions, and who has shared (never what) for the coordinators.

The closure itself, which plans the prompts and reminders, is `bot.services.closure`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.answers import clean, field_error, is_empty
from bot.catalogue import Field, Kind
from bot.clock import Clock
from bot.services.communities import CommunityRecord, load_record
from bot.services.errors import Gone, InvalidAnswers, NotAllowed
from bot.services.milestones import today_for
from storage.db import Database
from storage.models import Closure, Community, KnowledgeCapture
from storage.repositories import closures as closure_rows
from storage.repositories import members as member_rows

CAPTURE_FIELDS: tuple[Field, ...] = (
    Field("achievements", "Key achievements", Kind.TEXT, max_length=2000),
    Field("lessons", "Lessons learned", Kind.TEXT, max_length=2000),
    Field("resources", "Key resources (links)", Kind.TEXT, max_length=2000),
    Field(
        "custody",
        "What should happen to this knowledge, and who should hold it?",
        Kind.TEXT,
        max_length=2000,
    ),
    Field("advice", "Advice for a future community", Kind.TEXT, max_length=2000),
)


async def latest_capture(
    database: Database, *, closure_id: int, user_id: str
) -> KnowledgeCapture | None:
    async with database.session() as session:
        mine = [
            c
            for c in await closure_rows.captures(session, closure_id=closure_id)
            if c.user_id == user_id
        ]
    return mine[-1] if mine else None


CAPTURE_OVER = (
    "Sharing what you learned closed on the community's closing date; its archive keeps what "
    "was shared."
)
MEMBERS_ONLY = "Only the community's members, present or past, can share what it learned."


def still_capturing(closure: Closure, community: Community, now: datetime) -> bool:
    """Members share what they learned until the closing date (in the community's time zone)
    and the celebration that ends it."""
    return closure.celebrated_at is None and today_for(community, now) <= closure.closing_date


async def capture_closure(
    database: Database, clock: Clock, *, team_id: str, closure_id: int, user_id: str
) -> tuple[Closure, CommunityRecord]:
    """The closure a person may share what they learned for: one of this team, whose
    community they belong or belonged to, until its closing date. Refused otherwise."""
    async with database.session() as session:
        closure = await closure_rows.closure_by_id(session, team_id=team_id, closure_id=closure_id)
        if closure is None or closure.id is None:
            raise Gone("That closure no longer exists.")
        record = await load_record(session, team_id=team_id, community_id=closure.community_id)
        await _require_capturer(session, closure, record, user_id, clock.now())
    return closure, record


async def _require_capturer(
    session: AsyncSession, closure: Closure, record: CommunityRecord, user_id: str, now: datetime
) -> None:
    latest = await member_rows.latest_membership(
        session, community_id=closure.community_id, user_id=user_id
    )
    if latest is None and not record.is_coordinator(user_id):
        raise NotAllowed(MEMBERS_ONLY)
    if not still_capturing(closure, record.community, now):
        raise NotAllowed(CAPTURE_OVER)


async def save_capture(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    closure_id: int,
    user_id: str,
    submitted: dict[str, Any],
) -> KnowledgeCapture:
    """Keep one person's answer as their newest version; earlier ones stay as history. Only
    from the community's members, present or past, and only until the closing date."""
    answers = {k: v for k, v in clean(submitted).items() if not is_empty(v)}
    errors = {
        spec.key: error
        for spec in CAPTURE_FIELDS
        if (error := field_error(spec, answers.get(spec.key))) is not None
    }
    if not answers and not errors:
        errors[CAPTURE_FIELDS[0].key] = "Please share at least one thing."
    if errors:
        raise InvalidAnswers(errors)
    try:
        async with database.session() as session:
            closure = await closure_rows.closure_by_id(
                session, team_id=team_id, closure_id=closure_id
            )
            if closure is None:
                raise Gone("That closure no longer exists.")
            record = await load_record(session, team_id=team_id, community_id=closure.community_id)
            await _require_capturer(session, closure, record, user_id, clock.now())
            version = await closure_rows.latest_capture_version(
                session, closure_id=closure_id, user_id=user_id
            )
            capture = KnowledgeCapture(
                team_id=team_id,
                community_id=closure.community_id,
                closure_id=closure_id,
                user_id=user_id,
                version=version + 1,
                answers=answers,
                submitted_at=clock.now(),
            )
            session.add(capture)
    except IntegrityError:
        raise Gone("You saved an answer from another window at the same moment.") from None
    return capture


@dataclass(frozen=True)
class CaptureProgress:
    closure: Closure
    answered: list[str]
    waiting: list[str]


async def capture_progress(
    database: Database, *, team_id: str, community_id: int
) -> CaptureProgress | None:
    """Who has shared what they learned (never what they shared)."""
    async with database.session() as session:
        closure = await closure_rows.closure_for(
            session, team_id=team_id, community_id=community_id
        )
        if closure is None or closure.id is None:
            return None
        answered = await closure_rows.answered(session, closure_id=closure.id)
        members = [
            m.user_id for m in await member_rows.current_members(session, community_id=community_id)
        ]
    return CaptureProgress(
        closure=closure,
        answered=sorted(answered),
        waiting=[u for u in members if u not in answered],
    )


async def still_waiting(database: Database, *, team_id: str, payload: dict[str, Any]) -> bool:
    """Whether a reminder still has a point: the person is a member who has not answered."""
    async with database.session() as session:
        closure = await closure_rows.closure_by_id(
            session, team_id=team_id, closure_id=int(payload["closure_id"])
        )
        if closure is None or closure.id is None or closure.celebrated_at is not None:
            return False
        if payload["user"] in await closure_rows.answered(session, closure_id=closure.id):
            return False
        current = await member_rows.latest_membership(
            session, community_id=closure.community_id, user_id=payload["user"]
        )
    return current is not None and current.left_at is None
