"""Community health: every figure from a history built with the ManualClock and checked
against a hand count, the three pictures drawn from it and uploaded with alt text, App Home's
pictures and stage of development, and meeting figures from the meetings held."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.services import health
from bot.services.members import Level
from fakeslack import FakeSlack
from fakeslack.workspace import UploadedFile
from storage.models import Meeting, MeetingOccurrence, Rsvp
from tests.conftest import ASHA, BEN, CARMEN, NOOR, TEAM, Cultivate
from tests.steps import (
    NOW,
    build_history,
    figure_lines,
    open_home,
    start_community,
    texts,
)


def png_size(content: bytes) -> tuple[int, int]:
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", content[16:24])
    return width, height


async def test_each_health_figure_matches_a_hand_count(
    cultivate: Cultivate, clock: ManualClock
) -> None:
    history = await build_history(cultivate, clock)
    period = health.trailing(health.Cadence.MONTHLY, clock.now(), "UTC")
    assert period.start == datetime(2026, 11, 1, 9, tzinfo=UTC)
    figures = await health.figures(
        cultivate.database, clock, team_id=TEAM, community_id=1, period=period
    )
    assert figures.members == 5
    assert (figures.joined, figures.left) == (2, 1)
    assert figures.active == 3 and figures.active_share == pytest.approx(0.6)
    assert figures.levels == {
        Level.COORDINATOR: 1,
        Level.CORE: 1,
        Level.ACTIVE: 1,
        Level.PERIPHERAL: 2,
    }
    assert [n.user_id for n in figures.silent_newcomers] == [history.newcomer]
    assert figures.recently_inactive == [BEN]
    assert (figures.meetings, figures.attendance) == ([], 0)
    assert (figures.milestones_done, figures.milestones_due, figures.milestones_overdue) == (
        1,
        1,
        1,
    )
    assert figures.suggestions == ["greet", "meet"]  # someone joined 16 days ago: no recruiting


async def test_cop_health_shows_the_figures_to_coordinators_only(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    history = await build_history(cultivate, clock)
    await cultivate.command("health", user=CARMEN)
    assert "coordinators" in (await cultivate.ephemeral())["text"]

    await cultivate.command("health")
    answer = await cultivate.ephemeral(count=2)
    lines = figure_lines(answer["blocks"])
    assert lines["Members"] == "5 (2 joined, 1 left)"
    assert lines["Active"] == "3 of 5 (60%) posted in the 30 days to Tue 1 Dec 2026"
    assert lines["By level"] == "1 coordinator · 1 core · 1 active · 2 peripheral"
    assert lines["Newcomers who haven't posted yet"] == f"1: <@{history.newcomer}>"
    assert lines["Recently inactive"].startswith("1: <@U0BEN>")
    assert lines["Meetings held"] == "0"
    assert lines["Milestones"] == "1 done · 1 due · 1 overdue"
    assert lines["Stage of development"].startswith("Coalescing")
    shown = str(answer["blocks"])
    assert f"Quiet for two weeks or more since joining:* <@{history.newcomer}>" in shown
    assert "No meeting in the last six weeks" in shown
    assert "No one new has joined in 60 days" not in shown


async def test_three_pictures_are_drawn_from_the_history_and_uploaded_with_alt_text(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await build_history(cultivate, clock)
    await cultivate.command("health")
    await slack.wait_for("files.completeUploadExternal")
    files: list[UploadedFile] = slack.files
    assert [f.filename for f in files] == [
        "members-and-activity.png",
        "participation-levels.png",
        "stakeholder-map.png",
    ]
    # Readable at Slack's preview size; the stakeholder map is wider, for its key.
    assert [png_size(f.content) for f in files] == [(960, 540), (960, 540), (1200, 675)]
    for file in files:
        assert 10_000 < len(file.content) < 500_000
        assert file.alt_txt and len(file.alt_txt) <= 1000
        # Shared in Asha's direct messages with the app, nowhere else.
        assert slack.workspace.channels[file.channel or ""].im_user == ASHA
    chart, pyramid, stakeholders = (f.alt_txt or "" for f in files)
    assert "over the 13 weeks to Tue 1 Dec 2026" in chart
    assert "Members went from 3 to 5" in chart  # Asha, Ben and Carmen after a week
    assert "Members active in the past 30 days went from 0 to 3" in chart
    assert "4 in the last week" in chart  # Noor's three and Asha's one
    assert "from the top: 1 coordinator, 1 core, 1 active, 2 peripheral" in pyramid
    assert "Director of Housing: high influence, champion" in stakeholders
    assert "Finance team: high influence, sceptical" in stakeholders
    assert "Tenants' union: low influence, supportive" in stakeholders

    # App Home shows coordinators the latest pictures, as image blocks of those files.
    home = await open_home(cultivate, ASHA)
    images = [b for b in home["blocks"] if b["type"] == "image"]
    assert [(b["slack_file"]["id"], b["alt_text"]) for b in images] == [
        (f.id, f.alt_txt) for f in files
    ]
    assert "*Stage of development:* Coalescing" in texts(home)
    # A member sees the stage, not the pictures.
    member_home = await open_home(cultivate, NOOR)
    assert not [b for b in member_home["blocks"] if b["type"] == "image"]
    assert "*Stage of development:* Coalescing" in texts(member_home)


async def test_home_is_shown_without_a_picture_slack_no_longer_has(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    await cultivate.command("health")
    await slack.wait_for("files.completeUploadExternal")
    with slack.workspace.lock:  # someone deleted one of the pictures in Slack
        slack.workspace.files.pop(slack.files[0].id)
    await cultivate.event({"type": "app_home_opened", "user": ASHA, "tab": "home"})
    refused, published = await slack.wait_for("views.publish", count=2)
    assert (refused.ok, published.ok) == (False, True)
    home = slack.home(ASHA)
    assert home is not None
    assert [b for b in home["blocks"] if b["type"] == "image"] == []
    assert "*Stage of development:*" in texts(home)
    slack.problems.clear()  # the refusal was expected


async def test_meetings_held_and_their_attendance_come_from_the_meetings_themselves(
    cultivate: Cultivate, clock: ManualClock
) -> None:
    """Two meetings held on 10 and 24 Nov, stored as the meetings feature stores them, with
    their RSVPs: 6 going and 2 maybe, then 4 going and 3 can't."""
    await build_history(cultivate, clock)
    answers = [("going", 6), ("maybe", 2)], [("going", 4), ("cant", 3)]
    days = datetime(2026, 11, 10, 14, tzinfo=UTC), datetime(2026, 11, 24, 14, tzinfo=UTC)
    async with cultivate.database.session() as session:
        for n, (starts_at, rsvps) in enumerate(zip(days, answers, strict=True)):
            meeting = Meeting(
                team_id=TEAM,
                community_id=1,
                title=("Monthly call", "Show and tell")[n],
                first_date=starts_at.date(),
                start_time=starts_at.time(),
                duration_minutes=60,
                timezone="UTC",
                format="online",
                organiser=ASHA,
                created_at=starts_at - timedelta(days=7),
                updated_at=starts_at - timedelta(days=7),
                updated_by=ASHA,
            )
            session.add(meeting)
            await session.flush()
            occurrence = MeetingOccurrence(
                team_id=TEAM,
                community_id=1,
                meeting_id=meeting.id or 0,
                seq=1,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=1),
            )
            session.add(occurrence)
            await session.flush()
            people = (f"U{k:08d}" for k in range(100))
            for answer, count in rsvps:
                for _ in range(count):
                    session.add(
                        Rsvp(
                            team_id=TEAM,
                            occurrence_id=occurrence.id or 0,
                            user_id=next(people),
                            answer=answer,
                            answered_at=starts_at - timedelta(days=1),
                        )
                    )
        await session.commit()
    period = health.trailing(health.Cadence.MONTHLY, clock.now(), "UTC")
    figures = await health.figures(
        cultivate.database, clock, team_id=TEAM, community_id=1, period=period
    )
    assert (len(figures.meetings), figures.attendance) == (2, 10)
    assert "meet" not in figures.suggestions
    await cultivate.command("health")
    lines = figure_lines((await cultivate.ephemeral())["blocks"])
    assert lines["Meetings held"] == "2, attendance 10 (5.0 a meeting)"


