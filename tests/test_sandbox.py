"""The sandbox's JSON API, driven as its page drives it, with no browser: every action reaches
the app as the signed request Slack would send, and the answers land where Slack shows them."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import ManualClock
from bot.dispatch import DELIVERY_FAILED
from bot.settings import SANDBOX_DATABASE_URL, load_sandbox_settings
from fakeslack import SlackRequests
from sandbox import Sandbox, demo, running_sandbox
from sandbox.api import STATIC
from sandbox.sandbox import MESSAGE_EVENTS, MESSAGE_SHORTCUTS
from storage.db import Database
from storage.repositories import scheduled
from tests.conftest import ASHA, BEN, HOUSING, NOOR, TEAM
from tests.pages import Page, State, sandbox_on_the_test_database, texts  # noqa: F401 (a fixture)


@pytest.fixture
async def page(sandbox: Sandbox) -> AsyncIterator[Page]:
    async with aiohttp.ClientSession() as http:
        yield Page(sandbox, http)


# -- the page itself -----------------------------------------------------------------------


async def test_the_page_is_served_by_the_app_and_fetches_nothing_from_elsewhere(
    page: Page,
) -> None:
    async with page.http.get(page.sandbox.url) as response:
        assert response.status == 200
        html = await response.text()
    for asset in ("/sandbox/static/sandbox.js", "/sandbox/static/sandbox.css"):
        assert asset in html
        async with page.http.get(f"{page.sandbox.base_url}{asset}") as response:
            assert response.status == 200
    for name in ("index.html", "sandbox.js", "sandbox.css"):
        # No address of another machine anywhere: no CDN, no web font, no analytics.
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", (STATIC / name).read_text())
    async with page.http.get(f"{page.sandbox.base_url}/healthz") as response:
        assert response.status == 200


# -- the lifecycle, on Slack's path ----------------------------------------------------------


async def test_start_a_community_then_see_its_status(page: Page) -> None:
    assert (await page.type("/cop start")).json == {"status": 200}
    view = await page.modal("community_start")
    assert (await page.state(BEN))["modal"] == []  # Asha's form, not Ben's

    refused = await page.post(
        "submit",
        {"as": ASHA, "view_id": view["id"], "values": {"timezone": {"timezone": "Mars/Base"}}},
    )
    assert refused.json["status"] == 200
    assert set(refused.json["errors"]) == {"timezone"}
    assert [v["id"] for v in (await page.state())["modal"]] == [view["id"]]  # still open

    values = {"domain": {"domain": "Housing <policy>"}, "timezone": {"timezone": "Europe/London"}}
    saved = await page.post("submit", {"as": ASHA, "view_id": view["id"], "values": values})
    assert saved.json == {"status": 200, "errors": {}}
    state = await page.until(lambda s: s["messages"][HOUSING] and s)
    assert state["modal"] == []
    assert "made this channel the community of practice" in texts(state["messages"][HOUSING])
    assert "Housing &lt;policy&gt;" in texts(state["messages"][HOUSING])

    assert (await page.type("/cop status")).json == {"status": 200}
    [status] = await page.until(lambda s: s["ephemerals"])
    assert (status["channel"], status["user"]) == (HOUSING, ASHA)
    assert status["text"] == "How Housing policy is doing"
    assert any(b["type"] == "section" for b in status["blocks"])
    assert (await page.state(BEN))["ephemerals"] == []  # only Asha sees her answer

    # (A slow machine may add "answered after 4.2s…" to an entry: Slack would have given up.)
    whats = [d["what"].split(" (answered")[0] for d in (await page.state())["deliveries"]]
    assert whats == [
        "slash command /cop start",
        "view_submission community_start",
        "view_submission community_start",
        "slash command /cop status",
    ]


async def test_an_answer_in_the_ack_is_shown_to_the_person_who_typed(page: Page) -> None:
    await page.type("/cop help")
    [help_text] = (await page.state())["ephemerals"]
    assert "`/cop start`" in help_text["text"]


async def test_a_button_in_an_ephemeral_message_opens_a_form(page: Page) -> None:
    await page.start_community()
    await page.type("/cop status")
    [status] = await page.until(lambda s: s["ephemerals"])
    index, block = next(
        (n, b)
        for n, b in enumerate(status["blocks"])
        if b.get("accessory", {}).get("action_id", "").endswith(":scope")
    )
    clicked = await page.post(
        "action",
        {
            "as": ASHA,
            "source": {"kind": "ephemeral", "ts": status["ts"], "channel": HOUSING},
            "block_index": index,
            "block_id": block.get("block_id"),
            "action_id": block["accessory"]["action_id"],
        },
    )
    assert clicked.json == {"status": 200}
    view = await page.modal("stage_form")
    assert view["title"]["text"] == "Defining the scope"


async def test_a_pushed_form_saves_and_goes_back_to_the_form_below(page: Page) -> None:
    await page.start_community()
    await page.type("/cop governance")
    governance = await page.modal("stage_form")
    index = next(
        n
        for n, b in enumerate(governance["blocks"])
        if b.get("block_id") == "list_actions.milestones"
    )
    clicked = await page.post(
        "action",
        {
            "as": ASHA,
            "source": {"kind": "view", "view_id": governance["id"]},
            "block_index": index,
            "block_id": "list_actions.milestones",
            "action_id": "list_add:milestones",
            "values": {"decisions": {"decisions": "Typed, not saved yet"}},
        },
    )
    assert clicked.json == {"status": 200}
    item = await page.modal("stage_list_item", depth=2)

    empty = await page.post("submit", {"as": ASHA, "view_id": item["id"], "values": {}})
    assert set(empty.json["errors"]) == {"title", "due"}

    values = {
        "title": {"title": "Launch workshop"},
        "due": {"due": "2027-01-15"},
        "owner": {"owner": BEN},
    }
    saved = await page.post("submit", {"as": ASHA, "view_id": item["id"], "values": values})
    assert saved.json == {"status": 200, "errors": {}}

    def updated(state: State) -> State | None:
        stack = state["modal"]
        if len(stack) == 1 and "Launch workshop" in str(stack[0]["blocks"]):
            return dict(stack[0])
        return None

    parent = await page.until(updated)
    assert parent["id"] == governance["id"]

    closed = await page.post("close", {"as": ASHA, "view_id": parent["id"], "all": False})
    assert closed.json == {"status": None}
    assert (await page.state())["modal"] == []


async def test_the_home_tab_is_published_when_opened(page: Page) -> None:
    await page.start_community()
    assert (await page.post("home", {"as": ASHA})).json == {"status": 200}
    home = await page.until(lambda s: s["home"])
    assert home["blocks"][0]["text"]["text"] == "Your communities of practice"
    assert "Housing policy" in str(home["blocks"])


async def test_someone_joining_reaches_the_app_as_slack_sends_it(page: Page) -> None:
    await page.start_community()
    joined = await page.post("join", {"as": BEN, "channel": HOUSING})
    state = await page.state(BEN)
    housing = next(c for c in state["conversations"] if c["id"] == HOUSING)
    assert BEN in housing["members"]
    assert state["messages"][HOUSING][-1]["text"] == f"<@{BEN}> has joined the channel"
    delivery = state["deliveries"][-1]
    assert delivery["what"].startswith("event member_joined_channel")
    # Bolt verified the sandbox's signature and took the event (401 would mean it refused).
    # Once a feature listens for joins, assert what it does here (e.g. Ben's welcome DM).
    assert delivery["status"] == joined.json["status"] != 401

    again = await page.post("join", {"as": BEN, "channel": HOUSING})
    assert again.status == 400


async def test_people_the_app_invites_reach_it_as_slack_sends_them(
    page: Page, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack tells the app of everyone it invites (`member_joined_channel`, the app as the
    inviter), as it does the sub-communities of a split: so does the sandbox."""
    await page.start_community()
    sent: list[dict[str, Any]] = []
    send = sandbox._send

    async def recorded(what: str, request: tuple[str, dict[str, str]]) -> Any:
        event = json.loads(request[0])["event"]
        event.pop("event_ts")  # the moment it was sent
        sent.append(event)
        return await send(what, request)

    monkeypatch.setattr(sandbox, "_send", recorded)
    await sandbox.cultivate.bolt.client.conversations_invite(channel=HOUSING, users=BEN)
    await page.until(lambda s: s["deliveries"][-1]["what"] == "event member_joined_channel")
    await sandbox.settle()
    monkeypatch.undo()
    assert sent == [
        {
            "type": "member_joined_channel",
            "user": BEN,
            "channel": HOUSING,
            "channel_type": "C",
            "team": TEAM,
            "inviter": "U0BOT",
        }
    ]
    assert (await page.state())["deliveries"][-1]["status"] == 200

    # The app took him in: his welcome is in his messages with it.
    def welcomed(state: State) -> bool:
        dm = next((c for c in state["conversations"] if c["kind"] == "app"), None)
        said = state["messages"].get(dm["id"], []) if dm else []
        return any("Welcome to Housing policy" in m["text"] for m in said)

    assert await page.until(welcomed, viewer=BEN)


