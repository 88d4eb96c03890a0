"""Welcoming newcomers: what the welcome says, when it and the follow-ups are due, and the
introductions newcomers write about themselves.

Every welcome is a scheduled row keyed by the membership it belongs to, so a join event that
arrives twice, or a restart, can never send it twice. Everyone who joins within one batch
window is greeted in the channel by one row keyed by that window.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.answers import Answers, clean, field_error, is_empty
from bot.catalogue import ROLES, SCOPE, WAYS_OF_WORKING, Field, Kind
from bot.clock import Clock
from bot.services.communities import CommunityRecord, load_record, require_coordinator, require_open
from bot.services.errors import InvalidAnswers, NoCommunity, NotAMember
from bot.services.meetings import UpcomingMeeting, next_meeting
from bot.text import escape
from storage.db import Database
from storage.models import Community, MemberProfile, Membership, ScheduledSend, WelcomeSettings
from storage.repositories import community_settings, scheduled
from storage.repositories import members as member_rows

# Kinds of scheduled rows this feature sends.
WELCOME_DM = "welcome_dm"
GREETING = "welcome_greeting"
NUDGE = "newcomer_nudge"
CHECK_IN = "newcomer_check_in"
PAIRING = "newcomer_pairing"
INTRODUCTION = "introduction"

# Slack takes about one message a second in a channel: introductions go out at least this far
# apart, and a 429 beyond that is waited out by the dispatcher.
CHANNEL_PACE = timedelta(seconds=1)

NUDGE_AFTER = timedelta(days=7)
CHECK_IN_AFTER = timedelta(days=30)
# A follow-up this late (the bot was down for days) is no longer worth sending.
FOLLOW_UP_GRACE = timedelta(days=2)
ACTIVITY_WINDOW = timedelta(days=30)

PLACEHOLDERS = ("name", "community", "purpose", "next_meeting")
DEFAULT_TEXT = (
    "Welcome to *{community}*, {name}! We're glad you're here. Here is what you need to take part."
)
WELCOME_TEXT = Field(
    "text",
    "Welcome message",
    Kind.TEXT,
    required=True,
    max_length=3000,
    hint="Placeholders: {name}, {community}, {purpose}, {next_meeting}. The message then "
    "shows the purpose, how the community works, the code of conduct, who to contact "
    "and the next meeting.",
)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")

# What a newcomer says about themselves, checked like any checklist answer.
PROFILE_FIELDS = (
    Field("role", "Your role", Kind.LINE, max_length=150),
    Field("organisation", "Your organisation", Kind.LINE, max_length=150),
    Field("interests", "Your interests", Kind.TEXT, max_length=1000),
    Field("hopes_to_give", "What you hope to give", Kind.TEXT, max_length=1000),
    Field("hopes_to_get", "What you hope to get", Kind.TEXT, max_length=1000),
)


def membership_subject(membership_id: int) -> str:
    """Everything scheduled about one membership, so leaving cancels it all at once."""
    return f"membership:{membership_id}"


def purpose(record: CommunityRecord) -> str | None:
    """What the community sets out to achieve: the scope stage's aims, else its domain."""
    aims = str(record.stages[SCOPE.key].answers.get("aims") or "").strip()
    return aims or record.community.domain.strip() or None


def community_day(community: Community, moment: datetime) -> date:
    """The calendar day it is in the community's own time zone."""
    return moment.astimezone(ZoneInfo(community.timezone)).date()


def greeting_window(moment: datetime, batch_seconds: int) -> tuple[int, datetime, datetime]:
    """The batch window a join falls in: windows are fixed, so every join in one window
    derives the same key and adds to the same greeting row."""
    index = int(moment.timestamp()) // batch_seconds
    start = datetime.fromtimestamp(index * batch_seconds, tz=UTC)
    return index, start, start + timedelta(seconds=batch_seconds)


