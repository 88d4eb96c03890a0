"""Starting a community, who may change it, and whether it is closed (and so read-only)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.answers import Answers, first_unanswered
from bot.catalogue import ROLES, SETUP_STAGES, Question, Stage
from bot.clock import Clock
from bot.services.errors import (
    AlreadyACommunity,
    EditConflict,
    InvalidAnswers,
    NoCommunity,
    NotAllowed,
    NotCoordinator,
)
from storage.db import Database
from storage.models import Community, StageRevision
from storage.repositories import communities as community_rows
from storage.repositories import members as member_rows
from storage.repositories import stages as stage_rows
from storage.repositories.stages import Revision

NAME_MAX = 80
DOMAIN_MAX = 150
T = TypeVar("T")


@dataclass(frozen=True)
class StageRecord:
    """A stage's current answers, and who saved them."""

    stage: Stage
    answers: Answers
    version: int = 0  # 0: never saved
    edited_by: str | None = None
    edited_at: datetime | None = None

    @classmethod
    def of(cls, stage: Stage, revision: StageRevision | Revision | None) -> StageRecord:
        if revision is None:
            return cls(stage=stage, answers={})
        return cls(
            stage=stage,
            answers=dict(revision.answers),
            version=revision.version,
            edited_by=revision.edited_by,
            edited_at=revision.edited_at,
        )