async def _schedule_a_notice(sandbox: Sandbox, due_at: datetime, what: str) -> None:
    """Something due, made the way features make them; its sender DMs the coordinators."""
    async with sandbox.cultivate.runtime.database.session() as session:
        await scheduled.schedule(
            session,
            team_id=TEAM,
            community_id=1,
            kind=DELIVERY_FAILED,
            due_at=due_at,
            payload={"what": what, "error": "channel_not_found"},
        )


async def test_time_travel_sends_what_falls_due(page: Page, sandbox: Sandbox) -> None:
    await page.start_community()
    clock = sandbox.clock
    assert isinstance(clock, ManualClock)
    started = clock.now()
    await _schedule_a_notice(sandbox, started + timedelta(days=1), "a meeting reminder")

    hour = await page.post("travel", {"seconds": 3600})
    assert hour.json["sent"] == 0
    day = await page.post("travel", {"seconds": 86400})
    assert day.json["sent"] == 1
    assert clock.now() == started + timedelta(hours=25)
    state = await page.state()
    assert state["now"] == (started + timedelta(hours=25)).timestamp()
    dm = next(c for c in state["conversations"] if c["kind"] == "app")
    assert "I couldn't deliver a meeting reminder" in texts(state["messages"][dm["id"]])
    assert state["deliveries"][-1]["what"] == "time travel +1 day: 1 sent"

    for bad in (-60, 0, "soon", True, 400 * 86400):
        assert (await page.post("travel", {"seconds": bad})).status == 400
    assert clock.now() == started + timedelta(hours=25)