async def schedule_welcome(
    session: AsyncSession,
    *,
    record: CommunityRecord,
    membership: Membership,
    now: datetime,
    batch_seconds: int,
    pair: bool,
) -> None:
    """The rows one welcomed join starts: the DM (due now), a share of the window's channel
    greeting, the follow-ups, and optionally a pairing. Keys make each happen once."""
    community_id, membership_id = record.community.id, membership.id
    assert community_id is not None and membership_id is not None
    team_id = record.community.team_id

    def about_newcomer(
        kind: str, due_at: datetime, stale_at: datetime | None = None
    ) -> ScheduledSend:
        # Once each for this membership, and cancelled with it when they leave (its subject).
        # A DM to the newcomer, but for the pairing, whose group DM is opened when it is sent.
        return ScheduledSend(
            team_id=team_id,
            community_id=community_id,
            kind=kind,
            due_at=due_at,
            stale_at=stale_at,
            payload={"membership": membership_id},
            subject=membership_subject(membership_id),
            dedupe_key=f"{kind}:{membership_id}",
            channel=None if kind == PAIRING else membership.user_id,
        )

    index, start, end = greeting_window(now, batch_seconds)
    rows = [
        about_newcomer(WELCOME_DM, now),
        ScheduledSend(
            team_id=team_id,
            community_id=community_id,
            kind=GREETING,
            due_at=end,
            payload={"start": start.isoformat(), "end": end.isoformat()},
            dedupe_key=f"{GREETING}:{community_id}:{batch_seconds}:{index}",
            channel=record.community.channel_id,
        ),
        *(
            about_newcomer(kind, now + after, stale_at=now + after + FOLLOW_UP_GRACE)
            for kind, after in ((NUDGE, NUDGE_AFTER), (CHECK_IN, CHECK_IN_AFTER))
        ),
    ]
    if pair:
        # After the greeting, so the newcomer has been welcomed before meeting their buddy.
        rows.append(about_newcomer(PAIRING, end))
    await scheduled.schedule_all(session, rows)


# -- what the welcome says ----------------------------------------------------------------


@dataclass(frozen=True)
class CodeOfConduct:
    text: str  # as typed: escape before posting
    link: str | None
    agreed: bool


@dataclass(frozen=True)
class WelcomeContent:
    community: Community
    purpose: str | None
    modes: list[str]  # how the community communicates, as the checklist labels them
    code_of_conduct: CodeOfConduct | None
    coordinators: list[str]
    facilitators: list[str]
    next_meeting: UpcomingMeeting | None
    text: str  # the coordinators' welcome template
    pair_newcomers: bool


def content_of(
    record: CommunityRecord, settings: WelcomeSettings | None, meeting: UpcomingMeeting | None
) -> WelcomeContent:
    ways = record.stages[WAYS_OF_WORKING.key].answers
    modes_question = WAYS_OF_WORKING.question("communication_modes")
    conduct = next(
        (p for p in ways.get("policies") or [] if p.get("area") == "code_of_conduct"), None
    )
    return WelcomeContent(
        community=record.community,
        purpose=purpose(record),
        modes=[modes_question.option_label(m) for m in ways.get("communication_modes") or []],
        code_of_conduct=None
        if conduct is None
        else CodeOfConduct(
            text=str(conduct.get("approach") or ""),
            link=conduct.get("link") or None,
            agreed=conduct.get("status") == "agreed",
        ),
        coordinators=record.coordinators,
        facilitators=list(record.stages[ROLES.key].answers.get("facilitators") or []),
        next_meeting=meeting,
        text=settings.text if settings and settings.text else DEFAULT_TEXT,
        pair_newcomers=bool(settings and settings.pair_newcomers),
    )


async def welcome_content(
    database: Database, clock: Clock, *, team_id: str, community_id: int
) -> WelcomeContent:
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        settings = await member_rows.welcome_settings(session, community_id=community_id)
    meeting = await next_meeting(database, clock, team_id=team_id, community_id=community_id)
    return content_of(record, settings, meeting)


