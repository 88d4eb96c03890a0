"""`/cop forget`: a person sees what Cultivate holds about them and has it erased. Afterwards
the community's export, archive, report, health figures, roster and App Home name them nowhere,
and its figures' totals are what they were."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import JSON, String, select
from sqlmodel import SQLModel

from bot.catalogue import ROLES
from bot.clock import ManualClock
from bot.services import health, stories
from bot.services.erasure import NOT_PEOPLE, PERSON_COLUMNS
from bot.stand_ins import is_erased
from fakeslack import FakeSlack
from storage.db import Database
from storage.models import KnowledgeCapture, LibraryEntry, MemberProfile, Membership, Rsvp
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, TEAM, Cultivate
from tests.steps import (
    announcements,
    as_values,
    close,
    every_member_invited,
    joined,
    launch,
    left,
    meeting_values,
    open_stage,
    plan_meeting,
    posted,
    press,
    said,
    save_to_library,
    share,
    start_community,
    welcome_dms,
)

SHARED = "A checklist for tenancy reviews"
STORY = "The clinic changed how our team handles arrears"
FORGET = "forget_knowledge"


def test_every_column_that_can_name_a_person_is_in_the_catalogue() -> None:
    """A new table or column holding a Slack user id must say what erasure does to it."""
    covered = {(spec.model.__tablename__, spec.column) for spec in PERSON_COLUMNS}
    for table in SQLModel.metadata.sorted_tables:
        for column in table.c:
            name = column.name
            if name == "team_id":
                continue
            looks_like_a_person = (
                name == "user_id"
                or name.endswith(("_by", "_user_id", "recipients"))
                or name in ("organiser", "facilitator", "payload", "answers")
                or isinstance(column.type, JSON)
                or (isinstance(column.type, String) and column.type.length == 32)
            )
            if looks_like_a_person:
                assert (table.name, name) in covered | NOT_PEOPLE, (
                    f"{table.name}.{name} may name a person: add it to PERSON_COLUMNS in "
                    "bot/services/erasure.py (or to NOT_PEOPLE if it never does)"
                )


async def everything_stored(database: Database) -> str:
    """Every row of every table, as text."""
    rows = []
    async with database.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await connection.execute(select(table))).all():
                rows.append(f"{table.name}: {tuple(row)}")
    return "\n".join(rows)


def totals(figures: health.HealthFigures) -> dict[str, Any]:
    return {
        "members": figures.members,
        "joined": figures.joined,
        "left": figures.left,
        "active": figures.active,
        "levels": dict(figures.levels),
        "meetings": len(figures.meetings),
        "attendance": figures.attendance,
    }


async def figures_now(cultivate: Cultivate, clock: ManualClock) -> health.HealthFigures:
    period = health.trailing(health.Cadence.MONTHLY, clock.now(), "UTC")
    return await health.figures(
        cultivate.database, clock, team_id=TEAM, community_id=1, period=period
    )


def seen_in_slack(slack: FakeSlack, files_before: int) -> str:
    """What the app sent since the calls were last cleared, and the files uploaded since."""
    calls = [json.dumps(c.args, default=str, ensure_ascii=False) for c in slack.calls]
    files = [
        f"{f.title}\n{f.filename}\n{f.content.decode(errors='replace')}"
        for f in slack.files[files_before:]
        if not f.filename.endswith(".png")
    ]
    return "\n".join(calls + files)  # canvases made since are among the calls


async def a_members_whole_life(cultivate: Cultivate, slack: FakeSlack, clock: ManualClock) -> None:
    """Carmen is named a facilitator, introduces herself, talks, RSVPs, tells a value story
    (named), shares what she learned at the closure, and leaves."""
    await start_community(cultivate, timezone="UTC")
    for person in (BEN, CARMEN, NOOR):
        await joined(cultivate, person)
    await cultivate.settled()
    await cultivate.tick()
    dm = welcome_dms(slack, CARMEN)[-1]
    # Named facilitators once welcomed: a facilitator named first is not welcomed as new.
    roles = await open_stage(cultivate, ROLES)
    await cultivate.submit(
        roles, as_values({"coordinators": [ASHA], "facilitators": [BEN, CARMEN]})
    )
    await cultivate.settled()
    await cultivate.tick()
    button = next(e for b in dm.args["blocks"] if b["type"] == "actions" for e in b["elements"])
    await cultivate.click(
        {"action_id": button["action_id"], "type": "button", "value": button["value"]},
        user=CARMEN,
        channel=dm.response["channel"],
        message=dm.response["message"],
    )
    reply = await cultivate.submit(
        await cultivate.opened_view("introduction"),
        {
            "role": {"role": "Researcher"},
            "organisation": {"organisation": "Northside Housing Trust"},
            "interests": {"interests": "Tenancy law"},
            "hopes_to_give": {"hopes_to_give": "Case studies"},
            "hopes_to_get": {"hopes_to_get": "Contacts"},
        },
        user=CARMEN,
    )
    assert reply.json["response_action"] == "update"
    for words in ("Hello all", "Here is the case study"):
        await said(cultivate, CARMEN, words)
    await said(cultivate, BEN, "Welcome")
    await plan_meeting(cultivate, meeting_values(day="2026-12-03"))
    [message] = announcements(slack)
    session_id = next(
        e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    for person in (CARMEN, BEN):
        await cultivate.click(
            {"action_id": "rsvp:going", "type": "button", "value": session_id},
            user=person,
            channel=HOUSING,
            message=message,
        )
    await cultivate.settled()
    await cultivate.tick()
    # The terms of reference, drafted with her display name among the facilitators; she agrees.
    terms = await launch(cultivate, day="2026-12-04")
    drafted = next(f for f in reversed(slack.files) if f.filename.endswith(".md"))
    assert "Carmen" in drafted.content.decode()
    await press(cultivate, terms, "terms_agree", user=CARMEN)
    await cultivate.settled()
    # Her value story, to be shared with her name (as the form saves it).
    await stories.save_story(
        cultivate.database,
        clock,
        team_id=TEAM,
        community_id=1,
        user_id=CARMEN,
        submitted={"reframing": STORY, "consent": "named"},
    )
    # Ben keeps her message in the library (her words); she keeps one of his naming her.
    hers = posted(slack, CARMEN, "Here is the case study")
    assert (await save_to_library(cultivate, hers, user=BEN)).json["response_action"] == "update"
    his = posted(slack, BEN, f"Thanks <@{CARMEN}>, that helped")
    saved = await save_to_library(cultivate, his, user=CARMEN, title="Thanks", tags="help")
    assert saved.json["response_action"] == "update"
    await cultivate.settled()
    await cultivate.tick()
    await close(cultivate)
    await every_member_invited(cultivate, slack)
    await share(cultivate, CARMEN, achievements=SHARED)
    await left(cultivate, CARMEN)
    await cultivate.settled()
    await cultivate.tick()


async def test_a_member_who_took_part_and_left_is_named_nowhere_after_forget(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await a_members_whole_life(cultivate, slack, clock)
    async with cultivate.database.session() as session:
        assert (await session.exec(select(Rsvp).where(Rsvp.user_id == CARMEN))).first()
        assert (await session.exec(select(KnowledgeCapture))).first()
    before = totals(await figures_now(cultivate, clock))
    assert before["members"] == 3  # Carmen has left

    # She sees what is held about her, then erases it, keeping what she shared.
    await cultivate.command("forget", user=CARMEN, channel="C0GENERAL")
    view = await cultivate.opened_view("forget_form")
    shown = json.dumps(view["blocks"], ensure_ascii=False)
    assert "Housing policy" in shown and "facilitator" in shown
    assert "your answers to meetings (RSVPs): 1" in shown
    assert "days with your message counts: 1" in shown
    assert "your value stories: 1" in shown
    assert "Northside Housing Trust" in shown  # her introduction, as she gave it
    assert "only coordinator" not in shown
    reply = await cultivate.submit(view, {FORGET: {FORGET: "keep"}}, user=CARMEN)
    assert reply.json["response_action"] == "update", reply.body

    # Nothing stored names her; what counted still counts.
    stored = await everything_stored(cultivate.database)
    for name in (CARMEN, "Carmen", "Northside", STORY):
        assert name not in stored, name
    assert totals(await figures_now(cultivate, clock)) == before
    async with cultivate.database.session() as session:
        kept = (await session.exec(select(KnowledgeCapture))).scalars().all()
        profiles = (await session.exec(select(MemberProfile))).scalars().all()
        memberships = (await session.exec(select(Membership))).scalars().all()
    assert [c.answers for c in kept] == [{"achievements": SHARED}]
    assert all(is_erased(c.user_id) for c in kept)
    assert [is_erased(p.user_id) for p in profiles] == [True]
    assert [(p.role, p.organisation) for p in profiles] == [("", "")]
    assert sum(is_erased(m.user_id) for m in memberships) == 1
    # Her words left the library; what she kept stays, kept by "a former member".
    async with cultivate.database.session() as session:
        library = (await session.exec(select(LibraryEntry))).scalars().all()
    assert [(e.author, e.text) for e in library] == [(BEN, "Thanks a former member, that helped")]
    assert is_erased(library[0].saved_by)

    # What the coordinators make of the community now names her nowhere.
    slack.clear()
    files_before = len(slack.files)
    for command in ("export", "archive", "report", "health", "roster", "status"):
        await cultivate.command(command)
    await cultivate.event({"type": "app_home_opened", "user": ASHA, "tab": "home"})
    await slack.wait_for("files.completeUploadExternal", count=3)
    await slack.wait_for("views.publish")
    await cultivate.settled()
    await cultivate.tick()
    seen = seen_in_slack(slack, files_before)
    assert "community-archive.md" in seen and "community-record.json" in seen
    assert SHARED in seen  # kept, without her name
    assert STORY not in seen  # her story is deleted, whatever she chose for the knowledge
    for name in (CARMEN, "Carmen", "Díaz", "Northside"):
        assert name not in seen, seen[seen.index(name) - 300 : seen.index(name) + 100]
    assert "<@erased-" not in seen  # a stand-in is never shown as a person


async def test_forgetting_can_remove_what_was_shared_and_warns_a_sole_coordinator(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await a_members_whole_life(cultivate, slack, clock)

    # The only coordinator is told the community would be left without one.
    await cultivate.command("forget", user=ASHA)
    view = await cultivate.opened_view("forget_form")
    assert "only coordinator of *Housing policy*" in json.dumps(view["blocks"])

    await cultivate.command("forget", user=CARMEN)
    view = await cultivate.opened_view("forget_form", count=2)
    refused = await cultivate.submit(view, {}, user=CARMEN)
    assert refused.json["response_action"] == "errors" and FORGET in refused.json["errors"]
    assert CARMEN in await everything_stored(cultivate.database)  # nothing erased

    reply = await cultivate.submit(view, {FORGET: {FORGET: "remove"}}, user=CARMEN)
    assert reply.json["response_action"] == "update"
    stored = await everything_stored(cultivate.database)
    assert CARMEN not in stored and SHARED not in stored

    # Asked again, nothing is held about her.
    await cultivate.command("forget", user=CARMEN)
    view = await cultivate.opened_view("forget_form", count=3)
    assert "holds nothing about you" in json.dumps(view["blocks"])
    assert view.get("submit") is None


@pytest.mark.parametrize("value", ["", "everything", None])
async def test_a_forged_choice_erases_nothing(cultivate: Cultivate, value: str | None) -> None:
    await start_community(cultivate)
    await cultivate.command("forget")
    view = await cultivate.opened_view("forget_form")
    reply = await cultivate.submit(view, {FORGET: {FORGET: value}} if value else {})
    assert reply.json["response_action"] == "errors"
    assert ASHA in await everything_stored(cultivate.database)
