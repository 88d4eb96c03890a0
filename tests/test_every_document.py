"""Every field, every document: whole communities generated from the catalogue (tests/
communities.py) are rendered on every surface and in every document. None raises, every Block
Kit surface passes the fake Slack's checks, and every document holds each answered question's
answer, escaped for where it lands; the sponsor report holds every value story its teller let it
share, and not a word of one they did not.

The surfaces are built by calling their builders directly (not through HTTP), so the test is
quick enough to try enough communities to fill every list of the checklist."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answers import is_answered, stage_errors
from bot.app import create_app
from bot.catalogue import SCOPE, SETUP_STAGES, Field, Kind, Question
from bot.clock import ManualClock
from bot.pacing import ChannelPacer
from bot.runtime import Runtime
from bot.services import closure as closing
from bot.services import report
from bot.services.archive import build as build_archive
from bot.services.archive import compile_archive, render_json
from bot.services.communities import CommunityRecord, community_by_id, start_community
from bot.services.document import docx_text, to_docx, to_markdown
from bot.services.health import current_figures
from bot.services.milestones import today_for
from bot.services.pictures import draw_all
from bot.services.stories import tally
from bot.services.terms import build as build_terms
from bot.text import calendar_date, escape, markdown_escape
from fakeslack import FakeSlack
from fakeslack.checks import check_message, check_view
from handlers.archive import celebration_text
from handlers.health import health_blocks
from handlers.home import home_view
from handlers.names import UNKNOWN
from handlers.progress import community_blocks
from handlers.registry import Registry, Surface
from handlers.stage_forms import stage_view
from storage.db import Database
from storage.models import LibraryEntry, Meeting, MeetingAction, MeetingOccurrence
from storage.repositories import stages as stage_rows
from storage.repositories import stories as story_rows
from tests.communities import communities, text, value_stories
from tests.conftest import ASHA, BEN, CARMEN, NOOR, settings_for

REAL_NAMES = {ASHA: "Asha Raman", BEN: "Ben Okafor", CARMEN: "Carmen Díaz", NOOR: "Noor Haddad"}
EXAMPLES = int(
    os.environ.get("DOCUMENT_EXAMPLES", "60")
)  # enough to fill every list (checked below)
_teams = itertools.count()


def names(user_id: str) -> str:
    return REAL_NAMES.get(user_id, UNKNOWN)


def registry_for(
    slack: FakeSlack, database: Database, database_url: str, clock: ManualClock
) -> Registry:
    """Every feature registered, by the app's composition root, so `/cop status` and App Home
    show every feature's section."""
    runtime = Runtime(database=database, clock=clock)
    app = create_app(
        settings_for(slack, database_url), runtime, pacer=ChannelPacer(0), scheduler=False
    )
    return app.registry


async def meeting_with_actions(
    database: Database, clock: ManualClock, record: CommunityRecord, action: str
) -> None:
    """A meeting ten days ago whose notes agreed three actions with this text: one overdue,
    one due later, one done."""
    community = record.community
    assert community.id is not None
    now = clock.now()
    began = now - timedelta(days=10)
    today = today_for(community, now)
    async with database.session() as session:
        meeting = Meeting(
            team_id=community.team_id,
            community_id=community.id,
            title=action[:150],
            first_date=began.date(),
            start_time=time(9),
            duration_minutes=60,
            timezone=community.timezone,
            format="online",
            organiser=ASHA,
            created_at=began,
            updated_at=began,
            updated_by=ASHA,
        )
        session.add(meeting)
        await session.flush()
        assert meeting.id is not None
        held = MeetingOccurrence(
            team_id=community.team_id,
            community_id=community.id,
            meeting_id=meeting.id,
            seq=1,
            starts_at=began,
            ends_at=began + timedelta(hours=1),
            notes=action,
            notes_by=ASHA,
            notes_at=began,
        )
        session.add(held)
        await session.flush()
        assert held.id is not None
        for position, (due, done) in enumerate(
            ((today - timedelta(days=1), None), (today + timedelta(days=5), None), (None, began))
        ):
            session.add(
                MeetingAction(
                    team_id=community.team_id,
                    community_id=community.id,
                    occurrence_id=held.id,
                    position=position,
                    text=action,
                    owner=(ASHA, BEN, None)[position],
                    due=due,
                    done_at=done,
                    done_by=ASHA if done else None,
                    created_at=began,
                )
            )


async def saved(
    database: Database,
    clock: ManualClock,
    answers: dict[str, dict[str, Any]],
    name: str,
    domain: str,
) -> CommunityRecord:
    team = f"T{next(_teams):08d}"  # a workspace of its own: App Home shows just this one
    community = await start_community(
        database,
        clock,
        team_id=team,
        channel_id="C0HOUSING",
        name=name,
        domain=domain,
        timezone="Europe/London",
        starter=ASHA,
    )
    assert community.id is not None
    async with database.session() as session:
        for stage in SETUP_STAGES:
            # What the forms and list editors would accept: the generator makes nothing else.
            assert stage_errors(stage, answers[stage.key]) == {}
            await stage_rows.add_revision(
                session,
                team_id=team,
                community_id=community.id,
                stage=stage.key,
                version=2 if stage.key == "roles" else 1,
                answers=answers[stage.key],
                edited_by=ASHA,
                edited_at=clock.now(),
            )
    return await community_by_id(database, team_id=team, community_id=community.id)


