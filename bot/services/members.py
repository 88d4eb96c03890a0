"""Who belongs to a community: joining and leaving its channel, how much each member takes
part, and their level of participation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import IntegrityError

from bot.catalogue import MEMBERS
from bot.clock import Clock
from bot.services import joining, welcomes
from bot.services.communities import CommunityRecord, load_record, require_coordinator
from bot.services.errors import InvalidAnswers, NotAMember
from bot.services.lifecycle import CLOSED_NOTE, is_closed, require_open
from storage.db import Database
from storage.repositories import communities as community_rows
from storage.repositories import members as member_rows
from storage.repositories import scheduled

# Someone back within this long is not welcomed again: they know the community already.
RETURN_GRACE = timedelta(days=30)
ACTIVITY_WINDOW = welcomes.ACTIVITY_WINDOW


class Level(StrEnum):
    COORDINATOR = "coordinator"
    CORE = "core"
    ACTIVE = "active"
    PERIPHERAL = "peripheral"

    @property
    def label(self) -> str:
        return self.value.capitalize()


@dataclass(frozen=True)
class NamedLevel:
    """A level of participation the members stage defined ("Steering group", "Observers"):
    stored by its name, shown by it."""

    value: str
    label: str


# A level is one of the default four, or one the members stage named.
AnyLevel = Level | NamedLevel

# Coordinators are chosen in the roles stage, where editing rights come from; the roster sets
# the other levels.
SETTABLE_LEVELS: tuple[AnyLevel, ...] = (Level.CORE, Level.ACTIVE, Level.PERIPHERAL)

# The suggestion from the last 30 days: core posts on 8 days or more (or 20 messages),
# active at least 3 messages, peripheral fewer. Coordinators can always choose otherwise.
CORE_DAYS, CORE_MESSAGES, ACTIVE_MESSAGES = 8, 20, 3


def settable_levels(record: CommunityRecord) -> tuple[AnyLevel, ...]:
    """The levels a coordinator chooses from: the ones the members stage defined, in its
    order, or core, active and peripheral when it defined none."""
    names: dict[str, str] = {}
    for item in record.stages[MEMBERS.key].answers.get("levels") or []:
        name = str(item.get("name") or "").strip()
        if name and name.casefold() not in names:
            names[name.casefold()] = name
    return tuple(NamedLevel(n, n) for n in names.values()) or SETTABLE_LEVELS


def levels_of(record: CommunityRecord) -> tuple[AnyLevel, ...]:
    """Every level, most involved first: the coordinators, then the settable levels."""
    return (Level.COORDINATOR, *settable_levels(record))


def chosen_level(settable: tuple[AnyLevel, ...], stored: str | None) -> AnyLevel | None:
    """The level a coordinator chose, if it is still one of the levels (a level renamed or
    removed in the members stage falls back to the suggestion)."""
    if not stored:
        return None
    return next((lv for lv in settable if lv.value.casefold() == stored.casefold()), None)


def suggest_level(
    messages: int, days: int, settable: tuple[AnyLevel, ...] = SETTABLE_LEVELS
) -> AnyLevel:
    """Most active, active or less: the first, middle or last of the levels (for the default
    three, core, active and peripheral)."""
    if days >= CORE_DAYS or messages >= CORE_MESSAGES:
        tier = 0
    elif messages >= ACTIVE_MESSAGES:
        tier = 1
    else:
        tier = 2
    return settable[round(tier * (len(settable) - 1) / 2)]


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
            if latest is not None and latest.left_at is None:
                return None
            returning = (
                latest is not None
                and latest.left_at is not None
                and now - latest.left_at < RETURN_GRACE
            )
            record = await load_record(session, team_id=team_id, community_id=community.id)
            # Its coordinators and facilitators are not its newcomers: nobody welcomes them,
            # greets them, or counts them among the newcomers who have not posted yet.
            newcomer = not returning and not record.holds_role(user_id)
            # The partial unique index refuses a second current membership: of two copies of
            # one event handled at the same moment, one commits and the other changes nothing.
            membership = await community_rows.add_membership(
                session,
                team_id=team_id,
                community_id=community.id,
                user_id=user_id,
                joined_at=now,
                welcomed=newcomer,
            )
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
    joined_at: datetime | None  # None for a coordinator not (yet) seen in the channel
    introduced: bool


@dataclass(frozen=True)
class Roster:
    record: CommunityRecord
    entries: list[RosterEntry]
    waiting_requests: int

    @property
    def levels(self) -> tuple[AnyLevel, ...]:
        return levels_of(self.record)

    @property
    def settable(self) -> tuple[AnyLevel, ...]:
        return settable_levels(self.record)

    def by_level(self) -> dict[AnyLevel, list[RosterEntry]]:
        grouped: dict[AnyLevel, list[RosterEntry]] = {level: [] for level in self.levels}
        for entry in self.entries:
            grouped[entry.level].append(entry)
        return grouped


async def roster(database: Database, clock: Clock, *, team_id: str, community_id: int) -> Roster:
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        members = await member_rows.current_members(session, community_id=community_id)
        activity = await member_rows.activity_since(
            session,
            community_id=community_id,
            since=welcomes.community_day(record.community, clock.now() - ACTIVITY_WINDOW),
        )
        introduced = await member_rows.introduced_user_ids(session, community_id=community_id)
        waiting = await member_rows.pending_join_requests(session, community_ids=[community_id])

    settable = settable_levels(record)
    order = {level: n for n, level in enumerate(levels_of(record))}

    def entry(user_id: str, joined_at: datetime | None, chosen: str | None) -> RosterEntry:
        messages, days = activity.get(user_id, (0, 0))
        suggested = suggest_level(messages, days, settable)
        level = chosen_level(settable, chosen)
        return RosterEntry(
            user_id=user_id,
            level=Level.COORDINATOR if record.is_coordinator(user_id) else level or suggested,
            chosen=level,
            suggested=suggested,
            messages=messages,
            active_days=days,
            joined_at=joined_at,
            introduced=user_id in introduced,
        )

    entries = [entry(m.user_id, m.joined_at, m.level) for m in members]
    listed = {m.user_id for m in members}
    entries += [entry(c, None, None) for c in record.coordinators if c not in listed]
    entries.sort(key=lambda e: (order[e.level], e.joined_at or record.community.created_at))
    return Roster(record=record, entries=entries, waiting_requests=len(waiting))


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
) -> int:
    """Bring the memberships in line with who is in the channel (person -> is a bot): start
    one, unwelcomed, for each person not recorded; end those of people no longer there.
    Returns how many memberships changed."""
    now = clock.now()
    changed = 0
    try:
        async with database.session() as session:
            await load_record(session, team_id=team_id, community_id=community_id)
            members = await member_rows.current_members(session, community_id=community_id)
            known = {m.user_id for m in members}
            for user_id, is_bot in present.items():
                if user_id in known or is_bot:
                    continue
                await community_rows.add_membership(
                    session,
                    team_id=team_id,
                    community_id=community_id,
                    user_id=user_id,
                    joined_at=now,
                )
                changed += 1
            for membership in members:
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
    except IntegrityError:
        return 0  # a join event recorded someone meanwhile; the next look catches up
    return changed
