"""Who belongs to a community: joining and leaving its channel, how much each member takes
part, and their level of participation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.services import counting, joining, welcomes
from bot.services.communities import (
    CLOSED_NOTE,
    CommunityRecord,
    community_by_id,
    is_closed,
    load_record,
    require_coordinator,
    require_open,
)
from bot.services.errors import InvalidAnswers, NotAMember
from bot.services.health import trailing
from bot.services.levels import (
    AnyLevel,
    chosen_level,
    levels_of,
    settable_levels,
    suggest_level,
)
from bot.services.levels import Level as Level  # where the roster and tests look for it
from bot.services.sustaining import plan_of
from storage.db import Database
from storage.repositories import communities as community_rows
from storage.repositories import members as member_rows
from storage.repositories import scheduled

# Someone back within this long is not welcomed again: they know the community already.
RETURN_GRACE = timedelta(days=30)


# -- the channel's events -----------------------------------------------------------------


@dataclass(frozen=True)
class Joined:
    """What one join started."""

    community_id: int
    membership_id: int
    welcomed: bool  # false for someone back within 30 days, or who coordinates or facilitates
    reported: bool  # joined an invitation-only community without approval


async def member_joined(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    inviter: str | None,
    bot_user_id: str | None,
    batch_seconds: int,
) -> Joined | None:
    """Someone joined a channel. If it is a community's, start their membership and schedule
    their welcome. None when there is nothing to do: the bot itself, a channel that is not a
    community, or someone already a member (a retried or duplicate event)."""
    if not user_id or user_id == bot_user_id:
        return None
    now = clock.now()
    try:
        async with database.session() as session:
            community = await community_rows.community_for_channel(
                session, team_id=team_id, channel_id=channel_id
            )
            if community is None or community.id is None:
                return None
            latest = await member_rows.latest_membership(
                session, community_id=community.id, user_id=user_id
            )
            record = await load_record(session, team_id=team_id, community_id=community.id)
            if latest is not None and latest.left_at is None:
                # Already a member: a copy of the event, unless they were recorded from the
                # channel's list at the start while Slack's word of their joining was on its
                # way. Slack says they joined: a join, then, and a newcomer's welcome.
                if (
                    latest.id is None
                    or user_id == community.created_by
                    or not counting.began_with_community(latest, community)
                    or not await member_rows.counted_as_joined(
                        session,
                        membership_id=latest.id,
                        joined_at=now,
                        began_by=community.created_at,
                    )
                ):
                    return None
                await session.refresh(latest)
                membership, returning = latest, False
            else:
                returning = (
                    latest is not None
                    and latest.left_at is not None
                    and now - latest.left_at < RETURN_GRACE
                )
                # The partial unique index refuses a second current membership: of two copies
                # of one event handled at the same moment, one commits and the other changes
                # nothing.
                membership = await community_rows.add_membership(
                    session,
                    team_id=team_id,
                    community_id=community.id,
                    user_id=user_id,
                    joined_at=now,
                    welcomed=not returning and not record.holds_role(user_id),
                )
            # Its coordinators and facilitators are not its newcomers: nobody welcomes them,
            # greets them, or counts them among the newcomers who have not posted yet.
            newcomer = not returning and not record.holds_role(user_id)
            if is_closed(record):
                # A closed community welcomes nobody: a short note points to its archive.
                await scheduled.schedule(
                    session,
                    team_id=team_id,
                    kind=CLOSED_NOTE,
                    due_at=now,
                    payload={"user": user_id},
                    community_id=community.id,
                    dedupe_key=f"closed-note:{community.id}:{membership.id}",
                    channel=user_id,
                )
            elif newcomer:
                settings = await member_rows.welcome_settings(session, community_id=community.id)
                await welcomes.schedule_welcome(
                    session,
                    record=record,
                    membership=membership,
                    now=now,
                    batch_seconds=batch_seconds,
                    pair=bool(settings and settings.pair_newcomers),
                )
            reported = joining.membership_policy(
                record
            ) == joining.INVITATION and not await joining.approved(
                session, record=record, user_id=user_id, inviter=inviter, bot_user_id=bot_user_id
            )
            if reported:
                await joining.schedule_unapproved_report(
                    session, record=record, membership=membership, now=now
                )
            assert membership.id is not None
            return Joined(community.id, membership.id, welcomed=newcomer, reported=reported)
    except IntegrityError:
        return None


async def member_left(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    bot_user_id: str | None,
) -> bool:
    """End the person's membership (kept, with when it ended) and cancel their follow-ups."""
    if not user_id or user_id == bot_user_id:
        return False
    now = clock.now()
    async with database.session() as session:
        community = await community_rows.community_for_channel(
            session, team_id=team_id, channel_id=channel_id
        )
        if community is None or community.id is None:
            return False
        ended = await member_rows.end_membership(
            session, community_id=community.id, user_id=user_id, left_at=now
        )
        if ended is None:
            # They were in the channel before it became a community: what we know is that
            # they belonged from then until now, and a quick return is not a newcomer's.
            ended = await community_rows.add_membership(
                session,
                team_id=team_id,
                community_id=community.id,
                user_id=user_id,
                joined_at=min(community.created_at, now),
                left_at=now,
            )
        assert ended.id is not None
        await scheduled.cancel(
            session,
            team_id=team_id,
            community_id=community.id,
            subject=welcomes.membership_subject(ended.id),
            now=now,
        )
    return True


async def count_message(
    database: Database, clock: Clock, *, team_id: str, channel_id: str, user_id: str
) -> bool:
    """Count one message towards the person's activity today. The text is never seen here."""
    async with database.session() as session:
        community = await community_rows.community_for_channel(
            session, team_id=team_id, channel_id=channel_id
        )
        if community is None or community.id is None:
            return False
        await member_rows.count_message(
            session,
            team_id=team_id,
            community_id=community.id,
            user_id=user_id,
            day=welcomes.community_day(community, clock.now()),
        )
    return True