@dataclass(frozen=True)
class CommunityRecord:
    community: Community
    stages: dict[str, StageRecord]
    # What was read about the community while one answer is built from this record (see
    # `shown`); None: every read goes to the database.
    reads: dict[Hashable, Any] | None = field(default=None, compare=False, repr=False)

    def shown(self) -> CommunityRecord:
        """This record, for building one answer (`/cop status`, App Home): its sections read
        the members, settings, milestones… once between them, through `once`, instead of
        each querying again. Only for reading: nothing saved meanwhile would show."""
        return replace(self, reads={})

    async def once(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """`load()`, or, while an answer is built, what it gave the first time."""
        if self.reads is None:
            return await load()
        if key not in self.reads:
            self.reads[key] = await load()
        return self.reads[key]  # type: ignore[no-any-return]

    @property
    def coordinators(self) -> list[str]:
        return list(self.stages[ROLES.key].answers.get("coordinators") or [])

    def is_coordinator(self, user_id: str) -> bool:
        return user_id in self._role_holders[0]

    @property
    def facilitators(self) -> list[str]:
        return list(self.stages[ROLES.key].answers.get("facilitators") or [])

    def holds_role(self, user_id: str) -> bool:
        """Coordinates or facilitates the community: never one of its newcomers."""
        return any(user_id in holders for holders in self._role_holders)

    @cached_property
    def _role_holders(self) -> tuple[frozenset[str], frozenset[str]]:
        # Coordinators and facilitators as sets, made once: the figures ask of every member.
        return frozenset(self.coordinators), frozenset(self.facilitators)

    def next_question(self) -> tuple[Stage, Question] | None:
        """The first unanswered question, in checklist order: the next thing to do."""
        for stage in SETUP_STAGES:
            question = first_unanswered(stage, self.stages[stage.key].answers)
            if question is not None:
                return stage, question
        return None


def valid_timezone(name: str) -> bool:
    if name not in available_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


async def start_community(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    channel_id: str,
    name: str,
    domain: str,
    timezone: str,
    starter: str,
    is_private: bool = False,
) -> Community:
    """Make the channel a community, with the starter as its first coordinator. Whether the
    channel is private comes from Slack (conversations.info), never from a form."""
    name, domain, timezone = name.strip(), domain.strip(), timezone.strip()
    errors = {}
    if not name:
        errors["name"] = "Please give the community a name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Please keep the name under {NAME_MAX} characters."
    if len(domain) > DOMAIN_MAX:
        errors["domain"] = f"Please keep the domain to one line under {DOMAIN_MAX} characters."
    if not valid_timezone(timezone):
        errors["timezone"] = "Not a time zone we know; use a name like Europe/London."
    if errors:
        raise InvalidAnswers(errors)

    now = clock.now()
    try:
        async with database.session() as session:
            community = await community_rows.add_community(
                session,
                team_id=team_id,
                channel_id=channel_id,
                name=name,
                domain=domain,
                timezone=timezone,
                created_by=starter,
                created_at=now,
                is_private=is_private,
            )
            assert community.id is not None
            # The roles stage's answer is where coordinators live, so the starter's role has
            # a version like every later change to it.
            await stage_rows.add_revision(
                session,
                team_id=team_id,
                community_id=community.id,
                stage=ROLES.key,
                version=1,
                answers={"coordinators": [starter]},
                edited_by=starter,
                edited_at=now,
            )
            await community_rows.add_membership(
                session,
                team_id=team_id,
                community_id=community.id,
                user_id=starter,
                joined_at=now,
            )
    except IntegrityError:
        raise AlreadyACommunity("this channel is already a community") from None
    return community


async def community_in_channel(
    database: Database, *, team_id: str, channel_id: str
) -> CommunityRecord | None:
    async with database.session() as session:
        community = await community_rows.community_for_channel(
            session, team_id=team_id, channel_id=channel_id
        )
        if community is None:
            return None
        return (await _records(session, [community]))[0]


async def community_by_id(
    database: Database, *, team_id: str, community_id: int
) -> CommunityRecord:
    async with database.session() as session:
        return await load_record(session, team_id=team_id, community_id=community_id)


async def load_record(session: AsyncSession, *, team_id: str, community_id: int) -> CommunityRecord:
    found = await stage_rows.community_with_revisions(
        session, team_id=team_id, community_id=community_id
    )
    if found is None:
        raise NoCommunity("that community no longer exists")
    community, revisions = found
    return CommunityRecord(
        community=community,
        stages={s.key: StageRecord.of(s, revisions.get(s.key)) for s in SETUP_STAGES},
    )


async def communities_for_person(
    database: Database, *, team_id: str, user_id: str
) -> list[CommunityRecord]:
    """The communities someone coordinates or belongs to, by name."""
    async with database.session() as session:
        communities = await community_rows.communities_in_team(session, team_id=team_id)
        belongs = await community_rows.current_community_ids(
            session, team_id=team_id, user_id=user_id
        )
        records = await _records(session, communities)
    # A private channel's community only for the people in it, coordinators or not.
    return [
        r
        for r in records
        if r.community.id in belongs or (r.is_coordinator(user_id) and not r.community.is_private)
    ]


async def channel_privacy_changed(
    database: Database, *, team_id: str, channel_id: str, is_private: bool
) -> bool:
    """Slack said the channel is (now) private or public; True if a community's record
    changed."""
    async with database.session() as session:
        return await community_rows.set_private(
            session, team_id=team_id, channel_id=channel_id, is_private=is_private
        )


async def adopt(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    is_workspace_admin: bool,
    in_channel: Collection[str],
) -> CommunityRecord:
    """A workspace admin or owner becomes the coordinator of a community none of whose
    coordinators is still in its channel (`in_channel`: who Slack says is in it now)."""
    try:
        async with database.session() as session:
            community = await community_rows.community_for_channel(
                session, team_id=team_id, channel_id=channel_id
            )
            if community is None or community.id is None:
                raise NoCommunity("this channel is not a community")
            record = (await _records(session, [community]))[0]
            if record.is_coordinator(user_id):
                raise NotAllowed("You already coordinate this community.")
            still_here = [c for c in record.coordinators if c in in_channel]
            if still_here:
                raise NotCoordinator(still_here)
            if not is_workspace_admin:
                raise NotAllowed(
                    "Only a workspace admin or owner can adopt a community whose coordinators "
                    "have all left its channel. Nothing changed."
                )
            if user_id not in in_channel:
                raise NotAllowed("Join this channel first: its coordinator takes part in it.")
            roles = record.stages[ROLES.key]
            # The departed coordinators stay named (the roles stage is where they can be
            # removed); the adopter is added to them.
            answers = dict(roles.answers)
            answers["coordinators"] = [*record.coordinators, user_id]
            now = clock.now()
            await stage_rows.add_revision(
                session,
                team_id=team_id,
                community_id=community.id,
                stage=ROLES.key,
                version=roles.version + 1,
                answers=answers,
                edited_by=user_id,
                edited_at=now,
            )
            latest = await member_rows.latest_membership(
                session, community_id=community.id, user_id=user_id
            )
            if latest is None or latest.left_at is not None:
                await community_rows.add_membership(
                    session,
                    team_id=team_id,
                    community_id=community.id,
                    user_id=user_id,
                    joined_at=now,
                )
            adopted = (await _records(session, [community]))[0]
    except IntegrityError:
        raise EditConflict(None, None) from None
    return adopted


async def records_in_team(session: AsyncSession, *, team_id: str) -> list[CommunityRecord]:
    """Every community of the team, by name."""
    return await _records(
        session, await community_rows.communities_in_team(session, team_id=team_id)
    )


def require_coordinator(record: CommunityRecord, user_id: str) -> None:
    if not record.is_coordinator(user_id):
        raise NotCoordinator(record.coordinators)


async def _records(
    session: AsyncSession, communities: Sequence[Community]
) -> list[CommunityRecord]:
    ids = [c.id for c in communities if c.id is not None]
    revisions = await stage_rows.latest_revisions(session, community_ids=ids)
    return [
        CommunityRecord(
            community=c,
            stages={
                s.key: StageRecord.of(s, revisions.get((c.id, s.key)))  # type: ignore[arg-type]
                for s in SETUP_STAGES
            },
        )
        for c in communities
    ]


CLOSED_NOTE = "closed_join_note"  # the scheduled note to someone who joins after closure
CLOSED = (
    "This community is closed, so its answers can no longer be changed: they are kept as its "
    "record, in the archive."
)


class CommunityClosed(NotAllowed):
    """A change refused because the community is closed."""

    def __init__(self, explanation: str = CLOSED) -> None:
        super().__init__(explanation)


def is_closed(record: CommunityRecord) -> bool:
    """Closed from the moment a coordinator closes it with `/cop close`: from then on its
    stages are read-only while members share what they learned. A community whose channel
    was deleted or archived is closed too: nothing more is planned for it."""
    return record.community.closed_at is not None or record.community.gone_at is not None


def require_open(record: CommunityRecord, explanation: str = CLOSED) -> None:
    """Refuse a change to a closed community, saying why in words that fit the change."""
    if is_closed(record):
        raise CommunityClosed(explanation)