async def test_no_one_joining_for_60_days_suggests_recruiting(
    cultivate: Cultivate, clock: ManualClock
) -> None:
    await build_history(cultivate, clock)
    clock.set(NOW + timedelta(days=45))  # the newcomer joined on 15 Nov: 61 days before
    period = health.trailing(health.Cadence.MONTHLY, clock.now(), "UTC")
    figures = await health.figures(
        cultivate.database, clock, team_id=TEAM, community_id=1, period=period
    )
    assert "recruit" in figures.suggestions


async def test_calendar_periods_and_their_boundaries() -> None:
    monthly, weekly = health.Cadence.MONTHLY, health.Cadence.WEEKLY
    boundary = health.next_boundary(monthly, NOW, "Europe/London")
    assert boundary == datetime(2027, 1, 1, 9, tzinfo=UTC)
    period = health.calendar_period_before(monthly, boundary, "Europe/London")
    assert (period.start, period.end, period.key) == (
        datetime(2026, 12, 1, tzinfo=UTC),  # midnight in London: GMT in December
        datetime(2027, 1, 1, tzinfo=UTC),
        "2026-12",
    )
    assert period.words("Europe/London") == "Tue 1 Dec 2026 to Thu 31 Dec 2026"
    # London in summer: 09:00 there is 08:00 UTC.
    summer = health.next_boundary(weekly, datetime(2027, 6, 2, tzinfo=UTC), "Europe/London")
    assert summer == datetime(2027, 6, 7, 8, tzinfo=UTC)
    quarter = health.next_boundary(health.Cadence.QUARTERLY, NOW, "UTC")
    assert quarter == datetime(2027, 1, 1, 9, tzinfo=UTC)
    assert health.calendar_period_before(health.Cadence.QUARTERLY, quarter, "UTC").key == (
        "2026-Q4"
    )