async def test_the_sandbox_waits_for_what_the_heartbeat_is_sending(
    page: Page, sandbox: Sandbox
) -> None:
    # The heartbeat can claim a row a listener scheduled for now before the listener's own
    # send does; the sandbox must not move on (or its clock past the claim's lease) meanwhile.
    await page.start_community()
    await _schedule_a_notice(sandbox, sandbox.clock.now(), "a meeting announcement")
    heartbeat = asyncio.create_task(sandbox.dispatcher.run_once())
    await asyncio.sleep(0)  # the beat has begun its claim
    await sandbox.settle()
    state = await page.state()
    dms = [c["id"] for c in state["conversations"] if c["kind"] == "app"]
    said = "".join(texts(state["messages"][dm]) for dm in dms)
    assert "I couldn't deliver a meeting announcement" in said
    assert await heartbeat == 1


async def test_files_and_canvases_the_app_makes_are_readable(page: Page, sandbox: Sandbox) -> None:
    client: AsyncWebClient = sandbox.cultivate.bolt.client
    await client.files_upload_v2(
        channel=HOUSING, filename="charter.md", content="# Charter\nWe share.", title="Charter"
    )
    await client.conversations_canvases_create(
        channel_id=HOUSING, document_content={"type": "markdown", "markdown": "# Our canvas"}
    )
    state = await page.state()
    [shared] = state["files"]
    assert (shared["title"], shared["channel"]) == ("Charter", HOUSING)
    housing = next(c for c in state["conversations"] if c["id"] == HOUSING)
    [canvas] = state["canvases"]
    assert housing["canvas"] == canvas["id"]
    assert canvas["markdown"] == "# Our canvas"
    async with page.http.get(f"{page.api}/files/{shared['id']}") as response:
        assert response.status == 200
        assert await response.text() == "# Charter\nWe share."
    async with page.http.get(f"{page.api}/files/F9999999") as response:
        assert response.status == 404


