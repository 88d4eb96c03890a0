"""Who counts as a member, and every member figure, defined here and nowhere else: `/cop
status`, the roster, App Home, `/cop health`, the digest, the sponsor report, the directory and
the closure's celebration all count with these functions, so they cannot disagree.

A member is someone in the community's channel: the people Slack listed in it at `/cop start`
(conversations.members), kept current by member_joined_channel and member_left_channel (and by
the roster's look at the channel, for what happened while the app was not listening). Bots,
the app among them, are never members. Each time in the channel is a `Membership` row.

- members at a moment: memberships that had begun and not yet ended then;
- joined in a period: people whose membership began in it, except those who were already in
  the channel when it became a community (they did not join: they were there). A person who
  comes back is a join again;
- left in a period: people whose membership ended in it (a period runs from just after its
  start to its end included, as members are counted at its end: whoever joined by then is a
  member then, and joined in it);
- active: members who posted in the 30 days to the moment counted (the roster's window);
- levels: coordinator (the roles stage), else the level a coordinator chose from the
  community's own levels (the members stage's, or core, active and peripheral), else the one
  suggested from those 30 days.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.communities import CommunityRecord
from bot.services.levels import (
    AnyLevel,
    Level,
    chosen_level,
    levels_of,
    settable_levels,
    suggest_level,
)
from storage.models import Community, Membership
from storage.repositories import members as member_rows
from storage.repositories import sustaining as history_rows
from storage.repositories.sustaining import DayCount, MembershipRow

# A membership as stored, or as read to count from: the same columns.
Held = Membership | MembershipRow

ACTIVITY_WINDOW = timedelta(days=30)


def member_at(membership: Held, moment: datetime) -> bool:
    """Whether the membership held at `moment`: begun, not yet ended, and not a bot's."""
    return (
        not membership.is_bot
        and membership.joined_at <= moment
        and (membership.left_at is None or membership.left_at > moment)
    )


def began_with_community(membership: Held, community: Community) -> bool:
    """Someone in the channel when it became a community (the founder among them): recorded
    from the start, never welcomed as a newcomer, and not a join."""
    return membership.joined_at <= community.created_at and not membership.welcomed


def members_at(memberships: Sequence[Held], moment: datetime) -> dict[str, Held]:
    return {m.user_id: m for m in memberships if member_at(m, moment)}


def joined_between(
    memberships: Sequence[Held], community: Community, start: datetime, end: datetime
) -> set[str]:
    return {
        m.user_id
        for m in memberships
        if not m.is_bot and start < m.joined_at <= end and not began_with_community(m, community)
    }


def left_between(memberships: Sequence[Held], start: datetime, end: datetime) -> set[str]:
    return {
        m.user_id
        for m in memberships
        if not m.is_bot and m.left_at is not None and start < m.left_at <= end
    }


def last_join(
    memberships: Sequence[Held], community: Community, before: datetime
) -> datetime | None:
    """When someone last joined, before `before` (None if no one has since it began)."""
    return max(
        (
            m.joined_at
            for m in memberships
            if not m.is_bot and m.joined_at <= before and not began_with_community(m, community)
        ),
        default=None,
    )


def took_part(memberships: Sequence[Held]) -> list[str]:
    """Everyone who has ever been a member, in the order they first were: who took part."""
    return list(dict.fromkeys(m.user_id for m in memberships if not m.is_bot))


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def window_start(community: Community, end: datetime) -> date:
    """The first day of the 30 days to `end`, where the community is: "active" looks from it
    to `end`'s day, both included."""
    return local_day(end - ACTIVITY_WINDOW, community.timezone)


def posted(activity: Sequence[DayCount], first: date, last: date) -> dict[str, tuple[int, int]]:
    """Per person: (messages, days with a message) from `first` to `last`, both included."""
    counts: dict[str, tuple[int, int]] = {}
    for row in activity:
        if first <= row.day <= last:
            messages, days = counts.get(row.user_id, (0, 0))
            counts[row.user_id] = (messages + row.messages, days + 1)
    return counts


def level_of(
    record: CommunityRecord,
    user_id: str,
    chosen: str | None,
    activity: tuple[int, int],
    settable: tuple[AnyLevel, ...],
) -> AnyLevel:
    if record.is_coordinator(user_id):
        return Level.COORDINATOR
    return chosen_level(settable, chosen) or suggest_level(*activity, settable)


