"""Keeping a community going: its sustaining settings, the rhythm of the health digest, the
new-perspectives prompt, the sponsor report, members' value stories and the monthly "What did
we learn?" (scheduled rows), and the latest pictures. (The log of perspectives invited is
`bot.services.perspectives`; the ready-made invitation and who joined through it,
`bot.services.recruitment`.)

Each recurring message is a "round" row due at the start of a period (09:00 community time)
that fans out one row per person, keyed by person and period so each gets it once however
often a round is retried, and schedules the next round. Every key carries the settings'
stamp, so saving the settings cancels the rounds planned under the old ones and plans anew
without colliding with them. A closed community gets none of them (`communities.is_closed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.answers import field_error
from bot.catalogue import GOVERNANCE, Field, Kind
from bot.clock import Clock
from bot.services import counting
from bot.services.communities import (
    CommunityRecord,
    community_by_id,
    is_closed,
    load_record,
    require_coordinator,
    require_open,
)
from bot.services.development import DevelopmentStage
from bot.services.errors import CommunityError, InvalidAnswers
from bot.services.health import (
    DIGEST_HOUR,
    Cadence,
    Period,
    calendar_period_before,
    next_boundary,
)
from bot.stand_ins import is_erased
from bot.value import DEFAULT_CADENCE, StoryCadence
from bot.value import next_boundary as next_story_boundary
from bot.value import period_before as story_period_before
from storage.db import Database
from storage.models import HealthPicture, SustainingSettings
from storage.repositories import community_settings, scheduled
from storage.repositories import sustaining as rows

SUBJECT = "sustaining"
# Rounds (one per period) and what they fan out (one per person).
DIGEST, DIGEST_DM = "health_digest", "health_digest_dm"
PERSPECTIVE, PERSPECTIVE_DM = "perspective_prompt", "perspective_prompt_dm"
REPORT, REPORT_DM = "sponsor_report", "sponsor_report_dm"
STORIES, STORIES_DM = "value_story_prompt", "value_story_prompt_dm"
# "What did we learn this month?", to every member (bot.services.library keeps the answers).
LEARNING, LEARNING_DM = "learning_prompt", "learning_prompt_dm"
ROUNDS = (DIGEST, PERSPECTIVE, REPORT, STORIES, LEARNING)
FAN_OUT = {
    DIGEST: DIGEST_DM,
    PERSPECTIVE: PERSPECTIVE_DM,
    REPORT: REPORT_DM,
    STORIES: STORIES_DM,
    LEARNING: LEARNING_DM,
}

NEVER = "never"
DEFAULT_PERSPECTIVE_WEEKS = 13
MAX_PERSPECTIVE_WEEKS = 52
MAX_RECIPIENTS = 20

CLOSED_SUSTAINING = (
    "This community is closed, so it takes no new settings, perspectives or invitations: its "
    "record is kept in the archive."
)


class NoLongerWanted(CommunityError):
    """A scheduled round or message that should not go out (closed, or re-planned)."""


# -- settings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    digest: Cadence
    perspective_weeks: int
    report: Cadence | None
    recipients: list[str]
    stage_override: str | None
    stamp: int  # changes whenever the settings are saved; part of every key
    # The sponsor report may name stakeholders, with their views and support: off by default.
    names_stakeholders: bool = False
    # How often members are asked for a value story (`bot.value`): quarterly by default.
    stories: StoryCadence = DEFAULT_CADENCE
    learning: bool = True  # members asked monthly what they learned

    @classmethod
    def of(cls, settings: SustainingSettings | None) -> Plan:
        if settings is None:
            return cls(Cadence.MONTHLY, DEFAULT_PERSPECTIVE_WEEKS, None, [], None, 0)
        report = settings.report_period
        return cls(
            digest=Cadence(settings.digest_period),
            perspective_weeks=settings.perspective_weeks,
            report=Cadence(report) if report in set(Cadence) else None,
            recipients=list(settings.report_recipients),
            stage_override=settings.stage_override,
            stamp=int(settings.updated_at.timestamp() * 1_000_000),
            names_stakeholders=settings.report_names_stakeholders,
            stories=StoryCadence(settings.stories_period)
            if settings.stories_period in set(StoryCadence)
            else DEFAULT_CADENCE,
            learning=settings.learning_monthly,
        )


async def plan(database: Database, *, team_id: str, community_id: int) -> Plan:
    async with database.session() as session:
        await load_record(session, team_id=team_id, community_id=community_id)
        return Plan.of(await rows.settings(session, community_id=community_id))


async def plan_of(database: Database, record: CommunityRecord) -> Plan:
    """The plan of a community already loaded (so already checked against its team)."""
    community_id = record.community.id
    assert community_id is not None

    async def load() -> Plan:
        async with database.session() as session:
            return Plan.of(await rows.settings(session, community_id=community_id))

    return await record.once("plan", load)


def stakeholder_users(record: CommunityRecord) -> list[str]:
    """Stakeholders who are people in this workspace (governance): who a report may go to."""
    items = record.stages[GOVERNANCE.key].answers.get("stakeholders") or []
    return list(dict.fromkeys(str(i["user"]) for i in items if i.get("user")))


def _settings_errors(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    clean_values: dict[str, Any] = {}
    digest = values.get("digest_period")
    if digest not in set(Cadence):
        errors["digest_period"] = "Choose weekly, monthly or quarterly."
    clean_values["digest_period"] = digest
    raw_weeks = str(values.get("perspective_weeks") or "").strip()
    if not raw_weeks.isdigit() or not 1 <= int(raw_weeks) <= MAX_PERSPECTIVE_WEEKS:
        errors["perspective_weeks"] = f"A whole number of weeks from 1 to {MAX_PERSPECTIVE_WEEKS}."
    else:
        clean_values["perspective_weeks"] = int(raw_weeks)
    report = values.get("report_period") or NEVER
    if report != NEVER and report not in set(Cadence):
        errors["report_period"] = "Choose never, weekly, monthly or quarterly."
    clean_values["report_period"] = report
    recipients = values.get("report_recipients") or []
    problem = field_error(Field("report_recipients", "", Kind.USERS), recipients)
    if problem:
        errors["report_recipients"] = problem
    elif len(recipients) > MAX_RECIPIENTS:
        errors["report_recipients"] = f"Please choose at most {MAX_RECIPIENTS} people."
    elif report != NEVER and not recipients:
        errors["report_recipients"] = "Choose who receives the report, or send it never."
    clean_values["report_recipients"] = list(dict.fromkeys(recipients))
    stage = values.get("stage_override")
    if stage is not None and stage not in set(DevelopmentStage):
        errors["stage_override"] = "Choose one of Wenger's stages, or let it be derived."
    clean_values["stage_override"] = stage
    clean_values["report_names_stakeholders"] = values.get("report_names_stakeholders") is True
    stories = values.get("stories_period") or DEFAULT_CADENCE  # a form from before it: default
    if stories not in set(StoryCadence):
        errors["stories_period"] = "Choose every quarter, every six months or never."
    clean_values["stories_period"] = stories
    clean_values["learning_monthly"] = values.get("learning_monthly", True) is True
    return clean_values, errors


async def save_settings(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    values: dict[str, Any],
) -> Plan:
    """A coordinator saves the settings (the stage override among them): checked here, then
    the rounds are planned again under them."""
    cleaned, errors = _settings_errors(values)
    if errors:
        raise InvalidAnswers(errors)
    now = clock.now()
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        require_coordinator(record, user_id)
        require_open(record, CLOSED_SUSTAINING)
        saved = await community_settings.save(
            session,
            SustainingSettings,
            team_id=team_id,
            community_id=community_id,
            values=cleaned,
            updated_by=user_id,
            updated_at=now,
        )
        await scheduled.cancel(
            session,
            team_id=team_id,
            community_id=community_id,
            subject=SUBJECT,
            kinds=list(ROUNDS),
            now=now,
        )
        new_plan = Plan.of(saved)
        await _schedule_missing(session, record, new_plan, now)
    return new_plan


# -- the rounds ---------------------------------------------------------------------------


def _payload(plan: Plan, period: Period) -> dict[str, Any]:
    return {
        "plan": plan.stamp,
        "period": period.key,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }


async def _schedule_round(
    session: AsyncSession,
    record: CommunityRecord,
    *,
    kind: str,
    plan: Plan,
    due_at: datetime,
    period: Period,
) -> None:
    community_id = record.community.id
    await scheduled.schedule(
        session,
        team_id=record.community.team_id,
        community_id=community_id,
        kind=kind,
        due_at=due_at,
        payload={**_payload(plan, period), "due": due_at.isoformat()},
        subject=SUBJECT,
        dedupe_key=f"{kind}:{community_id}:{plan.stamp}:{period.key}",
    )


def next_perspective_prompt(record: CommunityRecord, weeks: int, after: datetime) -> Period:
    """Every `weeks` weeks from the community's start, at 09:00 community time: the next
    prompt after `after`, as the period since the one before it."""
    every = timedelta(weeks=weeks)
    zone = ZoneInfo(record.community.timezone)
    started = record.community.created_at
    count = max(1, (after - started) // every + 1)
    while True:
        day = (started + count * every).astimezone(zone).date()
        due = datetime.combine(day, DIGEST_HOUR, tzinfo=zone).astimezone(UTC)
        if due > after:
            return Period(due - every, due, f"{day:%Y-%m-%d}")
        count += 1


async def _schedule_next(
    session: AsyncSession, record: CommunityRecord, plan: Plan, kind: str, after: datetime
) -> None:
    tz = record.community.timezone
    if kind == STORIES:
        if plan.stories is StoryCadence.NEVER:
            return
        boundary = next_story_boundary(plan.stories, after, tz)
        period = story_period_before(plan.stories, boundary, tz)
        await _schedule_round(session, record, kind=kind, plan=plan, due_at=boundary, period=period)
        return
    if kind == PERSPECTIVE:
        period = next_perspective_prompt(record, plan.perspective_weeks, after)
        await _schedule_round(
            session, record, kind=kind, plan=plan, due_at=period.end, period=period
        )
        return
    if kind == LEARNING:
        if plan.learning:
            boundary = next_boundary(Cadence.MONTHLY, after, tz)
            period = calendar_period_before(Cadence.MONTHLY, boundary, tz)
            await _schedule_round(
                session, record, kind=kind, plan=plan, due_at=boundary, period=period
            )
        return
    cadence = plan.digest if kind == DIGEST else plan.report
    if cadence is None or (kind == REPORT and not plan.recipients):
        return
    boundary = next_boundary(cadence, after, tz)
    period = calendar_period_before(cadence, boundary, tz)
    await _schedule_round(session, record, kind=kind, plan=plan, due_at=boundary, period=period)


async def _schedule_missing(
    session: AsyncSession, record: CommunityRecord, plan: Plan, now: datetime
) -> None:
    assert record.community.id is not None
    planned = await scheduled.kinds_still_open(
        session, team_id=record.community.team_id, community_id=record.community.id, kinds=ROUNDS
    )
    for kind in ROUNDS:
        if kind not in planned:
            await _schedule_next(session, record, plan, kind, now)


async def ensure_scheduled(
    database: Database, clock: Clock, *, team_id: str, community_id: int
) -> None:
    """Plan whichever rounds are not planned yet (a new community, or one from before this
    feature): idempotent, and writes nothing when all are planned."""
    record = await community_by_id(database, team_id=team_id, community_id=community_id)
    await ensure_scheduled_for(database, clock, record)


async def ensure_scheduled_for(database: Database, clock: Clock, record: CommunityRecord) -> None:
    """`ensure_scheduled`, for a community already loaded (`/cop status`, App Home)."""
    if is_closed(record) or record.community.id is None:
        return
    planned = await plan_of(database, record)
    async with database.session() as session:
        await _schedule_missing(session, record, planned, clock.now())


@dataclass(frozen=True)
class Round:
    record: CommunityRecord
    period: Period
    recipients: list[str]


def _period_of(payload: dict[str, Any]) -> Period:
    return Period(
        datetime.fromisoformat(payload["start"]),
        datetime.fromisoformat(payload["end"]),
        str(payload["period"]),
    )


async def run_round(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    kind: str,
    payload: dict[str, Any],
) -> Round:
    """A round is due: one row per recipient, and the next round. Raises NoLongerWanted for a
    closed community or a round planned under settings since replaced."""
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        if is_closed(record):
            raise NoLongerWanted("the community has closed")
        current = Plan.of(await rows.settings(session, community_id=community_id))
        if payload.get("plan") != current.stamp:
            raise NoLongerWanted("the settings changed since it was planned")
        period = _period_of(payload)
        recipients = await _recipients(session, record, current, kind, clock.now())
        for user_id in recipients:
            await scheduled.schedule(
                session,
                team_id=team_id,
                community_id=community_id,
                kind=FAN_OUT[kind],
                due_at=clock.now(),
                payload={k: v for k, v in {**payload, "user": user_id}.items() if k != "due"},
                dedupe_key=f"{FAN_OUT[kind]}:{community_id}:{current.stamp}:{period.key}:{user_id}",
                channel=user_id,
            )
        # The next round comes after this one's due time, however late this one ran.
        due = datetime.fromisoformat(str(payload.get("due") or payload["end"]))
        await _schedule_next(session, record, current, kind, due)
    return Round(record=record, period=period, recipients=list(recipients))


async def _recipients(
    session: AsyncSession, record: CommunityRecord, plan: Plan, kind: str, now: datetime
) -> list[str]:
    """Who a round goes to: the report's chosen recipients; every member (bots and anyone
    forgotten left out) for value stories and the monthly question; else the coordinators."""
    if kind == REPORT:
        return plan.recipients
    if kind in (STORIES, LEARNING):
        assert record.community.id is not None
        members = await counting.members_now(session, community_id=record.community.id, now=now)
        return [user_id for user_id in members if not is_erased(user_id)]
    return list(record.coordinators)


async def still_wanted(
    database: Database, *, team_id: str, community_id: int, payload: dict[str, Any]
) -> tuple[CommunityRecord, Period]:
    """Before one person's message goes: the community is open and the plan unchanged."""
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        current = Plan.of(await rows.settings(session, community_id=community_id))
    if is_closed(record):
        raise NoLongerWanted("the community has closed")
    if payload.get("plan") != current.stamp:
        raise NoLongerWanted("the settings changed since it was planned")
    return record, _period_of(payload)


# -- pictures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedPicture:
    kind: str
    file_id: str
    title: str
    alt_text: str


async def keep_pictures(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    pictures: Sequence[UploadedPicture],
) -> None:
    async with database.session() as session:
        for picture in pictures:
            await rows.keep_picture(
                session,
                team_id=team_id,
                community_id=community_id,
                kind=picture.kind,
                file_id=picture.file_id,
                title=picture.title,
                alt_text=picture.alt_text,
                drawn_at=clock.now(),
            )


async def latest_pictures(database: Database, *, community_id: int) -> list[HealthPicture]:
    async with database.session() as session:
        return list(await rows.pictures(session, community_id=community_id))