async def test_typing_words_posts_them_as_that_person(page: Page) -> None:
    answer = await page.type("Hello, housing folk", viewer=BEN, channel="C0RANDOM")
    assert answer.json["posted"] is True
    [said] = (await page.state())["messages"]["C0RANDOM"]
    assert (said["user"], said["text"]) == (BEN, "Hello, housing folk")


async def health_figures(page: Page) -> str:
    """The figures of `/cop health`, as Asha (the coordinator) is shown them."""
    before = len([e for e in (await page.state())["ephemerals"] if "Community health" in str(e)])
    assert (await page.type("/cop health")).json == {"status": 200}
    shown = await page.until(
        lambda s: [e for e in s["ephemerals"] if "Community health" in str(e)][before:]
    )
    return json.dumps(shown[-1]["blocks"])


async def test_a_message_reaches_the_app_as_slack_sends_it_and_health_counts_it(
    page: Page, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    await page.start_community()
    await page.post("join", {"as": BEN, "channel": HOUSING})
    await sandbox.settle()
    assert re.search(r"\*Active:\* 0 of \d", await health_figures(page))
    sent: list[tuple[str, dict[str, Any]]] = []
    send = sandbox._send

    async def recorded(what: str, request: tuple[str, dict[str, str]]) -> Any:
        sent.append((what, json.loads(request[0]) if request[0].startswith("{") else {}))
        return await send(what, request)

    monkeypatch.setattr(sandbox, "_send", recorded)
    answer = await page.type("Our draft is in the canvas <!channel>", viewer=BEN)
    assert answer.json == {"posted": True, "status": 200}
    [(what, body)] = sent
    assert what == "event message.channels"
    said = (await page.state(BEN))["messages"][HOUSING][-1]
    assert body["type"] == "event_callback" and body["team_id"] == TEAM
    assert body["event"] == {
        "type": "message",
        "channel": HOUSING,
        "user": BEN,
        "text": "Our draft is in the canvas &lt;!channel&gt;",  # as Slack escapes it
        "ts": said["ts"],
        "event_ts": said["ts"],
        "team": TEAM,
        "channel_type": "channel",
    }
    assert (await page.state())["deliveries"][-1] == {
        "at": sandbox.clock.now().timestamp(),
        "what": "event message.channels",
        "status": 200,
    }
    await sandbox.settle()
    monkeypatch.undo()
    figures = await health_figures(page)
    assert re.search(r"\*Active:\* 1 of \d", figures)
    assert "Newcomers who haven't posted yet:* 0" in figures  # Ben has posted

    # Where the app is not a member, or in a conversation it has no subscription for (its
    # direct messages), Slack sends nothing, and neither does the sandbox.
    monkeypatch.setattr(sandbox, "_send", recorded)
    sent.clear()
    with sandbox.workspace.lock:
        sandbox.workspace.channels["C0RANDOM"].members.remove("U0BOT")
    assert (await page.type("no one hears", viewer=BEN, channel="C0RANDOM")).json == {
        "posted": True,
        "status": None,
    }
    assert (await page.type("to the app", viewer=BEN, channel="app")).json["status"] is None
    assert sent == []


async def test_events_of_a_second_run_on_the_same_database_are_not_taken_for_repeats(
    database: Database, database_url: str
) -> None:
    """The sandbox keeps its data between runs; the app remembers the id of every event it
    handled, so a run that numbered its events from 1 again would have them all skipped."""
    settings = replace(load_sandbox_settings({"DATABASE_URL": database_url}), port=0)
    async with running_sandbox(settings, database) as first, aiohttp.ClientSession() as http:
        page = Page(first, http)
        await page.type("Morning all", viewer=BEN, channel="C0RANDOM")  # its first event
        await page.start_community()
        await page.post("join", {"as": BEN, "channel": HOUSING})
        await first.settle()
    async with running_sandbox(settings, database) as second, aiohttp.ClientSession() as http:
        page = Page(second, http)
        with second.workspace.lock:
            second.workspace.channels[HOUSING].members.append(BEN)  # as the first run left it
        # Its first event, as the first run's was.
        assert (await page.type("Back again", viewer=BEN)).json == {"posted": True, "status": 200}
        await second.settle()
        assert re.search(r"\*Active:\* 1 of \d", await health_figures(page))


async def test_a_message_shortcut_from_a_messages_menu_reaches_the_app(page: Page) -> None:
    """*Save to knowledge* on a message in the channel: the app's form opens, and saving it
    keeps the message in the community's library, its author told."""
    await page.start_community()
    await page.type("We learned to ask <early>", viewer=NOOR)
    message = await page.until(
        lambda s: next((m for m in s["messages"][HOUSING] if m.get("user") == NOOR), None)
    )
    [offered] = (await page.state())["shortcuts"]
    chosen = await page.post(
        "shortcut",
        {
            "as": ASHA,
            "channel": HOUSING,
            "ts": message["ts"],
            "callback_id": offered["callback_id"],
        },
    )
    assert chosen.json == {"status": 200}
    assert page.sandbox.deliveries[-1].what == "message_action save_to_knowledge"
    view = await page.modal("library_save")
    saved = await page.post("submit", {"as": ASHA, "view_id": view["id"], "values": {}})
    assert saved.json == {"status": 200, "errors": {}}
    told = await page.until(told_of_library, viewer=NOOR)
    assert "We learned to ask" in json.dumps(told[-1]["blocks"])
    refused = await page.post(
        "shortcut", {"as": ASHA, "channel": HOUSING, "ts": message["ts"], "callback_id": "nope"}
    )
    assert refused.status == 400


def told_of_library(state: State) -> list[dict[str, Any]]:
    """The viewer's messages from the app about the library."""
    dms = [c["id"] for c in state["conversations"] if c["kind"] == "app"]
    messages = [m for dm in dms for m in state["messages"].get(dm, [])]
    return [m for m in messages if "library" in str(m.get("text"))]


def test_the_sandbox_offers_the_message_shortcuts_the_manifest_declares() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[1] / "manifest.yml").read_text())
    declared = {
        s["callback_id"]: s["name"]
        for s in manifest["features"]["shortcuts"]
        if s["type"] == "message"
    }
    assert declared == MESSAGE_SHORTCUTS