PRIVATE = "Kept private: "  # what a story its teller would not share begins with here


async def tell(
    database: Database, clock: ManualClock, record: CommunityRecord, told: list[dict[str, Any]]
) -> None:
    """Members' value stories, as the form saves them (a private one's words marked)."""
    community = record.community
    assert community.id is not None
    async with database.session() as session:
        for story in told:
            private = story["consent"] == "private"
            await story_rows.keep(
                session,
                team_id=community.team_id,
                community_id=community.id,
                user_id=story["user"],
                period="2026-Q4",
                answers={k: PRIVATE + v if private else v for k, v in story["answers"].items()},
                consent=story["consent"],
                answered_at=clock.now() - timedelta(days=1),
            )


def assert_holds_shared_stories(told: list[dict[str, Any]], markdown: str, word: bytes) -> None:
    paragraphs = "\n".join(text for _, text in docx_text(word))
    for story in told:
        if story["consent"] == "private":
            continue
        teller = names(story["user"]) if story["consent"] == "named" else "a member"
        assert f"From {markdown_escape(teller)}, " in markdown
        for said in story["answers"].values():
            for line in (line.strip() for line in said.splitlines() if line.strip()):
                assert markdown_escape(line) in markdown, line
                assert line in paragraphs, line
    assert PRIVATE not in markdown and PRIVATE not in paragraphs


# -- what each document must hold -----------------------------------------------------------


def fragments(spec: Field, value: Any) -> list[str]:
    """The pieces of an answer a reader must find in a document, as plain text."""
    match spec.kind:
        case Kind.TEXT | Kind.LINE:
            return [line.strip() for line in str(value).splitlines() if line.strip()]
        case Kind.CHOICE:
            return [spec.option_label(value)]
        case Kind.CHOICES:
            return [spec.option_label(v) for v in value]
        case Kind.USER:
            return [names(value)]
        case Kind.USERS:
            return [names(v) for v in value]
        case Kind.DATE:
            return [calendar_date(date.fromisoformat(value))]
        case Kind.TIME:
            return [str(value)]
        case Kind.PEOPLE:
            return [
                piece
                for item in value
                for piece in (
                    names(item["user"]) if item.get("user") else item["name"],
                    *([item["organisation"]] if item.get("organisation") else []),
                )
            ]
        case Kind.LIST:
            assert isinstance(spec, Question)
            return [
                piece
                for item in value
                for f in spec.item_fields
                if item.get(f.key)
                for piece in fragments(f, item[f.key])
            ]
    raise AssertionError(spec.kind)


def answered(record: CommunityRecord) -> list[str]:
    found = []
    for stage in SETUP_STAGES:
        answers = record.stages[stage.key].answers
        for question in stage.questions:
            if question.answered_by is None and is_answered(question, answers):
                found += fragments(question, answers[question.key])
    return found


def assert_holds_every_answer(record: CommunityRecord, markdown: str, word: bytes) -> None:
    paragraphs = "\n".join(text for _, text in docx_text(word))
    for piece in answered(record):
        assert markdown_escape(piece) in markdown, piece
        assert piece in paragraphs, piece
    assert "<@U" not in markdown and "<!channel>" not in markdown


def assert_accepted(blocks: list[dict[str, Any]]) -> None:
    assert check_message({"text": "fallback", "blocks": blocks}) == []


# -- the test -------------------------------------------------------------------------------


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: what is tried here is rendering, which no database changes, and every
    example saves a whole community; the documents' tests (test_documents.py) run on both."""
    return f"sqlite:///{tmp_path / 'cultivate.db'}"


LISTS = {(s.key, q.key) for s in SETUP_STAGES for q in s.lists}


