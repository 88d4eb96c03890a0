"""How much CPU building the `/cop status` answer takes: a community with every stage answered,
50 members and 20 meetings (and as many of everything else), its answer built again and again
as `/cop status` builds it, with `time.process_time` around each build.

    python -m bench.status [--builds 200] [--size 50] [--meetings 20] [--database-url postgresql://...]

It prints how many SQL statements one build takes too; `--queries 1` prints them, and
`--profile 1` where the time goes instead of the figures (cProfile).
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event

from bench.common import database_in_a_folder, dispatching_app, options
from bot.catalogue import SETUP_STAGES, Field, Kind, Question
from bot.clock import ManualClock
from bot.services.communities import community_by_id, start_community
from bot.services.meeting_form import LAUNCH, MEETING
from handlers.progress import community_blocks
from handlers.registry import Surface
from sandbox.processes import empty_database
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    ActivityDay,
    Invitation,
    InvitationClick,
    JoinRequest,
    Meeting,
    MeetingOccurrence,
    MemberProfile,
    Membership,
    Perspective,
    Rsvp,
    ScheduledSend,
    TermsAgreement,
    TermsDraft,
)
from storage.repositories import stages as stage_rows

TEAM = "T0CULTIV8"
CHANNEL = "C0HOUSING"
COORDINATOR = "U0ASHA"


def person(n: int) -> str:
    return f"U0P{n:05d}"


def _value(field: Field, n: int, *, today: date, people: list[str]) -> Any:
    """An answer to a field, the nth of its kind."""
    if field.kind in (Kind.TEXT, Kind.LINE):
        return f"{field.label} {n}"
    if field.kind == Kind.CHOICE:
        return field.options[n % len(field.options)].value if field.options else ""
    if field.kind == Kind.CHOICES:
        return [o.value for o in field.options[:2]]
    if field.kind == Kind.USER:
        return people[n % len(people)]
    if field.kind == Kind.USERS:
        return people
    if field.kind == Kind.DATE:
        # Half of them past: overdue milestones, done ones.
        return (today + timedelta(days=(n - len(people) // 2) * 3 + 1)).isoformat()
    return f"{n}"


def every_answer(
    size: int,
    *,
    today: date,
    people: list[str],
    coordinator: str = COORDINATOR,
    capped: bool = False,
) -> dict[str, dict[str, Any]]:
    """Every stage answered; every list `size` items long (`capped`: no longer than its form
    allows)."""

    def answer(question: Question) -> Any:
        if question.kind == Kind.USERS and question.key == "coordinators":
            return [coordinator, *people]
        if not question.is_list:
            return _value(question, 0, today=today, people=people)
        items = []
        for n in range(min(size, question.max_items) if capped else size):
            item = {f.key: _value(f, n, today=today, people=people) for f in question.item_fields}
            if "done" in item and n % 2:  # every other milestone not done
                del item["done"]
            items.append(item)
        return items

    return {
        stage.key: {q.key: answer(q) for q in stage.questions if q.answered_by is None}
        for stage in SETUP_STAGES
    }


async def fill(
    database: Database,
    *,
    community_id: int,
    size: int,
    meetings: int | None = None,
    now: datetime,
    team_id: str = TEAM,
    channel_id: str = CHANNEL,
    coordinator: str = COORDINATOR,
    capped: bool = False,
) -> None:
    """`size` of everything in a community: members (with levels, activity and introductions),
    list items in every stage, meetings (`meetings`, else `size`: half of them launch
    workshops) each with a session held and one to come, everyone's RSVPs to the first
    meeting's, join requests, guests, invitations and their clicks, drafts of the terms and
    agreements, rows scheduled and failed. `capped`: lists no longer than their forms allow."""
    meetings = size if meetings is None else meetings
    people = [person(n) for n in range(size)]
    today = now.date()
    async with database.session() as session:
        for stage, answers in every_answer(
            size, today=today, people=people, coordinator=coordinator, capped=capped
        ).items():
            latest = await stage_rows.latest_revision(
                session, community_id=community_id, stage=stage
            )
            await stage_rows.add_revision(
                session,
                team_id=team_id,
                community_id=community_id,
                stage=stage,
                version=(latest.version if latest else 0) + 1,
                answers=answers,
                edited_by=coordinator,
                edited_at=now,
            )
        ids = {"team_id": team_id, "community_id": community_id}
        levels = ("core", "active", "peripheral", None)
        for n, user in enumerate(people):
            session.add(
                Membership(
                    **ids, user_id=user, joined_at=now - timedelta(days=n + 1), level=levels[n % 4]
                )
            )
            session.add(ActivityDay(**ids, user_id=user, day=today - timedelta(days=n), messages=3))
            session.add(
                MemberProfile(**ids, user_id=user, role="Officer", introduced_at=now - timedelta(n))
            )
            session.add(JoinRequest(**ids, user_id=f"U0Q{n:05d}", requested_at=now))
            session.add(
                Perspective(
                    **ids,
                    guest=f"Guest {n}",
                    topic="Rents",
                    day=today - timedelta(days=n),
                    logged_by=coordinator,
                    logged_at=now,
                )
            )
            for state in ("pending", "failed"):
                session.add(
                    ScheduledSend(
                        **ids,
                        kind="bench_post",
                        payload={"channel": channel_id, "text": f"row {n}"},
                        due_at=now + timedelta(hours=n + 1),
                        state=state,
                        last_error="channel_not_found" if state == "failed" else None,
                    )
                )
        for n in range(meetings):
            meeting = Meeting(
                **ids,
                purpose=LAUNCH if n % 2 else MEETING,
                title=f"Meeting {n}",
                first_date=today - timedelta(days=7),
                start_time=(now + timedelta(minutes=n)).time(),
                duration_minutes=60,
                timezone="UTC",
                format="online",
                place="https://meet.example.org",
                organiser=coordinator,
                created_at=now,
                updated_at=now,
                updated_by=coordinator,
            )
            session.add(meeting)
            await session.flush()
            assert meeting.id is not None
            for seq, days in ((1, -7), (2, 7)):
                starts = now + timedelta(days=days, minutes=n)
                occurrence = MeetingOccurrence(
                    **ids,
                    meeting_id=meeting.id,
                    seq=seq,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=1),
                )
                session.add(occurrence)
                await session.flush()
                assert occurrence.id is not None
                # Everyone answers the first meeting's sessions: RSVPs as many as people.
                for user in people if n == 0 else []:
                    session.add(
                        Rsvp(
                            team_id=team_id,
                            occurrence_id=occurrence.id,
                            user_id=user,
                            answer="yes",
                            answered_at=now,
                        )
                    )
        for n in range(size):
            draft = TermsDraft(
                **ids,
                version=n + 1,
                markdown="# Terms",
                drafted_by=coordinator,
                drafted_at=now,
            )
            invitation = Invitation(
                **ids, channel_id="C0GENERAL", posted_by=coordinator, posted_at=now, ts=f"1.{n}"
            )
            session.add_all([draft, invitation])
            await session.flush()
            assert draft.id is not None and invitation.id is not None
            session.add(
                TermsAgreement(team_id=team_id, draft_id=draft.id, user_id=people[n], agreed_at=now)
            )
            session.add(
                InvitationClick(
                    **ids, invitation_id=invitation.id, user_id=people[n], clicked_at=now
                )
            )


def counting(statements: list[str]) -> Callable[..., None]:
    """A `before_cursor_execute` listener keeping each statement's SQL."""

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    return count