def test_the_sandbox_sends_only_message_events_the_app_subscribes_to() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[1] / "manifest.yml").read_text())
    subscribed = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert set(MESSAGE_EVENTS.values()) <= set(subscribed)


# -- what the sandbox refuses ----------------------------------------------------------------


async def test_what_the_page_cannot_ask_for(page: Page) -> None:
    assert (await page.type("/giphy cats")).status == 400
    assert (await page.type("/cop help", viewer="U0NOBODY")).status == 400
    assert (await page.type("/cop help", viewer="U0BOT")).status == 400
    assert (await page.type("/cop help", channel="C0NOWHERE")).status == 400
    assert (await page.post("submit", {"as": ASHA, "view_id": "V404", "values": {}})).status == 400
    source = {"kind": "view", "view_id": "V404"}
    assert (await page.post("action", {"as": ASHA, "source": source})).status == 400
    # Not JSON: a form on another site could send this without asking the browser first.
    async with page.http.post(f"{page.api}/travel", data="seconds=60") as response:
        assert response.status == 415
    # A foreign Host: another site's page reaching the sandbox through DNS rebinding.
    async with page.http.post(
        f"{page.api}/travel", json={"seconds": 60}, headers={"Host": "evil.example:3000"}
    ) as response:
        assert response.status == 403


