"""Fit for the world outside Slack (issue 15, item 5): an invitation to paste into an email,
closed communities apart in the directory, people from outside the workspace in the members
stage, the roster's levels, the checklist's gaps in `/cop status`, a searchable time zone and
a number for days."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from sqlalchemy import text
from sqlmodel import select

from bot.catalogue import (
    GOVERNANCE,
    MEMBERS,
    POLICY_AREAS,
    ROLES,
    SCOPE,
    SETUP_STAGES,
    WAYS_OF_WORKING,
)
from bot.clock import ManualClock
from bot.services.communities import community_by_id
from bot.services.document import Line, to_markdown
from bot.services.health import current_figures
from bot.services.terms import build as build_terms
from bot.services.writing import gaps
from bot.text import markdown_escape
from fakeslack import FakeSlack
from fakeslack.requests import NotSubmittable, state_values
from sandbox.sandbox import Sandbox
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Closure, Membership
from storage.repositories import closures as closure_rows
from tests.conftest import ASHA, BEN, CARMEN, NOOR, TEAM, Cultivate, reset_postgres
from tests.pages import Page, sandbox_on_the_test_database  # noqa: F401 (a fixture)
from tests.steps import (
    RANDOM,
    add_items,
    answer,
    buttons,
    choose_level,
    click_in,
    joined,
    level_of,
    open_stage,
    revisions,
    roster_view,
    rows,
    said,
    start_community,
    status_blocks,
)

ARCHIVE = "https://example.slack.com/files/U0ASHA/F0ARCHIVE/housing-archive.md"


async def close_directly(cultivate: Cultivate, clock: ManualClock, *, archive: str | None) -> None:
    """A closed community, as `/cop close` leaves it (closing itself is tested elsewhere)."""
    async with cultivate.database.session() as session:
        assert await closure_rows.mark_closed(
            session, team_id=TEAM, community_id=1, now=clock.now()
        )
        session.add(
            Closure(
                team_id=TEAM,
                community_id=1,
                reason="concluded",
                closing_date=date(2026, 12, 31),
                capture_days=14,
                closed_by=ASHA,
                started_at=clock.now(),
                archive_permalink=archive,
            )
        )


async def test_the_directory_lists_closed_communities_apart_with_their_archive_and_no_join(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    # Liam is not in Data's channel (had he been there at its start, he would belong).
    slack.workspace.leave("C0DATA", "U0LIAM")
    await start_community(cultivate, name="Data", channel="C0DATA", user=BEN, timezone="UTC")
    await close_directly(cultivate, clock, archive=ARCHIVE)

    await cultivate.command("communities", user="U0LIAM", channel=RANDOM)
    blocks: list[dict[str, Any]] = (await cultivate.ephemeral())["blocks"]
    texts = [b["text"]["text"] for b in blocks if b.get("text")]
    closed_at = next(i for i, t in enumerate(texts) if t.startswith("*Closed communities*"))
    housing = next(i for i, t in enumerate(texts) if "*Housing policy*" in t)
    data = next(i for i, t in enumerate(texts) if "*Data*" in t)
    assert data < closed_at < housing  # the open one first, the closed one in its own section
    assert f"<{ARCHIVE}|Read its archive>" in texts[housing]
    # Only Data can be joined: the closed community has no button at all.
    assert [b["value"] for b in buttons(blocks)] == ["2"]

    # A Join forged for the closed community is refused where it is saved.
    reply = await cultivate.click(
        {"action_id": "directory_join:1", "type": "button", "value": "1"},
        user="U0LIAM",
        channel=RANDOM,
        message={"ts": "1.1", "blocks": blocks},
    )
    assert reply.status == 200
    told = await slack.wait_for("response_url", count=2)
    assert "has closed, so it takes no new members" in told[-1].args["text"]
    assert slack.calls_to("conversations.invite") == []


async def test_a_closed_community_without_a_published_archive_says_so(
    cultivate: Cultivate, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    await close_directly(cultivate, clock, archive=None)
    await cultivate.command("communities", user="U0LIAM", channel=RANDOM)
    blocks = (await cultivate.ephemeral())["blocks"]
    assert buttons(blocks) == []
    assert "archive has not been published yet" in str(blocks)
    assert "Communities of practice you can join" not in str(blocks)


# -- the invitation to copy -----------------------------------------------------------------


async def copy_text(cultivate: Cultivate, count: int = 1) -> str:
    await cultivate.command("invite")
    view = await cultivate.opened_view("invitation_form", count=count)
    (copy,) = [b for b in view["blocks"] if b.get("block_id") == "copy"]
    assert copy["text"]["type"] == "plain_text"  # shown, and copied, exactly as it is
    return str(copy["text"]["text"])


async def test_the_invitation_to_copy_is_plain_text_with_real_names_and_links(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await start_community(cultivate, timezone="UTC")
    await answer(cultivate, SCOPE, aims="Share what works", benefits="Fewer mistakes")
    await answer(cultivate, ROLES, coordinators=[ASHA, NOOR])
    text = await copy_text(cultivate)
    assert text.startswith("Join Housing policy, a community of practice\nShare what works")
    assert "What you'll get\nFewer mistakes" in text
    assert (
        "Anyone may join: open #housing-policy "
        "(https://cultivate-sandbox.slack.com/archives/C0HOUSING) in Slack" in text
    )
    assert "Questions? Ask Asha Raman or Noor Haddad." in text
    for markup in (":seedling:", "*", "<#", "<@", "`"):
        assert markup not in text
    assert {c.args["user"] for c in slack.calls_to("users.info") if c.ok} >= {ASHA, NOOR}

    # By invitation: how to ask, in words that work outside Slack, and still the link.
    await answer(cultivate, MEMBERS, membership="invitation")
    text = await copy_text(cultivate, count=2)
    assert "Membership is by invitation: in Slack, type /cop communities" in text
    assert "Its channel: #housing-policy (https://cultivate-sandbox.slack.com/archives/" in text
    assert "*" not in text and "<" not in text


async def test_the_invitation_opens_without_names_when_slack_will_not_say(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await start_community(cultivate, timezone="UTC")
    slack.faults.fail_next("users.info", "user_not_found", times=5)
    text = await copy_text(cultivate)
    assert "Questions? Ask the coordinators." in text
    assert "U0ASHA" not in text


# -- gaps in /cop status --------------------------------------------------------------------


async def test_status_shows_the_gaps_unanswered_questions_and_policies_not_agreed(
    cultivate: Cultivate,
) -> None:
    await start_community(cultivate, timezone="UTC")
    agreed = [
        {"area": area.value, "approach": "Written down", "status": "agreed"}
        for area in POLICY_AREAS
        if area.value != "copyright"
    ]
    await add_items(
        cultivate,
        WAYS_OF_WORKING,
        "policies",
        [*agreed, {"area": "copyright", "approach": "Ask legal", "status": "draft"}],
    )
    blocks = await status_blocks(cultivate, user=BEN)
    (gaps,) = [
        b["text"]["text"] for b in blocks if b.get("text", {}).get("text", "").startswith("*Gaps:*")
    ]
    questions = sum(len(stage.questions) for stage in SETUP_STAGES)
    # Every question but two (the coordinators, set at the start, and the policies), and the
    # one policy still a draft.
    assert gaps.startswith(f"*Gaps:* {questions - 2 + 1} gaps\n")
    assert gaps.split("\n")[1] == "• Purpose: Aims, not answered yet."
    assert "more." in gaps  # the rest counted, not listed

    await answer(cultivate, SCOPE, **{q.key: "Yes" for q in SCOPE.questions})
    await answer(cultivate, GOVERNANCE, decisions="By consensus")
    blocks = await status_blocks(cultivate, user=BEN, count=2)
    (gaps,) = [
        b["text"]["text"] for b in blocks if b.get("text", {}).get("text", "").startswith("*Gaps:*")
    ]
    assert "Purpose" not in gaps and "Decisions and accountability" not in gaps
    assert f"{questions - 2 - len(SCOPE.questions) - 1 + 1} gaps" in gaps

    # Past the first lines shown, the draft policy is still a gap; the agreed ones are not.
    everything = ["".join(map(str, line)) for line in await _gaps_of(cultivate)]
    assert "Policies: Copyright, not yet agreed." in everything
    assert not any("Privacy" in line for line in everything)


async def _gaps_of(cultivate: Cultivate) -> list[Line]:
    record = await community_by_id(cultivate.database, team_id=TEAM, community_id=1)
    return gaps(record)


# -- a searchable time zone, a number of days -----------------------------------------------


async def test_the_time_zone_is_searched_and_cultivate_answers_the_options(
    cultivate: Cultivate,
) -> None:
    await cultivate.command("start", user=CARMEN)
    view = await cultivate.opened_view("community_start")
    (zone,) = [b for b in view["blocks"] if b.get("block_id") == "timezone"]
    assert zone["element"]["type"] == "external_select"
    assert zone["element"]["initial_option"]["value"] == "America/New_York"  # Carmen's own

    reply = await cultivate.suggest(view, "timezone", "lond", user=CARMEN)
    assert reply.status == 200, reply.body
    offered = [o["value"] for o in reply.json["options"]]
    assert offered[0] == "Europe/London"
    assert all("lond" in v.lower() for v in offered)
    reply = await cultivate.suggest(view, "timezone", "new york", user=CARMEN)
    assert [o["value"] for o in reply.json["options"]] == ["America/New_York"]
    reply = await cultivate.suggest(view, "timezone", "a", user=CARMEN)
    assert len(reply.json["options"]) == 100  # Slack shows no more than 100
    assert (await cultivate.suggest(view, "timezone", "Mars", user=CARMEN)).json["options"] == []

    # A forged zone is refused on the field; a chosen one is kept.
    refused = await cultivate.submit(view, {"timezone": {"timezone": "Mars/Base"}}, user=CARMEN)
    assert "time zone" in refused.json["errors"]["timezone"]
    saved = await cultivate.submit(view, {"timezone": {"timezone": "Europe/London"}}, user=CARMEN)
    assert saved.status == 200 and saved.body == ""
    record = await community_by_id(cultivate.database, team_id=TEAM, community_id=1)
    assert record.community.timezone == "Europe/London"

    await cultivate.command("meeting", user=CARMEN)
    meeting = await cultivate.opened_view("meeting_form")
    (zone,) = [b for b in meeting["blocks"] if b.get("block_id") == "timezone"]
    assert zone["element"]["type"] == "external_select"
    assert zone["element"]["initial_option"]["value"] == "Europe/London"
    reply = await cultivate.suggest(meeting, "timezone", "kolk", user=CARMEN)
    assert [o["value"] for o in reply.json["options"]] == ["Asia/Kolkata"]


async def test_days_to_share_is_a_number_input_checked_where_it_is_saved(
    cultivate: Cultivate,
) -> None:
    await start_community(cultivate, timezone="UTC")
    await cultivate.command("close")
    view = await cultivate.opened_view("closure_form")
    (days,) = [b for b in view["blocks"] if b.get("block_id") == "capture_days"]
    element = days["element"]
    assert element["type"] == "number_input" and element["is_decimal_allowed"] is False
    assert (element["min_value"], element["max_value"], element["initial_value"]) == (
        "1",
        "90",
        "14",
    )
    # Slack's client lets no one submit a word or a number out of range...
    for typed in ("two weeks", "0", "91"):
        with pytest.raises(NotSubmittable):
            state_values({"capture_days": {"capture_days": typed}}, view)
    # ...and a forged submission carrying one is refused, naming the field.
    for forged in ("²", "0", "365", "7.5"):
        reply = await cultivate.submit(
            view,
            {
                "reason": {"reason": "concluded"},
                "capture_days": {"capture_days": {"type": "number_input", "value": forged}},
            },
        )
        assert reply.json["errors"]["capture_days"] == "A whole number from 1 to 90."
    record = await community_by_id(cultivate.database, team_id=TEAM, community_id=1)
    assert record.community.closed_at is None


def test_the_manifest_says_where_slack_asks_for_options() -> None:
    manifest = yaml.safe_load(Path("manifest.yml").read_text())
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["message_menu_options_url"] == interactivity["request_url"]


# -- people outside the workspace in the members stage ---------------------------------------


async def test_contributors_experts_and_candidates_may_be_people_outside_the_workspace(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await start_community(cultivate, timezone="UTC")
    form = await open_stage(cultivate, MEMBERS)
    # The three questions are lists of people now, each with its own editor.
    for key, noun in (
        ("contributors", "contributor"),
        ("experts", "expert"),
        ("possible_coordinators", "candidate"),
    ):
        (add,) = [
            e
            for b in form["blocks"]
            if b.get("block_id") == f"list_actions.{key}"
            for e in b["elements"]
        ]
        assert add["text"]["text"] == f"Add {noun}"
        assert key not in {b.get("block_id") for b in form["blocks"] if b["type"] == "input"}

    await click_in(cultivate, form, "list_add:experts")
    pushed = await cultivate.opened_view("stage_list_item", method="views.push")
    assert [b["block_id"] for b in pushed["blocks"]] == ["user", "name", "organisation"]
    # Neither someone in Slack nor a name: refused, naming the first field.
    reply = await cultivate.submit(pushed, {"organisation": {"organisation": "Shelter Lab"}})
    assert "type the name of someone outside it" in reply.json["errors"]["user"]
    assert await revisions(cultivate, "members") == []
    outsider = {
        "name": {"name": "Dr Amina <!here> Yusuf"},
        "organisation": {"organisation": "Shelter Lab"},
    }
    assert (await cultivate.submit(pushed, outsider)).body == ""

    await slack.wait_for("views.update")
    await click_in(cultivate, slack.views[form["id"]], "list_add:experts")
    pushed = await cultivate.opened_view("stage_list_item", method="views.push", count=2)
    assert (await cultivate.submit(pushed, {"user": {"user": BEN}})).body == ""
    saved = (await revisions(cultivate, "members"))[-1].answers
    assert saved == {
        "experts": [
            {"name": "Dr Amina <!here> Yusuf", "organisation": "Shelter Lab"},
            {"user": BEN},
        ]
    }

    # The form lists them, numbered as its edit menu names them, the typed name escaped.
    await slack.wait_for("views.update", count=2)
    refreshed = slack.views[form["id"]]
    (listing,) = [b for b in refreshed["blocks"] if b.get("block_id") == "list.experts"]
    assert "1. *Dr Amina &lt;!here&gt; Yusuf* (Shelter Lab)\n2. <@U0BEN>" in listing["text"]["text"]
    (menu,) = [
        e
        for b in refreshed["blocks"]
        if b.get("block_id") == "list_actions.experts"
        for e in b["elements"]
        if e["type"] == "static_select"
    ]
    assert [o["text"]["text"] for o in menu["options"]] == [
        "1. Dr Amina <!here> Yusuf",
        "2. someone in Slack",
    ]

    # The status's progress and gaps count them as an answer.
    blocks = await status_blocks(cultivate, user=CARMEN)
    shown = str(blocks)
    assert "*3. Members* — 1/7 answered" in shown
    missing = ["".join(map(str, line)) for line in await _gaps_of(cultivate)]
    assert "Membership: Subject experts, not answered yet." not in missing  # answered
    assert "Membership: Major contributors, not answered yet." in missing

    # The terms of reference, a document that leaves Slack, names both.
    record = await community_by_id(cultivate.database, team_id=TEAM, community_id=1)
    names = {BEN: "Ben Okafor", ASHA: "Asha Raman"}
    terms = to_markdown(
        build_terms(record, version=1, drafted_on=date(2026, 12, 1)), names.__getitem__
    )
    assert f"- {markdown_escape('Dr Amina <!here> Yusuf')} (Shelter Lab)" in terms
    assert "- Ben Okafor" in terms


async def test_saved_lists_of_slack_users_become_lists_of_people(database_url: str) -> None:
    """Answers saved before: each Slack id becomes a person item; the history too."""
    db = Database(database_url)
    if not db.is_sqlite:
        await reset_postgres(db)
    await upgrade(db, "0013")
    async with db.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO communities (id, team_id, channel_id, name, domain, timezone, "
                "created_by, created_at, is_private) VALUES (1, 'T1', 'C1', 'Housing', '', "
                "'UTC', 'U1', '2026-12-01 09:00:00', false)"
            )
        )
        for version, experts in ((1, ["U1"]), (2, ["U1", "U2"])):
            await connection.execute(
                text(
                    "INSERT INTO stage_revisions (team_id, community_id, stage, version, "
                    "answers, edited_by, edited_at) VALUES ('T1', 1, 'members', :v, :a, 'U1', "
                    "'2026-12-01 09:00:00')"
                ),
                {"v": version, "a": json.dumps({"experts": experts, "membership": "open"})},
            )
    await upgrade(db)
    async with db.engine.connect() as connection:
        rows = (
            await connection.execute(text("SELECT answers FROM stage_revisions ORDER BY version"))
        ).all()
    answers = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]
    assert answers == [
        {"experts": [{"user": "U1"}], "membership": "open"},
        {"experts": [{"user": "U1"}, {"user": "U2"}], "membership": "open"},
    ]
    await db.dispose()


@pytest.fixture
async def page(sandbox: Sandbox) -> AsyncIterator[Page]:
    async with aiohttp.ClientSession() as http:
        yield Page(sandbox, http)


async def test_the_sandbox_page_searches_time_zones_as_slack_would(page: Page) -> None:
    """The page sends what is typed to the app as block_suggestion and lists its answer."""
    assert (await page.type("/cop start")).json == {"status": 200}
    view = await page.modal("community_start")
    where = {"as": ASHA, "view_id": view["id"], "block_id": "timezone", "action_id": "timezone"}
    found = await page.post("suggest", {**where, "typed": "kolk"})
    assert found.status == 200
    assert [o["value"] for o in found.json["options"]] == ["Asia/Kolkata"]
    # Nothing is asked before the element's min_query_length, as in Slack.
    assert (await page.post("suggest", {**where, "typed": ""})).json["options"] == []
    chosen = {"timezone": {"timezone": "Asia/Kolkata"}}
    saved = await page.post("submit", {"as": ASHA, "view_id": view["id"], "values": chosen})
    assert saved.json == {"status": 200, "errors": {}}


# -- the roster's levels are the members stage's ----------------------------------------------


async def test_the_roster_uses_the_levels_the_members_stage_defined(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    await add_items(
        cultivate,
        MEMBERS,
        "levels",
        [
            {"name": "Steering group", "description": "Sets the direction"},
            {"name": "Members <all>"},
        ],
    )
    await joined(cultivate, BEN)
    for _ in range(8):  # Noor, there from the start, posts most days: the most involved
        await said(cultivate, NOOR, "hello")
        await cultivate.settled()
        clock.advance(timedelta(days=1))
    await cultivate.settled()

    view = await roster_view(cultivate)
    shown = rows(view)  # Carmen and Noor, there at the start, were recorded then
    assert {user: level_of(block) for user, block in shown.items()} == {
        ASHA: "Coordinator",
        NOOR: "Steering group",
        BEN: "Members &lt;all&gt;",  # the least active: the last level
        CARMEN: "Members &lt;all&gt;",
    }
    select_ben = shown[BEN]["accessory"]
    assert [o["value"] for o in select_ben["options"]] == [
        "suggested",
        "Steering group",
        "Members <all>",
    ]

    await choose_level(cultivate, view, select_ben["action_id"], "Steering group")
    await slack.wait_for("views.update")
    assert level_of(rows(slack.views[view["id"]])[BEN]) == "Steering group"
    # A default level the stage did not define is not one of this community's: refused.
    await choose_level(cultivate, view, select_ben["action_id"], "core")
    await cultivate.settled()
    async with cultivate.database.session() as session:
        ben = (await session.exec(select(Membership).where(Membership.user_id == BEN))).one()
    assert ben.level == "Steering group"

    # Status and the health figures count by the same levels.
    blocks = await status_blocks(cultivate, user=CARMEN)
    (members,) = [
        b["text"]["text"]
        for b in blocks
        if b.get("text", {}).get("text", "").startswith("*Members:*")
    ]
    # The community's own level names are shown as written, never made to agree wrongly.
    assert "(1 coordinator, Steering group: 2, Members &lt;all&gt;: 1)" in members
    record = await community_by_id(cultivate.database, team_id=TEAM, community_id=1)
    figures, _ = await current_figures(cultivate.database, clock, record)
    assert [(level.label, n) for level, n in figures.levels.items()] == [
        ("Coordinator", 1),
        ("Steering group", 2),
        ("Members <all>", 1),
    ]


async def test_without_levels_defined_the_roster_has_the_default_four(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await start_community(cultivate, timezone="UTC")
    await joined(cultivate, BEN)
    await cultivate.settled()
    select_ben = rows(await roster_view(cultivate))[BEN]["accessory"]
    assert [o["value"] for o in select_ben["options"]] == [
        "suggested",
        "core",
        "active",
        "peripheral",
    ]