def listen(engine: Any, name: str, listener: Callable[..., None]) -> None:
    event.listen(engine, name, listener)


async def main(
    builds: int, size: int, meetings: int, profile: bool, show_queries: bool, url: str | None
) -> None:
    with database_in_a_folder(url) as (_, database_url):
        await empty_database(database_url)
        # The app as a web process builds it; Slack is never called: nothing is sent.
        cultivate = dispatching_app(database_url, "http://127.0.0.1:9/api/")
        database = cultivate.runtime.database
        await upgrade(database)
        now = datetime.now(UTC)
        community = await start_community(
            database,
            ManualClock(now),
            team_id=TEAM,
            channel_id=CHANNEL,
            name="Housing policy",
            domain="Housing policy across councils",
            timezone="UTC",
            starter=COORDINATOR,
        )
        community_id = community.id or 0
        await fill(
            database, community_id=community_id, size=size, meetings=meetings, now=now, capped=True
        )
        registry = cultivate.registry

        async def build() -> None:
            # As `/cop status` does: the community as the request loads it, then its answer.
            record = await community_by_id(database, team_id=TEAM, community_id=community_id)
            await community_blocks(registry, record, COORDINATOR, Surface.STATUS)

        for _ in range(5):  # warm: imports, caches, the pool's connections
            await build()
        statements: list[str] = []
        listen(database.engine.sync_engine, "before_cursor_execute", counting(statements))
        await build()
        queries = len(statements)
        if show_queries:
            print("\n\n".join(statements))
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(builds):
                await build()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            await database.dispose()
            return
        cpu: list[float] = []
        for _ in range(builds):
            started = time.process_time()
            await build()
            cpu.append((time.process_time() - started) * 1000)
        await database.dispose()
    print(
        f"/cop status for a community of {size} members and {meetings} meetings, {builds} "
        f"builds, {queries} SQL statements a build"
    )
    print("| database | CPU p50 (ms) | CPU mean (ms) | CPU p90 (ms) |")
    print("| --- | ---: | ---: | ---: |")
    kind = "PostgreSQL" if url else "SQLite"
    p90 = statistics.quantiles(cpu, n=10)[-1]
    print(f"| {kind} | {statistics.median(cpu):.2f} | {statistics.mean(cpu):.2f} | {p90:.2f} |")


if __name__ == "__main__":
    args = options(__doc__, builds=200, size=50, meetings=20, profile=0, queries=0)
    asyncio.run(
        main(
            args.builds,
            args.size,
            args.meetings,
            bool(args.profile),
            bool(args.queries),
            args.database_url,
        )
    )