async def test_the_app_verifies_the_sandbox_signature_like_slacks(page: Page) -> None:
    first, second = load_sandbox_settings({}), load_sandbox_settings({})
    assert first.slack_signing_secret != second.slack_signing_secret  # made fresh each run
    assert first.database_url == SANDBOX_DATABASE_URL
    forged = SlackRequests("not-this-runs-secret").slash_command(text="help")
    async with page.http.post(
        f"{page.sandbox.base_url}/slack/events", data=forged[0], headers=forged[1]
    ) as response:
        assert response.status == 401


# -- the demo community ------------------------------------------------------------------------


async def test_the_demo_community_plays_a_month_through_the_app(
    page: Page, sandbox: Sandbox
) -> None:
    started = sandbox.clock.now()
    answer = await page.post("demo", {"as": ASHA})
    assert answer.status == 200, answer.json
    channel = answer.json["channel"]
    assert sandbox.clock.now() - started >= timedelta(days=30)
    state = await page.state()
    # All of it went in as Slack's requests, and the app took every one.
    assert state["deliveries"] and all(d["status"] == 200 for d in state["deliveries"])
    assert [d["what"] for d in state["deliveries"]].count("event message.channels") == len(
        demo.CONVERSATION
    )
    said = texts(state["messages"][channel])
    assert "made this channel the community of practice *Retrofitting social housing*" in said
    assert said.count("has joined the channel") == len(demo.JOINS)
    assert "Notes from Launch workshop" in said
    assert "Notes from Case clinic: damp after insulation" in said
    assert "Terms of reference" in said
    # Mei kept Tom's rule in the library from the message's menu; Tom was told.
    assert "message_action save_to_knowledge" in [d["what"] for d in state["deliveries"]]
    told = await page.until(told_of_library, viewer=demo.TOM)
    assert f"<@{demo.MEI}>" in json.dumps(told)

    # What the app made of the month: everyone joined through the app's eyes, six of seven
    # posted, two meetings with five RSVPs going, a milestone marked done from its reminder.
    health = next(e for e in state["ephemerals"] if "Community health" in str(e))
    figures = json.dumps(health["blocks"])
    assert "*Members:* 7 " in figures
    assert "*Active:* 6 of 7 (86%)" in figures
    assert "*Meetings held:* 2, attendance 5" in figures
    assert "*Milestones:* 1 done \\u00b7 1 due \\u00b7 0 overdue" in figures
    dm = next(c for c in state["conversations"] if c["kind"] == "app")
    pictures = [
        f for f in state["files"] if f["channel"] == dm["id"] and f["name"].endswith(".png")
    ]
    assert {f["title"] for f in pictures} >= {"Members and activity over time", "Stakeholder map"}
    [report] = [f for f in state["files"] if f["name"].endswith(".md") and f["channel"] == dm["id"]]
    async with page.http.get(f"{page.api}/files/{report['id']}") as response:
        markdown = await response.text()
        assert "Retrofitting social housing" in markdown
    # Tom's action was done from its reminder; Priya's, due on day 14, is overdue.
    outcomes = markdown.split("## Actions from meetings", 1)[1].split("\n## ", 1)[0]
    assert "1 overdue." in outcomes and "share the pilot" in outcomes
    # The code of conduct, adopted from its starter and agreed, is in the terms of reference.
    terms = next(f for f in state["files"] if f["name"] == "terms-of-reference-draft-1.md")
    async with page.http.get(f"{page.api}/files/{terms['id']}") as response:
        policies = (await response.text()).split("## 7. Policies", 1)[1]
        assert policies.startswith("\n\n### Code of conduct\n\nWe learn from each other")
        assert "_Agreed._" in policies.split("## 8.", 1)[0]

    # A second demo makes a second community, in a channel of its own.
    again = await page.post("demo", {"as": BEN})
    assert again.status == 200 and again.json["channel"] != channel
