"""The coordinator's next step, from the community's real state: the setup stages, the launch
(workshop planned, held, terms agreed), sustaining it, and its closure.

One function decides it; `/cop status`, App Home and the note after each save all show it, so
they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.catalogue import Stage
from bot.clock import Clock
from bot.services.capture import still_capturing
from bot.services.communities import CommunityRecord, is_closed
from bot.services.meetings import LAUNCH
from bot.services.sessions import sessions_of
from bot.services.terms import latest_draft
from bot.text import calendar_date, slack_time
from storage.db import Database
from storage.models import Closure
from storage.repositories import closures as closure_rows
from storage.repositories import meetings as meeting_rows


@dataclass(frozen=True)
class NextStep:
    text: str  # mrkdwn, starting "*Next:*" (or what the community's state is, once closed)
    stage: Stage | None = None  # a setup stage whose form the step opens, for a button
    closed: bool = False


@dataclass(frozen=True)
class LaunchState:
    planned: datetime | None  # the launch workshop still to come
    held: bool  # a launch workshop has taken place
    terms_drafted: bool


async def next_step(database: Database, clock: Clock, record: CommunityRecord) -> NextStep:
    # Its reads (the launch, the terms, the meetings…) are one unit of work between them.
    async with database.reading():
        return await _next_step(database, clock, record)


async def _next_step(database: Database, clock: Clock, record: CommunityRecord) -> NextStep:
    community = record.community
    assert community.id is not None
    now = clock.now()
    if is_closed(record):
        async with database.session() as session:
            closure = await closure_rows.closure_for(
                session, team_id=community.team_id, community_id=community.id
            )
        return _closed_step(record, closure, now)
    if community.launched_at is not None:
        return await _sustaining_step(database, record, now)
    launch = await _launch_state(database, record, now)
    if launch.planned is not None:
        return NextStep(
            f"*Next:* the launch workshop, {slack_time(launch.planned)}, where members meet and "
            "agree the terms of reference. `/cop meetings` changes it."
        )
    if launch.held:
        if not launch.terms_drafted:
            return NextStep(
                "*Next:* the launch workshop has been held: draft the terms of reference "
                "(`/cop launch`) for members to agree."
            )
        return NextStep(
            "*Next:* the launch workshop has been held: once members have agreed, a "
            "coordinator presses *Mark agreed* on the terms of reference to launch the community."
        )
    step = record.next_question()
    if step is not None:
        stage, question = step
        return NextStep(f"*Next:* {question.label} (`/cop {stage.key}`)", stage=stage)
    return NextStep(
        "*Next:* every setup question has an answer. Plan the launch workshop (`/cop launch`)."
    )


def _closed_step(record: CommunityRecord, closure: Closure | None, now: datetime) -> NextStep:
    if closure is None:  # its channel was archived or deleted
        return NextStep("This community has ended: its channel is gone.", closed=True)
    if still_capturing(closure, record.community, now):
        return NextStep(
            f"*Closing:* members are sharing what they learned until "
            f"{calendar_date(closure.closing_date)}, when the celebration and the archive are "
            "posted in the channel. Nothing else can change.",
            closed=True,
        )
    where = (
        f"<{closure.archive_permalink}|its archive>" if closure.archive_permalink else "its archive"
    )
    return NextStep(
        f"*Closed* on {calendar_date(closure.closing_date)}. What it learned is in {where}; "
        "`/cop export` sends you its whole record.",
        closed=True,
    )


async def _sustaining_step(database: Database, record: CommunityRecord, now: datetime) -> NextStep:
    community = record.community
    assert community.id is not None
    async with database.session() as session:
        coming = await meeting_rows.upcoming_occurrences(
            session, team_id=community.team_id, community_id=community.id, now=now, limit=1
        )
    if not coming:
        return NextStep(
            "*Next:* launched. Keep it going with regular meetings: plan the next one "
            "(`/cop meeting`)."
        )
    occurrence, _ = coming[0]
    return NextStep(
        f"*Next:* the next meeting, {slack_time(occurrence.starts_at)}. Between meetings, bring "
        "in a new perspective (`/cop perspective`) and see how it is doing (`/cop health`)."
    )


async def _launch_state(database: Database, record: CommunityRecord, now: datetime) -> LaunchState:
    community = record.community
    assert community.id is not None
    planned: datetime | None = None
    held = False
    # Every launch workshop's sessions, however many were planned, from one read.
    for session in await sessions_of(database, record):
        if session.purpose != LAUNCH:
            continue
        if session.starts_at <= now:
            held = True
        elif planned is None or session.starts_at < planned:
            planned = session.starts_at
    drafted = await latest_draft(database, record)
    return LaunchState(planned=planned, held=held, terms_drafted=drafted is not None)
