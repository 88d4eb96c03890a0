"""The sandbox in a real browser: Debian's Chromium, headless, driven by Playwright, walking a
community's life as a person would, by typing and clicking in the page.

Skipped, with the reason, where Chromium or Playwright is missing; `.ci/run` installs both.
Set SANDBOX_SCREENSHOTS=docs to retake the README's pictures of the page (from the demo).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.settings import load_sandbox_settings
from sandbox import Sandbox, running_sandbox
from storage.db import Database
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: `apt-get install chromium` (or set CHROMIUM) to run the "
        "browser test",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip(
    "playwright.async_api", reason="the browser test needs Playwright: pip install -e '.[test]'"
)
expect = playwright_api.expect

# Headless and quiet: no sandbox (CI runs as root), no GPU, and nothing that phones home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BROWSER_ZONE = "America/New_York"  # not the server's, not UTC: dates must follow the browser


@pytest.fixture
async def sandbox(database: Database, database_url: str) -> AsyncIterator[Sandbox]:
    settings = replace(load_sandbox_settings({"DATABASE_URL": database_url}), port=0)
    async with running_sandbox(settings, database) as running:
        yield running
        assert running.slack.problems == [], "Slack would have refused these calls"


@pytest.fixture
async def page(sandbox: Sandbox) -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = await browser.new_context(
            viewport={"width": 1280, "height": 860}, timezone_id=BROWSER_ZONE
        )
        page = await context.new_page()
        failures: list[str] = []
        page.on("pageerror", lambda error: failures.append(str(error)))
        expect.set_options(timeout=10_000)
        await page.goto(sandbox.url)
        yield page
        await browser.close()
    assert failures == [], "the page's JavaScript failed"


async def type_in_composer(page: Any, text: str) -> None:
    await page.locator("#compose").fill(text)
    await page.locator("#compose").press("Enter")


async def travel(page: Any, button: str, seconds: int) -> None:
    """Press a time-travel button, and wait until the page shows the sandbox's new time (so
    it has read everything sent on the way)."""
    clock = page.locator("#clock")
    before = await clock.get_attribute("data-now") or "0"
    await page.get_by_role("button", name=button).click()
    await expect(page.locator("#composer-note")).to_have_text(
        re.compile(rf"Travelled {button[1:]}: \d+ scheduled messages? sent\.")
    )
    await expect(clock).not_to_have_attribute("data-now", before)
    after = float(await clock.get_attribute("data-now") or 0)
    assert after - float(before) == pytest.approx(seconds)


async def after_someone_joins(page: Any, sandbox: Sandbox) -> None:
    """What follows Ben joining #housing-policy: the app hears of it (`member_joined_channel`),
    welcomes him in a direct message only he sees, and greets him in the channel once the
    batch window of joins has closed."""
    timeline = page.locator("#timeline")
    await expect(timeline).to_contain_text("@Ben has joined the channel")
    await expect(page.locator("#composer-note")).to_contain_text(
        "Ben Okafor joined; the app was told (member_joined_channel)"
    )
    await page.locator("#deliveries summary").click()
    await expect(page.locator("#delivery-log")).to_contain_text("event member_joined_channel")
    delivered = [d for d in sandbox.deliveries if "member_joined_channel" in d.what]
    assert [d.status != 401 for d in delivered] == [True]  # the app verified it as Slack's
    await page.locator("#deliveries summary").click()  # folded away again

    # From Ben's seat: his direct messages with the app hold the welcome.
    await page.locator("#viewer").select_option(label="Ben Okafor")
    await page.locator("[data-app=messages]").click()
    welcome = timeline.locator(".message", has_text="Welcome to Housing policy")
    await expect(welcome).to_contain_text(
        "Welcome to Housing policy, @Ben! We're glad you're here. Here is what you need to "
        "take part."
    )
    await expect(welcome).to_contain_text("Housing policy <research>")  # its purpose, as typed
    await expect(welcome).to_contain_text("Coordinators: @Asha")
    await expect(welcome.get_by_role("button", name="Introduce yourself")).to_be_visible()

    # Back as Asha: Ben's welcome is not in her messages with the app.
    await page.locator("#viewer").select_option(label="Asha Raman")
    await expect(page.locator("#viewer-about")).to_contain_text("Asia/Kolkata")
    await expect(timeline).not_to_contain_text("Welcome to Housing policy")

    # The channel greets everyone who joined in one window, once it has closed.
    greeting = "Please welcome @Ben to Housing policy! Say hello, and introduce yourself"
    await page.locator("#channels [data-channel]", has_text="housing-policy").click()
    await expect(page.locator("#title")).to_have_text("# housing-policy")
    await expect(timeline).not_to_contain_text(greeting)
    await travel(page, "+1 hour", 3600)
    await expect(timeline).to_contain_text(greeting)
    await expect(timeline).to_contain_text("\N{WAVING HAND SIGN} Please welcome")  # not :wave:


async def plan_a_meeting(page: Any, sandbox: Sandbox) -> datetime:
    """Plan a meeting two days ahead through `/cop meeting`'s form, filled in as a person
    would, in the time zone the form names. Returns when it starts."""
    await type_in_composer(page, "/cop meeting")
    form = page.get_by_role("dialog", name="Plan a meeting")
    reminders = form.get_by_role("group", name="Remind the channel")
    await expect(reminders.get_by_label("1 day before")).to_be_checked()  # the defaults
    await expect(reminders.get_by_label("1 hour before")).to_be_checked()
    meeting_format = form.get_by_role("radiogroup", name="Format")
    await expect(meeting_format.get_by_label("Online")).to_be_checked()
    zone = ZoneInfo(await form.get_by_label("Time zone").input_value())
    starts = (sandbox.clock.now() + timedelta(days=2)).astimezone(zone)
    starts = starts.replace(second=0, microsecond=0) + timedelta(minutes=1)
    await form.get_by_label("Title").fill("Monthly <housing> call")
    await form.get_by_label("Agenda").fill("Drafts & questions")
    await form.get_by_label("Date").fill(starts.date().isoformat())
    await form.get_by_label("Start time").fill(f"{starts:%H:%M}")
    await form.get_by_label("Duration").select_option(label="1½ hours")
    await meeting_format.get_by_label("Hybrid").check()
    await form.get_by_label("Place or link").fill("Room 2")
    await form.get_by_label("Facilitator").select_option(label="Ben Okafor")
    await form.get_by_role("button", name="Save").click()
    await expect(form).to_be_hidden()
    return starts


async def test_a_community_from_start_to_a_reminder_in_the_browser(
    page: Any, sandbox: Sandbox, tmp_path: Path
) -> None:
    await expect(page.locator("#title")).to_have_text("# housing-policy")

    # /cop start, and its modal.
    await type_in_composer(page, "/cop start")
    start = page.get_by_role("dialog", name="Start a community")
    await expect(start.get_by_label("Name")).to_have_value("Housing policy")
    await start.get_by_label("Domain, in one line").fill("Housing policy <research>")
    await start.get_by_role("button", name="Start").click()
    await expect(start).to_be_hidden()
    await expect(page.locator("#timeline")).to_contain_text(
        "made this channel the community of practice Housing policy: Housing policy <research>"
    )

    # The scope modal: a required-looking answer left empty is fine, a typed one is kept.
    await type_in_composer(page, "/cop scope")
    scope = page.get_by_role("dialog", name="Defining the scope")
    await scope.get_by_label("Is there a genuine need").fill("Yes: three teams repeat research.")
    await scope.get_by_role("button", name="Save").click()
    await expect(scope).to_be_hidden()

    # /cop status, only for Asha, with the moment rendered in the browser's time zone.
    await type_in_composer(page, "/cop status")
    status = page.locator(".message.ephemeral").last
    await expect(status).to_contain_text("Only visible to you")
    await expect(status).to_contain_text("1. Defining the scope — 1/7 answered")
    saved_at = sandbox.clock.now().astimezone(ZoneInfo(BROWSER_ZONE))
    expected = f"today at {saved_at.strftime('%-I:%M %p')}"
    await expect(status.locator("time.slack-date").first).to_have_text(expected)

    # A button in the ephemeral message opens the stage's form; Cancel closes it.
    await status.locator("[data-action-id$=':scope']").click()
    reopened = page.get_by_role("dialog", name="Defining the scope")
    await expect(reopened.get_by_label("Is there a genuine need")).to_have_value(
        "Yes: three teams repeat research."
    )
    await reopened.get_by_role("button", name="Cancel").click()
    await expect(reopened).to_be_hidden()

    # A form with a pushed form on top: add a milestone, see the inline errors, then save.
    await type_in_composer(page, "/cop governance")
    governance = page.get_by_role("dialog", name="Governance")
    await governance.get_by_role("button", name="Add milestone").click()
    milestone = page.get_by_role("dialog", name="Add milestone")
    await milestone.get_by_role("button", name="Save").click()
    await expect(milestone.locator(".error")).to_have_count(2)
    await milestone.get_by_label("Milestone").fill("Launch workshop")
    await milestone.get_by_label("Due date").fill("2027-01-15")
    await milestone.get_by_label("Owner").select_option(label="Ben Okafor")
    await milestone.get_by_role("button", name="Save").click()
    await expect(governance).to_contain_text("Launch workshop · Due date: Fri 15 Jan 2027")
    await governance.get_by_role("button", name="Close all").click()
    await expect(governance).to_be_hidden()

    # Someone joins the channel.
    await page.locator("#joiner").select_option(label="Ben Okafor")
    await page.locator("#join-button").click()
    await after_someone_joins(page, sandbox)

    # App Home: published when opened, with the community's progress.
    await page.locator("[data-app=home]").click()
    await expect(page.locator("#timeline")).to_contain_text("Your communities of practice")
    await expect(page.locator("#timeline")).to_contain_text("Housing policy in #housing-policy")

    # A meeting, planned through its form, announced in the channel with RSVP buttons.
    await page.locator("#channels [data-channel]", has_text="housing-policy").click()
    starts = await plan_a_meeting(page, sandbox)
    timeline = page.locator("#timeline")
    announcement = timeline.locator(".message", has_text="Monthly <housing> call")
    await expect(announcement).to_contain_text("1½ hours · Hybrid · Room 2")
    await expect(announcement).to_contain_text("Drafts & questions")
    await announcement.get_by_role("button", name="Going (0)").click()
    await expect(announcement.get_by_role("button", name="Going (1)")).to_be_visible()

    # *Add to calendar*: the meeting's .ics arrives in Asha's messages with the app, to read
    # and to download.
    await announcement.get_by_role("button", name="Add to calendar").click()
    await expect(timeline).to_contain_text("as a calendar file in our direct messages")
    await page.locator("[data-app=messages]").click()
    await timeline.locator(".file-card", has_text="(calendar)").click()
    reader = page.get_by_role("dialog", name="Monthly <housing> call (calendar)")
    await expect(reader.locator("pre")).to_contain_text("BEGIN:VCALENDAR")
    await expect(reader.get_by_role("link", name="Download")).to_have_attribute(
        "download", re.compile(r"\.ics$")
    )
    await reader.get_by_role("button", name="Close").click()
    await page.locator("#channels [data-channel]", has_text="housing-policy").click()

    # Time travel: the day-before reminder is not due in an hour; a day later, it is in the
    # channel, with the moment in the browser's time zone.
    reminder = "⏰ Monthly <housing> call starts tomorrow"
    await travel(page, "+1 hour", 3600)
    await expect(timeline).not_to_contain_text(reminder)
    await travel(page, "+1 day", 86400)
    await expect(timeline).to_contain_text(reminder)
    now = sandbox.clock.now().astimezone(ZoneInfo(BROWSER_ZONE))
    shown = starts.astimezone(ZoneInfo(BROWSER_ZONE))
    day = {0: "today", 1: "tomorrow"}[(shown.date() - now.date()).days]
    await expect(
        timeline.locator(".message", has_text=reminder).locator("time.slack-date")
    ).to_have_text(f"{day} at {shown.strftime('%-I:%M %p')}")

    await page.screenshot(path=str(tmp_path / "sandbox.png"))


async def test_files_and_canvases_are_readable_in_the_page(page: Any, sandbox: Sandbox) -> None:
    client = sandbox.cultivate.bolt.client
    await client.files_upload_v2(
        channel=HOUSING,
        filename="charter.md",
        title="Housing charter",
        content="# Charter\nWe share what we learn.",
    )
    await client.conversations_canvases_create(
        channel_id=HOUSING,
        document_content={"type": "markdown", "markdown": "# Our ways\n- Meet monthly"},
    )
    await page.locator(".file-card", has_text="Housing charter").click()
    reader = page.get_by_role("dialog", name="Housing charter")
    await expect(reader.locator("pre")).to_have_text("# Charter\nWe share what we learn.")
    await reader.get_by_role("button", name="Close").click()

    await page.get_by_role("button", name="Channel canvas").click()
    canvas = page.get_by_role("dialog", name="#housing-policy canvas")
    await expect(canvas.locator("h1")).to_have_text("Our ways")
    await expect(canvas.locator("li")).to_have_text("Meet monthly")


def field(block_id: str, label: str, element: dict[str, Any]) -> dict[str, Any]:
    """An input block whose element's action_id is its block_id, as Cultivate's forms have."""
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {**element, "action_id": block_id},
    }


async def open_a_modal(
    sandbox: Sandbox, callback_id: str, *, title: str, submit: str, blocks: list[dict[str, Any]]
) -> None:
    """Open a modal for Asha through the app's own Slack client, as any feature would."""
    await sandbox.cultivate.bolt.client.views_open(
        trigger_id=sandbox.requests.trigger_id(ASHA),
        view={
            "type": "modal",
            "callback_id": callback_id,
            "title": {"type": "plain_text", "text": title},
            "submit": {"type": "plain_text", "text": submit},
            "blocks": blocks,
        },
    )