@pytest.fixture(scope="module")
def filled() -> Iterator[set[tuple[str, str]]]:
    """The lists the generated communities filled: after the run, every one of them."""
    found: set[tuple[str, str]] = set()
    yield found
    if found:  # the property test ran
        assert found == LISTS, f"never filled: {sorted(LISTS - found)}; raise EXAMPLES"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    answers=communities(),
    told=value_stories(),
    name=text(80, multiline=False),
    domain=st.one_of(st.just(""), text(150, multiline=False)),
    action=text(200, multiline=False).filter(lambda t: t.strip() == t and t != ""),
)
async def test_every_surface_and_document_renders_every_answer(
    filled: set[tuple[str, str]],
    slack: FakeSlack,
    database: Database,
    database_url: str,
    answers: dict[str, dict[str, Any]],
    told: list[dict[str, Any]],
    name: str,
    domain: str,
    action: str,
) -> None:
    filled |= {(s, q) for s, q in LISTS if answers[s].get(q)}
    clock = ManualClock(datetime(2027, 3, 1, 9, tzinfo=UTC))
    registry = registry_for(slack, database, database_url, clock)
    record = await saved(database, clock, answers, name, domain)
    await tell(database, clock, record, told)
    community = record.community
    assert community.id is not None
    await meeting_with_actions(database, clock, record, action)

    # `/cop status`, App Home, and each stage's form (coordinators) and summary (anyone else).
    view = await home_view(registry, team_id=community.team_id, user_id=ASHA)
    assert check_view(view, "home") == []
    for viewer in (ASHA, BEN):
        status = await community_blocks(registry, record, viewer, Surface.STATUS)
        assert_accepted(status)
        overdue = [b for b in status if "Overdue actions" in str(b)]
        assert len(overdue) >= 1 and escape(action) in str(overdue[0]["text"]["text"])
        for stage in SETUP_STAGES:
            assert check_view(stage_view(record, stage, viewer), "modal") == []

    # The terms of reference.
    terms = build_terms(record, version=1, drafted_on=today_for(community, clock.now()))
    assert_holds_every_answer(record, to_markdown(terms, names), to_docx(terms, names))
    canvas = to_markdown(terms, names, mentions=True)
    assert "<!channel>" not in canvas

    # The archive and the export, with an entry of the library whose words were generated.
    kept = domain or "Kept all along"
    async with database.session() as session:
        session.add(
            LibraryEntry(
                team_id=community.team_id,
                community_id=community.id,
                title=name,
                tags=[kept[:40]],
                text=escape(kept),  # as Slack has a typed message
                author=BEN,
                channel_id=community.channel_id,
                message_ts="1700000000.000100",
                permalink="https://example.slack.com/archives/C0HOUSING/p1700000000000100",
                saved_by=CARMEN,
                saved_at=clock.now(),
            )
        )
    archive = await compile_archive(
        database, clock, team_id=community.team_id, community_id=community.id
    )
    document = build_archive(archive)
    markdown, word = to_markdown(document, names), to_docx(document, names)
    assert_holds_every_answer(record, markdown, word)
    assert PRIVATE not in markdown + render_json(archive)
    assert markdown_escape(kept) in markdown and f"**{markdown_escape(name)}**" in markdown
    assert kept in "\n".join(t for _, t in docx_text(word))
    exported = json.loads(render_json(archive))
    assert exported["stages"] == {s.key: answers[s.key] for s in SETUP_STAGES}
    [held] = exported["meetings"]
    assert [a["text"] for a in held["actions"]] == [action] * 3
    assert markdown_escape(action) in markdown
    assert [e["title"] for e in exported["library"]] == [name]

    # Health figures, the digest's blocks, the pictures and the sponsor report.
    figures, found = await current_figures(database, clock, record)
    counted = await tally(database, record, period=figures.period)
    assert counted.arrived == len(told)
    assert_accepted(health_blocks(figures, found, title="Community health", told=counted))
    assert_accepted(health_blocks(figures, found, title="Health digest", told=counted))
    content = await report.content(
        database, clock, record=record, figures=figures, development=found
    )
    sponsor = report.build(content, [])
    markdown, word = to_markdown(sponsor, names), to_docx(sponsor, names)
    assert_holds_shared_stories(told, markdown, word)
    assert "1 overdue." in markdown and markdown_escape(action) in markdown
    scope = record.stages["scope"]
    for key in ("aims", "benefits", "outputs"):
        if is_answered(SCOPE.question(key), scope.answers):
            for piece in fragments(SCOPE.question(key), scope.answers[key]):
                assert markdown_escape(piece) in markdown
                assert piece in "\n".join(t for _, t in docx_text(word))

    # The closing celebration.
    closed = await closing.close_community(
        database,
        clock,
        team_id=community.team_id,
        community_id=community.id,
        user_id=ASHA,
        submitted={
            "reason": "concluded",
            "closing_date": (clock.now().date() + timedelta(days=7)).isoformat(),
            "capture_days": "3",
        },
        recipient_channel=None,
        reminder_days=(),
    )
    celebration = await closing.celebrate(
        database, clock, team_id=community.team_id, closure_id=closed.closure.id or 0
    )
    text_, blocks = celebration_text(celebration)
    assert check_message({"text": text_, "blocks": blocks}) == []


@settings(max_examples=8, deadline=None)
@given(answers=communities())
def test_the_pictures_draw_any_stakeholders(answers: dict[str, dict[str, Any]]) -> None:
    """The pictures, from any stakeholders the governance stage lists (drawing takes a while:
    fewer examples), each with alt text Slack takes."""
    from bot.services.health import Week
    from bot.services.members import Level
    from bot.services.pictures import stakeholders_of

    start = datetime(2027, 1, 4, tzinfo=UTC)
    weeks = [
        Week(start + timedelta(weeks=n), members=n + 1, active=n, messages=n) for n in range(3)
    ]
    drawn = draw_all(
        "A community",
        weeks,
        dict.fromkeys(Level, 2),
        stakeholders_of(answers["governance"]),
        "Europe/London",
    )
    for picture in drawn:
        assert picture.png.startswith(b"\x89PNG") and 0 < len(picture.alt_text) <= 1000