# -- the roster ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterEntry:
    user_id: str
    level: AnyLevel  # what the roster shows: coordinator, else the chosen level, else suggested
    chosen: AnyLevel | None  # set by a coordinator
    suggested: AnyLevel
    messages: int  # in the last 30 days
    active_days: int
    joined_at: datetime
    introduced: bool


@dataclass(frozen=True)
class Roster:
    record: CommunityRecord
    entries: list[RosterEntry]  # the members, as `bot.services.counting` counts them
    waiting_requests: int
    figures: counting.MemberFigures  # over the digest's period to now: joined, left, active
    period: str  # that period, in words: "month"

    @property
    def levels(self) -> tuple[AnyLevel, ...]:
        return levels_of(self.record)

    @property
    def settable(self) -> tuple[AnyLevel, ...]:
        return settable_levels(self.record)

    @property
    def coordinators_elsewhere(self) -> list[str]:
        """Coordinators not in the channel: they coordinate, but are not members."""
        return self.figures.coordinators_elsewhere

    def by_level(self) -> dict[AnyLevel, list[RosterEntry]]:
        grouped: dict[AnyLevel, list[RosterEntry]] = {level: [] for level in self.levels}
        for entry in self.entries:
            grouped[entry.level].append(entry)
        return grouped


async def roster(database: Database, clock: Clock, *, team_id: str, community_id: int) -> Roster:
    record = await community_by_id(database, team_id=team_id, community_id=community_id)
    return await roster_of(database, clock, record)


async def roster_of(database: Database, clock: Clock, record: CommunityRecord) -> Roster:
    """The roster of a community already loaded (`/cop status` and App Home have it)."""
    now = clock.now()
    community_id = record.community.id
    assert community_id is not None
    plan = await plan_of(database, record)
    async with database.session() as session:
        period = trailing(plan.digest, now, record.community.timezone)
        figures = await counting.load(session, record, start=period.start, end=period.end)
        introduced, waiting = await member_rows.introduced_and_waiting(
            session, community_id=community_id
        )

    settable = settable_levels(record)
    order = {level: n for n, level in enumerate(levels_of(record))}
    entries = []
    for user_id, membership in figures.members.items():
        messages, days = figures.activity.get(user_id, (0, 0))
        entries.append(
            RosterEntry(
                user_id=user_id,
                level=figures.levels[user_id],
                chosen=chosen_level(settable, membership.level),
                suggested=suggest_level(messages, days, settable),
                messages=messages,
                active_days=days,
                joined_at=membership.joined_at,
                introduced=user_id in introduced,
            )
        )
    entries.sort(key=lambda e: (order[e.level], e.joined_at))
    return Roster(
        record=record,
        entries=entries,
        waiting_requests=waiting,
        figures=figures,
        period=plan.digest.noun,
    )


async def set_level(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    coordinator: str,
    user_id: str,
    level: str | None,
) -> None:
    """A coordinator sets a member's level (None: go back to the suggestion)."""
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        require_coordinator(record, coordinator)
        require_open(
            record, "This community is closed, so its members' levels are kept as they were."
        )
        if record.is_coordinator(user_id):
            raise InvalidAnswers(
                {"level": "Coordinators are chosen in the roles stage (`/cop roles`)."}
            )
        settable = settable_levels(record)
        chosen = chosen_level(settable, level)
        if level is not None and chosen is None:
            names = ", ".join(lv.label for lv in settable)
            raise InvalidAnswers({"level": f"Choose one of the levels: {names}."})
        membership = await member_rows.latest_membership(
            session, community_id=community_id, user_id=user_id
        )
        if membership is None or membership.left_at is not None or membership.id is None:
            raise NotAMember("they are not a member of this community now")
        await member_rows.set_level(
            session,
            membership_id=membership.id,
            level=chosen.value if chosen else None,
            set_by=coordinator,
            set_at=clock.now(),
        )


async def unrecorded(
    database: Database, *, team_id: str, community_id: int, present: Iterable[str]
) -> list[str]:
    """People in the channel with no current membership: there before it became a community,
    or joined while the app was not listening."""
    async with database.session() as session:
        await load_record(session, team_id=team_id, community_id=community_id)
        members = await member_rows.current_members(session, community_id=community_id)
    known = {m.user_id for m in members}
    return [u for u in dict.fromkeys(present) if u not in known]


async def record_present(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    present: Mapping[str, bool],
    at_start: bool = False,
) -> int:
    """Bring the memberships in line with who is in the channel (person -> is a bot): start
    one, unwelcomed, for each person not recorded; end those of people no longer there.
    `at_start`: the channel as it was when it became a community, so those in it were there
    from its beginning (members, never newcomers, not joins). Returns how many memberships
    changed."""
    now = clock.now()
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        members = await member_rows.current_members(session, community_id=community_id)
        known = {m.user_id for m in members}
        changed = await member_rows.add_present(
            session,
            team_id=team_id,
            community_id=community_id,
            user_ids=[u for u, is_bot in present.items() if u not in known and not is_bot],
            joined_at=record.community.created_at if at_start else now,
        )
        for membership in [] if at_start else members:
            if membership.user_id not in present:
                await member_rows.end_membership(
                    session, community_id=community_id, user_id=membership.user_id, left_at=now
                )
                assert membership.id is not None
                await scheduled.cancel(
                    session,
                    team_id=team_id,
                    community_id=community_id,
                    subject=welcomes.membership_subject(membership.id),
                    now=now,
                )
                changed += 1
    return changed
