"""Rows that name a person, found and rewritten by column: what erasure is built on. Which
columns name a person is said in one place, `bot.services.erasure`; these only do as told."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, cast, delete, func, update
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Community,
    JoinRequest,
    KnowledgeCapture,
    MeetingAction,
    MeetingOccurrence,
    MemberProfile,
    Membership,
    StageRevision,
)


def _column(model: type[SQLModel], name: str) -> Any:
    return getattr(model, name)


async def count_naming(
    session: AsyncSession, *, model: type[SQLModel], column: str, team_id: str, user_id: str
) -> int:
    result = await session.exec(
        select(func.count()).where(
            _column(model, "team_id") == team_id, _column(model, column) == user_id
        )
    )
    return int(result.one())


async def replace_naming(
    session: AsyncSession,
    *,
    model: type[SQLModel],
    column: str,
    team_id: str,
    user_id: str,
    value: str | None,
) -> int:
    result = await session.exec(
        update(model)
        .where(_column(model, "team_id") == team_id, _column(model, column) == user_id)
        .values({column: value})
    )
    return result.rowcount


async def delete_naming(
    session: AsyncSession, *, model: type[SQLModel], column: str, team_id: str, user_id: str
) -> int:
    result = await session.exec(
        delete(model).where(_column(model, "team_id") == team_id, _column(model, column) == user_id)
    )
    return result.rowcount


async def rows_mentioning(
    session: AsyncSession, *, model: type[SQLModel], column: str, team_id: str, text: str
) -> Sequence[Any]:
    """Rows whose JSON (or text) column holds `text` anywhere: candidates to rewrite."""
    result = await session.exec(
        select(model).where(
            _column(model, "team_id") == team_id,
            cast(_column(model, column), Text).contains(text, autoescape=True),
        )
    )
    return result.all()


async def communities_of(
    session: AsyncSession, *, team_id: str, user_id: str
) -> Sequence[Community]:
    """Communities the person was ever a member of, or is named in the answers of."""
    member = select(Membership.community_id).where(
        Membership.team_id == team_id, Membership.user_id == user_id
    )
    named = select(StageRevision.community_id).where(
        StageRevision.team_id == team_id,
        cast(StageRevision.answers, Text).contains(user_id, autoescape=True),
    )
    result = await session.exec(
        select(Community)
        .where(
            Community.team_id == team_id,
            col(Community.id).in_(member.union(named).scalar_subquery()),
        )
        .order_by(col(Community.name))
    )
    return result.all()


async def profiles_of(
    session: AsyncSession, *, team_id: str, user_id: str
) -> Sequence[MemberProfile]:
    result = await session.exec(
        select(MemberProfile).where(
            MemberProfile.team_id == team_id, MemberProfile.user_id == user_id
        )
    )
    return result.all()


async def join_requests_of(
    session: AsyncSession, *, team_id: str, user_id: str
) -> Sequence[JoinRequest]:
    result = await session.exec(
        select(JoinRequest)
        .where(JoinRequest.team_id == team_id, JoinRequest.user_id == user_id)
        .order_by(col(JoinRequest.requested_at))
    )
    return result.all()


async def end_open_memberships(
    session: AsyncSession, *, team_id: str, user_id: str, now: Any
) -> int:
    result = await session.exec(
        update(Membership)
        .where(
            col(Membership.team_id) == team_id,
            col(Membership.user_id) == user_id,
            col(Membership.left_at).is_(None),
        )
        .values(left_at=now)
    )
    return result.rowcount


async def delete_pending_join_requests(session: AsyncSession, *, team_id: str, user_id: str) -> int:
    result = await session.exec(
        delete(JoinRequest).where(
            col(JoinRequest.team_id) == team_id,
            col(JoinRequest.user_id) == user_id,
            col(JoinRequest.state) == "pending",
        )
    )
    return result.rowcount


async def clear_join_reasons(session: AsyncSession, *, team_id: str, user_id: str) -> int:
    result = await session.exec(
        update(JoinRequest)
        .where(col(JoinRequest.team_id) == team_id, col(JoinRequest.user_id) == user_id)
        .values(reason=None)
    )
    return result.rowcount


async def clear_profiles(session: AsyncSession, *, team_id: str, user_id: str) -> int:
    """What they said about themselves goes; that they introduced themselves stays a count."""
    result = await session.exec(
        update(MemberProfile)
        .where(col(MemberProfile.team_id) == team_id, col(MemberProfile.user_id) == user_id)
        .values(role="", organisation="", interests="", hopes_to_give="", hopes_to_get="")
    )
    return result.rowcount


async def delete_captures(session: AsyncSession, *, team_id: str, user_id: str) -> int:
    result = await session.exec(
        delete(KnowledgeCapture).where(
            col(KnowledgeCapture.team_id) == team_id, col(KnowledgeCapture.user_id) == user_id
        )
    )
    return result.rowcount


async def clear_notes(session: AsyncSession, *, team_id: str, user_id: str) -> int:
    """Empty the notes a person wrote, and take away the actions those notes listed."""
    written = select(MeetingOccurrence.id).where(
        col(MeetingOccurrence.team_id) == team_id, col(MeetingOccurrence.notes_by) == user_id
    )
    await session.exec(
        delete(MeetingAction).where(
            col(MeetingAction.team_id) == team_id, col(MeetingAction.occurrence_id).in_(written)
        )
    )
    result = await session.exec(
        update(MeetingOccurrence)
        .where(
            col(MeetingOccurrence.team_id) == team_id, col(MeetingOccurrence.notes_by) == user_id
        )
        .values(notes=None)
    )
    return result.rowcount
