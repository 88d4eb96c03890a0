"""What sustaining a community reads and keeps: the whole membership and activity history
(for health figures), its settings, the latest pictures, the perspectives log, invitations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, bindparam, false, func, null, union_all, update
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import add_new, core_rows, table_of
from storage.models import (
    ActivityDay,
    HealthPicture,
    Invitation,
    InvitationClick,
    MemberProfile,
    Membership,
    Perspective,
    SustainingSettings,
)
from storage.repositories import community_settings, scoped

# What the community's history is read from, whole and in order (see `_in_order`).
Logged = TypeVar("Logged", MemberProfile, HealthPicture, Perspective)

# -- history ------------------------------------------------------------------------------


async def memberships(session: AsyncSession, *, community_id: int) -> Sequence[Membership]:
    """Every membership the community has had, bots left out, oldest first."""
    result = await session.exec(
        select(Membership)
        .where(Membership.community_id == community_id, col(Membership.is_bot).is_(False))
        .order_by(col(Membership.joined_at), col(Membership.id))
    )
    return result.all()


class MembershipRow(NamedTuple):
    """A `Membership` as read for counting: its columns, without an ORM object to build."""

    id: int
    team_id: str
    community_id: int
    user_id: str
    joined_at: datetime
    left_at: datetime | None
    welcomed: bool
    is_bot: bool
    level: str | None
    level_set_by: str | None
    level_set_at: datetime | None


class DayCount(NamedTuple):
    """How many messages a person posted on a day (an `ActivityDay`'s figures)."""

    user_id: str
    day: date
    messages: int


_MEMBERSHIPS = table_of(Membership)
_ACTIVITY = table_of(ActivityDay)
# Built once, with their values bound at each read: `/cop status` and App Home read both.
_MEMBERSHIP_HISTORY = (
    core_select(*(_MEMBERSHIPS.c[name] for name in MembershipRow._fields))
    .where(
        _MEMBERSHIPS.c.community_id == bindparam("community_id"),
        _MEMBERSHIPS.c.is_bot.is_(false()),
    )
    .order_by(_MEMBERSHIPS.c.joined_at, _MEMBERSHIPS.c.id)
)
_ACTIVITY_BETWEEN = core_select(*(_ACTIVITY.c[name] for name in DayCount._fields)).where(
    _ACTIVITY.c.community_id == bindparam("community_id"),
    _ACTIVITY.c.day >= bindparam("first"),
    _ACTIVITY.c.day <= bindparam("last"),
)


async def membership_history(
    session: AsyncSession, *, community_id: int
) -> Sequence[MembershipRow]:
    """`memberships`, as plain rows to count from (nothing to change in them)."""
    rows = await core_rows(session, _MEMBERSHIP_HISTORY, community_id=community_id)
    return [MembershipRow(*row) for row in rows]


async def activity_between(
    session: AsyncSession, *, community_id: int, first: date, last: date
) -> Sequence[DayCount]:
    """Daily message counts from `first` to `last`, both included."""
    rows = await core_rows(
        session, _ACTIVITY_BETWEEN, community_id=community_id, first=first, last=last
    )
    return [DayCount(*row) for row in rows]


async def profiles(session: AsyncSession, *, community_id: int) -> Sequence[MemberProfile]:
    order = [col(MemberProfile.introduced_at)]
    return await _in_order(session, MemberProfile, community_id=community_id, order_by=order)


# -- settings -----------------------------------------------------------------------------


async def settings(session: AsyncSession, *, community_id: int) -> SustainingSettings | None:
    return await community_settings.find(session, SustainingSettings, community_id=community_id)


# -- pictures -----------------------------------------------------------------------------


async def pictures(session: AsyncSession, *, community_id: int) -> Sequence[HealthPicture]:
    order = [col(HealthPicture.id)]
    return await _in_order(session, HealthPicture, community_id=community_id, order_by=order)


async def keep_picture(
    session: AsyncSession,
    *,
    team_id: str,
    community_id: int,
    kind: str,
    file_id: str,
    title: str,
    alt_text: str,
    drawn_at: datetime,
) -> None:
    """Remember the newest upload of this kind of picture (one row per kind)."""
    values = {"file_id": file_id, "title": title, "alt_text": alt_text, "drawn_at": drawn_at}
    changed = await session.exec(
        update(HealthPicture)
        .where(col(HealthPicture.community_id) == community_id, col(HealthPicture.kind) == kind)
        .values(**values)
    )
    if changed.rowcount:
        return
    # Refused if another upload added the row a moment before: that one is as new.
    await add_new(
        session, HealthPicture(team_id=team_id, community_id=community_id, kind=kind, **values)
    )


# -- perspectives -------------------------------------------------------------------------


async def add_perspective(session: AsyncSession, **fields: Any) -> Perspective:
    perspective = Perspective(**fields)
    session.add(perspective)
    await session.flush()
    return perspective


async def perspectives(session: AsyncSession, *, community_id: int) -> Sequence[Perspective]:
    """The log, newest first."""
    order = [col(Perspective.day).desc(), col(Perspective.id).desc()]
    return await _in_order(session, Perspective, community_id=community_id, order_by=order)


class GuestLine(NamedTuple):
    """A perspective as status lists it."""

    guest: str
    organisation: str
    topic: str
    day: date


_PERSPECTIVES = table_of(Perspective)
# The newest few, each with how many the log holds in all: one read for status's lines.
_LATEST_PERSPECTIVES = (
    core_select(
        *(_PERSPECTIVES.c[name] for name in GuestLine._fields), func.count().over().label("total")
    )
    .where(_PERSPECTIVES.c.community_id == bindparam("community_id"))
    .order_by(_PERSPECTIVES.c.day.desc(), _PERSPECTIVES.c.id.desc())
    .limit(bindparam("shown"))
)


async def latest_perspectives(
    session: AsyncSession, *, community_id: int, shown: int
) -> tuple[int, list[GuestLine]]:
    """How many perspectives the log holds, and the newest `shown` of them, newest first (as
    `perspectives` orders them)."""
    rows = await core_rows(session, _LATEST_PERSPECTIVES, community_id=community_id, shown=shown)
    total = rows[0].total if rows else 0
    return total, [GuestLine(*row[:-1]) for row in rows]


# -- invitations --------------------------------------------------------------------------


async def add_invitation(
    session: AsyncSession,
    *,
    team_id: str,
    community_id: int,
    channel_id: str,
    posted_by: str,
    posted_at: datetime,
) -> Invitation:
    invitation = Invitation(
        team_id=team_id,
        community_id=community_id,
        channel_id=channel_id,
        posted_by=posted_by,
        posted_at=posted_at,
    )
    session.add(invitation)
    await session.flush()
    return invitation


async def invitation_by_id(
    session: AsyncSession, *, team_id: str, invitation_id: int
) -> Invitation | None:
    return await scoped.by_id(session, Invitation, team_id=team_id, row_id=invitation_id)


async def set_invitation_ts(session: AsyncSession, *, invitation_id: int, ts: str) -> None:
    await session.exec(update(Invitation).where(col(Invitation.id) == invitation_id).values(ts=ts))


async def add_click(
    session: AsyncSession,
    *,
    team_id: str,
    community_id: int,
    invitation_id: int,
    user_id: str,
    clicked_at: datetime,
) -> bool:
    """Note a Join click; False if this person had already clicked this invitation."""
    click = InvitationClick(
        team_id=team_id,
        community_id=community_id,
        invitation_id=invitation_id,
        user_id=user_id,
        clicked_at=clicked_at,
    )
    return await add_new(session, click)


_CLICKS = table_of(InvitationClick)
_INVITATIONS = table_of(Invitation)


# Recruitment's two reads in one statement: a row for each press of Join (who, when, no
# count), and one row with how many invitations were posted (the count alone).
_CLICKS_AND_POSTED = union_all(
    core_select(_CLICKS.c.user_id, _CLICKS.c.clicked_at, null().label("posted")).where(
        _CLICKS.c.community_id == bindparam("community_id")
    ),
    core_select(null(), null(), func.count())
    .select_from(_INVITATIONS)
    .where(_INVITATIONS.c.community_id == bindparam("community_id")),
)


class Click(NamedTuple):
    user_id: str
    clicked_at: datetime


async def clicks_and_invitations(
    session: AsyncSession, *, community_id: int
) -> tuple[list[Click], int]:
    """Who pressed Join on the community's invitations, and when, in no particular order
    (only those two columns, since recruitment counts them by the hundred), and how many
    invitations the community posted: read in one statement."""
    pressed: list[Click] = []
    posted = 0
    for user_id, clicked_at, count in await core_rows(
        session, _CLICKS_AND_POSTED, community_id=community_id
    ):
        if user_id is None:
            posted = int(count)
        else:
            pressed.append(Click(user_id, clicked_at))
    return pressed, posted


async def _in_order(
    session: AsyncSession,
    table: type[Logged],
    *,
    community_id: int,
    order_by: Sequence[ColumnElement[Any]],
) -> Sequence[Logged]:
    """Every row the community has in `table`, in `order_by` order."""
    result = await session.exec(
        select(table).where(table.community_id == community_id).order_by(*order_by)
    )
    return result.all()
