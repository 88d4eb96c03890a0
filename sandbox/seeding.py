"""A community with `size` of everything, written straight to the database: every stage
answered, members with levels and activity, meetings with sessions and RSVPs, join requests,
guests, invitations, drafts of the terms, rows scheduled and failed. The status benchmark
(bench/status.py) and the test that counts a status's statements (tests/test_reads.py) build
the same community from here, so the figure and the test speak of one thing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from bot.catalogue import SETUP_STAGES, Field, Kind, Question
from bot.services.meeting_form import LAUNCH, MEETING
from storage.db import Database
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