async def test_block_kit_and_every_form_control_as_slack_would_send_them(
    page: Any, sandbox: Sandbox
) -> None:
    """Whatever a feature posts or opens, the page draws it and sends back what Slack would."""
    bolt = sandbox.cultivate.bolt
    clicked: list[dict[str, Any]] = []
    submitted: list[dict[str, Any]] = []

    @bolt.action("wave")
    async def wave(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        clicked.append(body)

    @bolt.view("kitchen_sink")
    async def save(ack: Any, view: dict[str, Any]) -> None:
        await ack()
        submitted.append(view["state"]["values"])

    moment = 1800000000  # 2027-01-15
    await bolt.client.chat_postMessage(
        channel=HOUSING,
        text="Monthly digest",
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": "Monthly digest"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*Bold* and _italic_, <https://example.org/x|a link>, <@{BEN}> in "
                    f"<#{HOUSING}>, due <!date^{moment}^{{date_short_pretty}} at {{time}}|soon>",
                },
                "fields": [
                    {"type": "mrkdwn", "text": "*Members*\n4"},
                    {"type": "mrkdwn", "text": "*Stage*\nScope"},
                ],
            },
            {"type": "divider"},
            {"type": "image", "image_url": "https://example.org/chart.png", "alt_text": "a chart"},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Sent by _Cultivate_"}]},
            {
                "type": "actions",
                "block_id": "digest",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "wave",
                        "text": {"type": "plain_text", "text": "Wave"},
                        "value": "hello",
                        "style": "primary",
                    }
                ],
            },
        ],
    )
    digest = page.locator(".message", has_text="Monthly digest")
    await expect(digest.locator(".block-header")).to_have_text("Monthly digest")
    await expect(digest.locator("b").first).to_have_text("Bold")
    await expect(digest.locator("i").first).to_have_text("italic")
    await expect(digest.locator("a[href='https://example.org/x']")).to_have_text("a link")
    await expect(digest.locator(".mention")).to_have_text("@Ben")
    await expect(digest.locator(".channel-link")).to_have_text("#housing-policy")
    due = datetime.fromtimestamp(moment, ZoneInfo(BROWSER_ZONE))
    await expect(digest.locator("time.slack-date")).to_have_text(
        f"{due:%b} {due.day}, {due.year} at {due.strftime('%-I:%M %p')}"
    )
    await expect(digest.locator(".fields")).to_contain_text("Members")
    await expect(digest.locator(".image-placeholder")).to_contain_text("a chart")
    assert await digest.locator("img").count() == 0  # nothing is fetched from the internet
    await expect(digest.locator(".block-context")).to_have_text("Sent by Cultivate")
    await digest.get_by_role("button", name="Wave").click()
    await expect(page.locator("#delivery-log")).to_contain_text("block_actions wave", timeout=5000)
    [click] = clicked
    assert click["actions"][0]["value"] == "hello"
    assert click["container"]["type"] == "message"
    assert click["user"]["id"] == ASHA

    def option(value: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": value.title()}, "value": value}

    await open_a_modal(
        sandbox,
        "kitchen_sink",
        title="Plan a call",
        submit="Plan",
        blocks=[
            field("title", "Title", {"type": "plain_text_input"}),
            field("notes", "Notes", {"type": "plain_text_input", "multiline": True}),
            field(
                "cadence",
                "Cadence",
                {"type": "static_select", "options": [option("weekly"), option("monthly")]},
            ),
            field(
                "format",
                "Format",
                {"type": "radio_buttons", "options": [option("online"), option("in person")]},
            ),
            field(
                "needs",
                "Needs",
                {"type": "checkboxes", "options": [option("slides"), option("handouts")]},
            ),
            field("host", "Host", {"type": "users_select"}),
            field("guests", "Guests", {"type": "multi_users_select"}),
            field("day", "Day", {"type": "datepicker"}),
            field("start", "Start", {"type": "timepicker"}),
        ],
    )
    form = page.get_by_role("dialog", name="Plan a call")
    await form.get_by_label("Title").fill("Monthly call")
    await form.get_by_label("Notes").fill("Line one\nLine two")
    await form.get_by_label("Cadence").select_option("monthly")
    await form.get_by_role("radiogroup", name="Format").get_by_label("In Person").check()
    needs = form.get_by_role("group", name="Needs")
    await needs.get_by_label("Slides").check()
    await needs.get_by_label("Handouts").check()
    await form.get_by_label("Host").select_option(label="Ben Okafor")
    await form.get_by_label("Guests").select_option(label=["Carmen Díaz", "Noor Haddad"])
    await form.get_by_label("Day").fill("2027-02-01")
    await form.get_by_label("Start").fill("14:30")
    await form.get_by_role("button", name="Plan").click()
    await expect(form).to_be_hidden()

    [values] = submitted
    assert values["title"]["title"]["value"] == "Monthly call"
    assert values["notes"]["notes"]["value"] == "Line one\nLine two"
    assert values["cadence"]["cadence"]["selected_option"]["value"] == "monthly"
    assert values["format"]["format"]["selected_option"]["value"] == "in person"
    assert [o["value"] for o in values["needs"]["needs"]["selected_options"]] == [
        "slides",
        "handouts",
    ]
    assert values["host"]["host"]["selected_user"] == BEN
    assert values["guests"]["guests"]["selected_users"] == [CARMEN, NOOR]
    assert values["day"]["day"]["selected_date"] == "2027-02-01"
    assert values["start"]["start"]["selected_time"] == "14:30"


async def start_housing(page: Any) -> None:
    await type_in_composer(page, "/cop start")
    start = page.get_by_role("dialog", name="Start a community")
    await start.get_by_label("Domain, in one line").fill("Housing policy")
    await start.get_by_role("button", name="Start").click()
    await expect(start).to_be_hidden()
    await expect(page.locator("#timeline")).to_contain_text("made this channel the community")


async def health_figures(page: Any, count: int) -> Any:
    """Asha's `count`th answer to /cop health in this channel."""
    await type_in_composer(page, "/cop health")
    answers = page.locator(".message.ephemeral", has_text="Community health")
    await expect(answers).to_have_count(count)
    return answers.last


async def test_a_member_posts_and_cop_health_counts_it(page: Any, sandbox: Sandbox) -> None:
    await start_housing(page)
    await page.locator("#joiner").select_option(label="Ben Okafor")
    await page.locator("#join-button").click()
    await expect(page.locator("#timeline")).to_contain_text("@Ben has joined the channel")
    await expect(await health_figures(page, 1)).to_contain_text("Active: 0 of")

    # A week on, Ben says something in the channel; the app hears it as Slack's event.
    await travel(page, "+1 week", 604800)
    await page.locator("#viewer").select_option(label="Ben Okafor")
    await type_in_composer(page, "Here is our <draft> & notes")
    timeline = page.locator("#timeline")
    said = timeline.locator(".message", has_text="Here is our <draft> & notes")
    await expect(said.locator(".sender")).to_have_text("Ben Okafor")
    await page.locator("#deliveries summary").click()
    await expect(page.locator("#delivery-log")).to_contain_text("event message.channels → 200")
    await page.locator("#deliveries summary").click()

    # The timeline says which day each message is on: the start a week ago, Ben's today.
    days = timeline.locator(".day-divider")
    await expect(days).to_have_count(2)
    await expect(days.last).to_have_text("Today")
    week_ago = (sandbox.clock.now() - timedelta(days=7)).astimezone(ZoneInfo(BROWSER_ZONE))
    await expect(days.first).to_contain_text(f"{week_ago:%A}, {week_ago:%B} ")

    await page.locator("#viewer").select_option(label="Asha Raman")
    figures = await health_figures(page, 2)
    await expect(figures).to_contain_text("Active: 1 of")
    await expect(figures).to_contain_text("Newcomers who haven't posted yet: 0")

    # Asha keeps Ben's message from its menu: the form starts from its first line.
    await said.get_by_role("button", name="Save to knowledge").click()
    form = page.get_by_role("dialog", name="Community knowledge")
    await expect(form.get_by_label("Title")).to_have_value("Here is our <draft> & notes")
    await form.get_by_label("Tags").fill("drafts")
    await form.get_by_role("button", name="Save").click()
    await expect(form).to_contain_text("Saved in the library: Here is our <draft> & notes")


async def test_an_error_low_in_a_long_form_is_scrolled_into_view(
    page: Any, sandbox: Sandbox
) -> None:
    bolt = sandbox.cultivate.bolt

    @bolt.view("long_form")
    async def refuse(ack: Any) -> None:
        await ack(response_action="errors", errors={"q19": "Say a little more."})

    question = {"type": "plain_text_input", "multiline": True}
    blocks = [field(f"q{n}", f"Question {n}", question) for n in range(20)]
    await open_a_modal(sandbox, "long_form", title="A long form", submit="Save", blocks=blocks)
    form = page.get_by_role("dialog", name="A long form")
    await form.get_by_label("Question 0", exact=True).fill("A start")
    last = form.get_by_label("Question 19", exact=True)
    await expect(last).not_to_be_in_viewport()
    await form.get_by_role("button", name="Save").click()
    await expect(form.get_by_role("alert")).to_have_text("Say a little more.")
    await expect(form.get_by_role("alert")).to_be_in_viewport()
    await expect(last).to_be_focused()


async def test_the_demo_community_in_one_click(page: Any, sandbox: Sandbox) -> None:
    started = sandbox.clock.now()
    await page.get_by_role("button", name="Demo community").click()
    note = page.locator("#composer-note")
    await expect(note).to_contain_text("The demo community has had its month", timeout=180_000)
    assert sandbox.clock.now() - started >= timedelta(days=30)
    await expect(page.locator("#title")).to_have_text("# retrofit-housing")
    timeline = page.locator("#timeline")
    await expect(timeline).to_contain_text("Notes from Case clinic: damp after insulation")
    assert await timeline.locator(".day-divider").count() > 20  # a month of days, each named

    # /cop health's figures, as the demo's coordinator (Asha) sees them in the channel.
    figures = timeline.locator(".message.ephemeral", has_text="Community health")
    await expect(figures).to_contain_text("Members: 7 ")
    await expect(figures).to_contain_text("Active: 6 of 7 (86%)")
    await expect(figures).to_contain_text("Meetings held: 2, attendance 5")
    await expect(figures).to_contain_text("Milestones: 1 done · 1 due · 0 overdue")
    pictures = os.environ.get("SANDBOX_SCREENSHOTS")
    if pictures:
        await figures.scroll_into_view_if_needed()
        await page.screenshot(path=str(Path(pictures) / "sandbox.png"))

    # The health pictures and the sponsor report, in her messages with the app.
    await page.locator("[data-app=messages]").click()
    await expect(timeline).to_contain_text("pictures of its health")
    report = timeline.locator(
        ".file-card", has_text="report for participating organisations (Markdown)"
    )
    await expect(report).to_be_visible()
    await timeline.locator(".file-card", has_text="Members and activity over time").last.click()
    reader = page.get_by_role("dialog", name="Members and activity over time")
    await expect(reader.locator("img")).to_be_visible()
    if pictures:
        await page.screenshot(path=str(Path(pictures) / "sandbox-health.png"))
    await reader.get_by_role("button", name="Close").click()
    await report.click()
    await expect(page.get_by_role("dialog", name=re.compile("report"))).to_contain_text(
        "Retrofitting social housing"
    )


async def cop_status(page: Any, name: str, channel: str) -> Any:
    """Asha's answer to `/cop status` in #`channel`: the newest one, once it has come."""
    answers = page.locator(".message.ephemeral", has_text=f"{name} in #{channel}")
    before = await answers.count()
    await type_in_composer(page, "/cop status")
    await expect(answers).to_have_count(before + 1)
    return answers.last


async def test_closing_with_a_split_is_one_flow_and_cancelling_closes_nothing(
    page: Any, sandbox: Sandbox
) -> None:
    """Issue 15: `/cop close` with a split, from one flow. The close form, then a confirmation
    that says what will happen and names the new communities; nothing closes until it is
    confirmed, and cancelling on the way leaves the community as it was."""
    await start_housing(page)
    await page.locator("#joiner").select_option(label="Ben Okafor")
    await page.locator("#join-button").click()
    timeline = page.locator("#timeline")
    await expect(timeline).to_contain_text("@Ben has joined the channel")
    channels = page.locator("#channels")

    async def close_form_with_a_split() -> Any:
        await type_in_composer(page, "/cop close")
        form = page.get_by_role("dialog", name="Close the community", exact=True)
        reason = form.get_by_role("radiogroup", name="Why is the community closing?")
        await reason.get_by_label("It is splitting into sub-communities").check()
        await form.get_by_label("A note for the members").fill("Two <smaller> groups & more")
        await form.get_by_role("button", name="Next").click()
        confirm = page.get_by_role("dialog", name="Close the community?", exact=True)
        await expect(confirm).to_be_visible()
        await expect(form).to_be_hidden()
        return confirm

    async def still_open() -> None:
        status = await cop_status(page, "Housing policy", "housing-policy")
        await expect(status).to_contain_text("Next:")
        await expect(status).not_to_contain_text("Closing:")
        await expect(channels).not_to_contain_text("housing-finance")
        await expect(timeline).not_to_contain_text("is closing on")

    # Cancel on the first step: nothing happens.
    await type_in_composer(page, "/cop close")
    form = page.get_by_role("dialog", name="Close the community", exact=True)
    await expect(form).to_contain_text("Closing makes the community read-only at once")
    await form.get_by_role("button", name="Cancel").click()
    await expect(form).to_be_hidden()
    await still_open()

    # Cancel on the confirmation, which said what would happen: still nothing happens.
    confirm = await close_form_with_a_split()
    await expect(confirm).to_contain_text("Closing Housing policy cannot be undone.")
    await expect(confirm).to_contain_text("It becomes read-only at once")
    # Asha, Carmen and Noor were in the channel when it became a community; Ben joined.
    await expect(confirm).to_contain_text("Its 4 members are asked, in #housing-policy")
    await expect(confirm).to_contain_text("the celebration is posted in the channel")
    await expect(confirm).to_contain_text(
        "The new communities below start at once, each in a new channel"
    )
    await expect(confirm).to_contain_text("Why: It is splitting into sub-communities.")
    await expect(confirm).to_contain_text("Two <smaller> groups & more")  # as typed
    await expect(confirm.get_by_label("Community 1: name")).to_be_visible()
    await confirm.get_by_role("button", name="Cancel").click()
    await expect(confirm).to_be_hidden()
    await still_open()

    # Confirming a split that names no new community is refused on its field: nothing closes.
    confirm = await close_form_with_a_split()
    await confirm.get_by_role("button", name="Close the community").click()
    await expect(confirm.get_by_role("alert")).to_have_text(
        "Please name at least one new community."
    )
    await confirm.get_by_role("button", name="Cancel").click()
    await expect(confirm).to_be_hidden()
    await still_open()

    # The split, confirmed with its new communities.
    confirm = await close_form_with_a_split()
    await confirm.get_by_label("Community 1: name").fill("Housing finance")
    await confirm.get_by_label("Community 1: members").select_option(
        label=["Ben Okafor", "Carmen Díaz"]
    )
    await confirm.get_by_label("Community 2: name").fill("Rural housing")
    await confirm.get_by_label("Community 2: members").select_option(label=["Noor Haddad"])
    await confirm.get_by_role("button", name="Close the community").click()
    await expect(confirm).to_be_hidden()

    # The parent channel asks its members what they learned, saying why it closes.
    prompt = timeline.locator(".message", has_text="Housing policy is closing on")
    await expect(prompt).to_contain_text("Why: It is splitting into sub-communities.")
    await expect(prompt.get_by_role("button", name="Share what you learned")).to_be_visible()
    status = await cop_status(page, "Housing policy", "housing-policy")
    await expect(status).to_contain_text("Closing: members are sharing what they learned until")
    await type_in_composer(page, "/cop close")
    await expect(page.locator(".message.ephemeral").last).to_contain_text(
        "This community is already closed."
    )

    # Each new community has its channel, its members and Asha invited, announced as grown
    # from the parent.
    for name, channel, members, counted in (
        ("Housing finance", "housing-finance", "3 members: Ben, Carmen, Asha", "Members: 3"),
        ("Rural housing", "rural-housing", "2 members: Noor Haddad, Asha", "Members: 2"),
    ):
        await channels.locator("[data-channel]", has_text=channel).click()
        await expect(page.locator("#title")).to_have_text(f"# {channel}")
        await expect(page.locator("#channel-tools")).to_contain_text(members)
        await expect(timeline).to_contain_text(
            f"{name} grows out of Housing policy (#housing-policy), whose scope it starts from"
        )
        status = await cop_status(page, name, channel)
        await expect(status).to_contain_text("Next:")
        # Slack told the app of everyone it invited, so they are the community's members.
        await expect(status).to_contain_text(counted)

    # Ben, invited to Housing finance, is welcomed to it in his messages with the app.
    await page.locator("#viewer").select_option(label="Ben Okafor")
    await page.locator("[data-app=messages]").click()
    await expect(timeline).to_contain_text("Welcome to Housing finance, @Ben!")
    await page.locator("#viewer").select_option(label="Asha Raman")

    # Her Home: the parent closing, the new ones open beside it.
    await page.locator("[data-app=home]").click()
    await expect(timeline).to_contain_text("Housing finance in #housing-finance")
    await expect(timeline).to_contain_text("Rural housing in #rural-housing")
    await expect(timeline).to_contain_text("Closing: members are sharing what they learned")

    # On the closing date, the celebration and the archive in the parent's channel.
    await page.locator("#channels [data-channel]", has_text="housing-policy").click()
    await travel(page, "+1 week", 604800)
    await travel(page, "+1 week", 604800)
    await travel(page, "+1 day", 86400)
    await expect(timeline).to_contain_text("Celebrating Housing policy")
    await expect(timeline.locator(".file-card", has_text="archive").first).to_be_visible()