def template_errors(text: str) -> str | None:
    problem = field_error(WELCOME_TEXT, text.strip())
    if problem:
        return problem
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(PLACEHOLDERS))
    if unknown:
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        return f"I don't know {', '.join('{' + u + '}' for u in unknown)}. Use {known}."
    return None


def render(template: str, values: Mapping[str, str]) -> str:
    """The template as mrkdwn: what the coordinator typed is escaped, then each placeholder
    becomes its (already safe) value. One pass, so a value is never itself expanded."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), escape(template.strip()))


async def save_welcome(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    text: str,
    pair_newcomers: bool,
) -> None:
    problem = template_errors(text)
    if problem:
        raise InvalidAnswers({WELCOME_TEXT.key: problem})
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        require_coordinator(record, user_id)
        require_open(record, "This community is closed, so it welcomes nobody any more.")
        await community_settings.save(
            session,
            WelcomeSettings,
            team_id=team_id,
            community_id=community_id,
            values={"text": text.strip(), "pair_newcomers": pair_newcomers},
            updated_by=user_id,
            updated_at=clock.now(),
        )


# -- what the senders need ----------------------------------------------------------------


@dataclass(frozen=True)
class Newcomer:
    membership: Membership
    content: WelcomeContent

    @property
    def holds_role(self) -> bool:
        """Named a coordinator or facilitator since joining: no longer a newcomer, so never
        welcomed, nudged or asked to message the coordinators (themselves among them)."""
        user_id = self.membership.user_id
        return user_id in self.content.coordinators or user_id in self.content.facilitators


async def newcomer(
    database: Database, clock: Clock, *, team_id: str, membership_id: int
) -> Newcomer | None:
    """The newcomer a welcome or follow-up is for; None if they have left since (or were
    found to be a bot): then there is no one to send it to. Its reads are one unit of work:
    a burst of joins sends hundreds of these."""
    async with database.reading(), database.session() as session:
        membership = await member_rows.membership_by_id(
            session, team_id=team_id, membership_id=membership_id
        )
        if membership is None or membership.left_at is not None or not membership.welcomed:
            return None
        content = await welcome_content(
            database, clock, team_id=team_id, community_id=membership.community_id
        )
    return Newcomer(membership=membership, content=content)


async def mark_bot(database: Database, *, membership_id: int) -> None:
    async with database.session() as session:
        await member_rows.mark_bot(session, membership_id=membership_id)


@dataclass(frozen=True)
class Greeting:
    record: CommunityRecord
    people: list[Membership]  # welcomed for joining in the window, still members, oldest first
    unchecked: set[int]  # memberships whose welcome DM (which finds bots) has not gone yet


async def greeting(
    database: Database, *, team_id: str, community_id: int, start: datetime, end: datetime
) -> Greeting:
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        joined = await member_rows.welcomed_between(
            session, community_id=community_id, start=start, end=end
        )
        keys = {f"{WELCOME_DM}:{m.id}": m.id for m in joined if m.id is not None}
        waiting = await scheduled.open_dedupe_keys(session, team_id=team_id, dedupe_keys=list(keys))
    return Greeting(
        record=record,
        # Someone named a coordinator or facilitator since they joined is not greeted as new.
        people=[m for m in joined if not record.holds_role(m.user_id)],
        unchecked={keys[k] for k in waiting},
    )


async def stayed_silent(database: Database, *, membership: Membership) -> bool:
    """Neither posted in the channel nor introduced themselves since joining."""
    async with database.session() as session:
        community = await session.get(Community, membership.community_id)
        assert community is not None
        posted = await member_rows.posted_since(
            session,
            community_id=membership.community_id,
            user_id=membership.user_id,
            since=community_day(community, membership.joined_at),
        )
        profile = await member_rows.profile(
            session, community_id=membership.community_id, user_id=membership.user_id
        )
    introduced = profile is not None and profile.introduced_at >= membership.joined_at
    return not posted and not introduced


async def pairing_partner(
    database: Database, clock: Clock, *, membership: Membership
) -> str | None:
    """The member who posted most in the channel over the last 30 days (someone there before
    it became a community counts too; someone who has left does not), or None."""
    async with database.session() as session:
        community = await session.get(Community, membership.community_id)
        assert community is not None
        activity = await member_rows.activity_since(
            session,
            community_id=membership.community_id,
            since=community_day(community, clock.now() - ACTIVITY_WINDOW),
        )
        ranked = sorted(
            (u for u in activity if u != membership.user_id),
            key=lambda u: (-activity[u][0], -activity[u][1], u),
        )
        for user_id in ranked:
            latest = await member_rows.latest_membership(
                session, community_id=membership.community_id, user_id=user_id
            )
            if latest is None or (latest.left_at is None and not latest.is_bot):
                return user_id
    return None


# -- introductions ------------------------------------------------------------------------


async def profile_of(
    database: Database, *, team_id: str, community_id: int, user_id: str
) -> tuple[CommunityRecord, MemberProfile | None]:
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        found = await member_rows.profile(session, community_id=community_id, user_id=user_id)
    return record, found


INTRODUCE_CLOSED = "This community has closed, so it takes no new introductions."
MEMBERS_INTRODUCE = "Only the community's members can introduce themselves in it."


async def _require_introducer(session: AsyncSession, record: CommunityRecord, user_id: str) -> None:
    """Introductions come only from current members of a community that is still open."""
    assert record.community.id is not None
    latest = await member_rows.latest_membership(
        session, community_id=record.community.id, user_id=user_id
    )
    if latest is None or latest.left_at is not None:
        raise NotAMember(MEMBERS_INTRODUCE)
    require_open(record, INTRODUCE_CLOSED)


async def introducer_profile(
    database: Database, *, team_id: str, community_id: int, user_id: str
) -> tuple[CommunityRecord, MemberProfile | None]:
    """What a member said about themselves before, for the form; refused to anyone else."""
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        await _require_introducer(session, record, user_id)
        found = await member_rows.profile(session, community_id=community_id, user_id=user_id)
    return record, found


async def introduction(
    database: Database, *, team_id: str, community_id: int, user_id: str
) -> tuple[CommunityRecord, MemberProfile] | None:
    """The introduction to post: the community and the person's profile as it is now."""
    try:
        record, found = await profile_of(
            database, team_id=team_id, community_id=community_id, user_id=user_id
        )
    except NoCommunity:
        return None
    return (record, found) if found is not None else None