@dataclass(frozen=True)
class MemberFigures:
    """The member figures of one community over a period (its members as at the end)."""

    record: CommunityRecord
    start: datetime
    end: datetime
    members: dict[str, Held]  # as at `end`, oldest first
    joined: frozenset[str]
    left: frozenset[str]
    activity: dict[str, tuple[int, int]]  # (messages, days) in the 30 days to `end`, anyone's
    levels: dict[str, AnyLevel]  # each member's
    coordinators_elsewhere: list[str] = field(default_factory=list)  # not in the channel

    @property
    def active(self) -> set[str]:
        return {u for u in self.members if u in self.activity}

    def by_level(self) -> dict[AnyLevel, int]:
        """Every level of the community, most involved first, with how many members it has."""
        counts: dict[AnyLevel, int] = {level: 0 for level in levels_of(self.record)}
        for level in self.levels.values():
            counts[level] += 1
        return counts


def figures(
    record: CommunityRecord,
    memberships: Sequence[Held],
    activity: Sequence[DayCount],
    *,
    start: datetime,
    end: datetime,
) -> MemberFigures:
    """The figures from the rows: `memberships` every one the community has had, `activity`
    reaching back at least to `window_start(community, end)`."""
    community = record.community
    current = members_at(memberships, end)
    window = posted(activity, window_start(community, end), local_day(end, community.timezone))
    settable = settable_levels(record)
    return MemberFigures(
        record=record,
        start=start,
        end=end,
        members=current,
        joined=frozenset(joined_between(memberships, community, start, end)),
        left=frozenset(left_between(memberships, start, end)),
        activity=window,
        levels={
            user_id: level_of(record, user_id, m.level, window.get(user_id, (0, 0)), settable)
            for user_id, m in current.items()
        },
        coordinators_elsewhere=[c for c in record.coordinators if c not in current],
    )


async def memberships_of(session: AsyncSession, record: CommunityRecord) -> Sequence[Held]:
    """Every membership the community has had, bots left out, oldest first (read once while
    an answer is built: the roster, the health figures and recruitment all count them)."""
    community_id = record.community.id
    assert community_id is not None

    async def load() -> Sequence[Held]:
        return await history_rows.membership_history(session, community_id=community_id)

    return await record.once("memberships", load)


async def activity_of(
    session: AsyncSession, record: CommunityRecord, *, first: date, last: date
) -> Sequence[DayCount]:
    """Daily message counts from `first` to `last`, both included (read once while an answer
    is built: the roster and the health figures ask for the same days). Every figure counts
    from them by day, so days beyond what it counts change nothing."""
    community_id = record.community.id
    assert community_id is not None

    async def load() -> Sequence[DayCount]:
        return await history_rows.activity_between(
            session, community_id=community_id, first=first, last=last
        )

    return await record.once(("activity", first, last), load)


def activity_window(community: Community, start: datetime, end: datetime) -> tuple[date, date]:
    """The days the figures over [start, end) count activity on: the 30 days to `end` for
    "active", and the period before this one for who went quiet (the health figures)."""
    previous_start = start - (end - start)
    first = min(local_day(previous_start, community.timezone), window_start(community, end))
    return first, local_day(end, community.timezone)


async def load(
    session: AsyncSession, record: CommunityRecord, *, start: datetime, end: datetime
) -> MemberFigures:
    """The figures over [start, end), from what is stored."""
    community = record.community
    assert community.id is not None
    memberships = await memberships_of(session, record)
    first, last = activity_window(community, start, end)
    activity = await activity_of(session, record, first=first, last=last)
    return figures(record, memberships, activity, start=start, end=end)


async def members_now(
    session: AsyncSession, *, community_id: int, now: datetime
) -> dict[str, Held]:
    memberships = await history_rows.memberships(session, community_id=community_id)
    return members_at(memberships, now)


async def member_counts(session: AsyncSession, *, community_ids: Collection[int]) -> dict[int, int]:
    """How many members each community has now (for the directory, many at once): the
    memberships that have not ended, bots left out, as `members_at` counts them."""
    return await member_rows.member_counts(session, community_ids=list(community_ids))
