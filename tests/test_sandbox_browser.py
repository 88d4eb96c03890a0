"""The sandbox in a real browser: Debian's Chromium, headless, driven by Playwright, walking a
community's life as a person would, by typing and clicking in the page.

Skipped, with the reason, where Chromium or Playwright is missing; `.ci/run` installs both.
Set SANDBOX_SCREENSHOT=docs/sandbox.png to refresh the README's picture of the page.
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

from bot.dispatch import DELIVERY_FAILED
from bot.sandbox import Sandbox, running_sandbox
from bot.settings import load_sandbox_settings
from storage.db import Database
from storage.repositories import scheduled
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, TEAM

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


async def after_someone_joins(page: Any, sandbox: Sandbox) -> None:
    """What the page shows once Ben has joined #housing-policy. The join reached the app as
    `member_joined_channel`; a welcome feature's greeting is asserted here once it exists."""
    await expect(page.locator("#timeline")).to_contain_text("@Ben has joined the channel")
    await expect(page.locator("#composer-note")).to_contain_text(
        "Ben Okafor joined; the app was told (member_joined_channel)"
    )
    await page.locator("#deliveries summary").click()
    await expect(page.locator("#delivery-log")).to_contain_text("event member_joined_channel")
    delivered = [d for d in sandbox.deliveries if "member_joined_channel" in d.what]
    assert [d.status != 401 for d in delivered] == [True]  # the app verified it as Slack's


async def schedule_something_for_tomorrow(sandbox: Sandbox) -> str:
    """A scheduled row due in a day, made through the scheduler's own repository, and the text
    its sender will post. Meetings will schedule their reminders through a modal instead."""
    async with sandbox.cultivate.runtime.database.session() as session:
        await scheduled.schedule(
            session,
            team_id=TEAM,
            community_id=1,
            kind=DELIVERY_FAILED,
            due_at=sandbox.clock.now() + timedelta(days=1),
            payload={"what": "a meeting reminder", "error": "channel_not_found"},
        )
    return "I couldn't deliver a meeting reminder"


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

    await page.locator("#deliveries summary").click()  # fold the log away for the picture
    for picture in (tmp_path / "sandbox.png", os.environ.get("SANDBOX_SCREENSHOT")):
        if picture:
            await page.screenshot(path=str(picture))

    # App Home: published when opened, with the community's progress.
    await page.locator("[data-app=home]").click()
    await expect(page.locator("#timeline")).to_contain_text("Your communities of practice")
    await expect(page.locator("#timeline")).to_contain_text("Housing policy in #housing-policy")

    # Time travel: the reminder is not due in an hour; the day after, it arrives. (Other
    # features send their own things as time passes, such as the channel's greeting for Ben.)
    reminder = await schedule_something_for_tomorrow(sandbox)
    clock_before = await page.locator("#clock").get_attribute("data-now")
    await page.get_by_role("button", name="+1 hour").click()
    await expect(page.locator("#composer-note")).to_have_text(
        re.compile(r"Travelled 1 hour: \d+ scheduled messages? sent\.")
    )
    await page.locator("[data-app=messages]").click()
    await expect(page.locator("#timeline")).not_to_contain_text(reminder)
    await page.get_by_role("button", name="+1 day").click()
    await expect(page.locator("#composer-note")).to_have_text(
        re.compile(r"Travelled 1 day: [1-9]\d* scheduled messages? sent\.")
    )
    await expect(page.locator("#clock")).to_have_attribute(
        "data-now", str(float(clock_before or 0) + 25 * 3600)
    )
    await page.locator("[data-app=messages]").click()
    await expect(page.locator("#timeline")).to_contain_text(reminder)


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

    def field(block_id: str, label: str, element: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block_id,
            "label": {"type": "plain_text", "text": label},
            "element": {**element, "action_id": block_id},
        }

    await bolt.client.views_open(
        trigger_id=sandbox.requests.trigger_id(ASHA),
        view={
            "type": "modal",
            "callback_id": "kitchen_sink",
            "title": {"type": "plain_text", "text": "Plan a call"},
            "submit": {"type": "plain_text", "text": "Plan"},
            "blocks": [
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
        },
    )
    form = page.get_by_role("dialog", name="Plan a call")
    await form.get_by_label("Title").fill("Monthly call")
    await form.get_by_label("Notes").fill("Line one\nLine two")
    await form.get_by_label("Cadence").select_option("monthly")
    await form.get_by_label("In Person").check()
    await form.get_by_label("Slides").check()
    await form.get_by_label("Handouts").check()
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