async def save_profile(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    answers: Answers,
) -> tuple[CommunityRecord, MemberProfile]:
    """Keep what the person said about themselves, and schedule its posting in the channel.
    Only they submit it: `user_id` is who submitted the form, never a value from the form."""
    answers = clean(answers)
    errors = {
        spec.key: problem
        for spec in PROFILE_FIELDS
        if (problem := field_error(spec, answers.get(spec.key)))
    }
    if not errors and all(is_empty(answers.get(spec.key)) for spec in PROFILE_FIELDS):
        errors[PROFILE_FIELDS[0].key] = "Tell the community at least one thing about yourself."
    if errors:
        raise InvalidAnswers(errors)
    now = clock.now()
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        await _require_introducer(session, record, user_id)
        saved = await member_rows.save_profile(
            session,
            team_id=team_id,
            community_id=community_id,
            user_id=user_id,
            fields={spec.key: str(answers.get(spec.key) or "") for spec in PROFILE_FIELDS},
            introduced_at=now,
        )
        # Posted by the dispatcher from the stored profile (the row holds no text), paced
        # after any introduction still waiting, retried through rate limits.
        waiting = await scheduled.latest_open_due(
            session, team_id=team_id, community_id=community_id, kind=INTRODUCTION
        )
        await scheduled.schedule(
            session,
            team_id=team_id,
            community_id=community_id,
            kind=INTRODUCTION,
            due_at=max(now, waiting + CHANNEL_PACE) if waiting else now,
            payload={"user": user_id},
            channel=record.community.channel_id,
        )
    return record, saved
