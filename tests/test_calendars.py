"""Meetings in calendars: *Add to calendar* sends the meeting's `.ics` by direct message, a
series is one recurring event that keeps its clock time across a clock change, cancellations
show as CANCELLED, and each person's private calendar address serves the community's meetings
and nothing for a wrong or revoked secret."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from bot.clock import ManualClock
from fakeslack import FakeSlack
from sandbox import Sandbox
from sandbox.api import STATIC
from storage.db import Database
from storage.models import CalendarFeed, MeetingOccurrence
from tests.conftest import (
    ASHA,
    BEN,
    CARMEN,
    HOUSING,
    Cultivate,
    eventually,
    serving_app,
)
from tests.pages import Page, sandbox_on_the_test_database  # noqa: F401 (a fixture)
from tests.steps import (
    announcements,
    click_in_listing,
    left,
    meeting_values,
    plan_meeting,
    run_until,
    start_community,
    stored,
)

ROOT = Path(__file__).resolve().parent.parent
LONDON = ZoneInfo("Europe/London")
PUBLIC_URL = "https://cultivate.example.org"
ADDRESS = re.compile(re.escape(PUBLIC_URL) + r"(/calendar/[A-Za-z0-9_-]+\.ics)")
FORGET = "forget_knowledge"
TYPED_TITLE = "Monthly <!channel> catch-up"  # as meeting_values types it


@pytest.fixture
async def cultivate(
    slack: FakeSlack, database: Database, database_url: str, clock: ManualClock
) -> AsyncIterator[Cultivate]:
    """The app with its public address set, so `/cop calendar` can make addresses."""
    async with serving_app(slack, database, database_url, clock, PUBLIC_URL=PUBLIC_URL) as app:
        yield app


def calendar_button(message: dict[str, Any]) -> dict[str, Any]:
    [found] = [
        b["accessory"]
        for b in message["blocks"]
        if b.get("accessory", {}).get("action_id") == "meeting_add_to_calendar"
    ]
    assert found["text"]["text"] == "Add to calendar"
    return found


async def add_to_calendar(
    cultivate: Cultivate, message: dict[str, Any], *, user: str = CARMEN, count: int = 1
) -> Calendar:
    """Press *Add to calendar* on `message`; the calendar file the person received."""
    button = calendar_button(message)
    reply = await cultivate.click(
        {"action_id": button["action_id"], "type": "button", "value": button["value"]},
        user=user,
        channel=HOUSING,
        message=message,
    )
    assert reply.status == 200
    await cultivate.slack.wait_for("files.completeUploadExternal", count=count)
    file = cultivate.slack.files[count - 1]
    dm = cultivate.slack.workspace.channels[str(file.channel)]
    assert dm.is_im and dm.im_user == user  # in their own direct messages with the app
    assert file.filename.endswith(".ics")
    return Calendar.from_ical(file.content)


def events(calendar: Calendar) -> list[Any]:
    return list(calendar.walk("VEVENT"))


def expand(event: Any, until: datetime) -> list[datetime]:
    """Every start of a recurring event up to `until`, as a calendar app computes them."""
    start = event.decoded("dtstart")
    rule = event["rrule"].to_ical().decode()
    return list(rrulestr(rule, dtstart=start).between(start - timedelta(seconds=1), until))


async def meetings_command(cultivate: Cultivate) -> dict[str, Any]:
    await cultivate.command("meetings")
    return await cultivate.ephemeral()


async def cop_calendar(cultivate: Cultivate, *, user: str, count: int) -> dict[str, Any]:
    await cultivate.command("calendar", user=user)
    return await cultivate.ephemeral(count=count)


def address_in(answer: dict[str, Any]) -> str:
    text = " ".join(b["text"]["text"] for b in answer["blocks"] if b["type"] == "section")
    found = ADDRESS.search(text)
    assert found, text
    return found.group(1)


async def fetch(cultivate: Cultivate, path: str) -> tuple[int, str, str]:
    async with cultivate.http.get(cultivate.server.make_url(path)) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


def revoke_button(answer: dict[str, Any]) -> dict[str, Any]:
    return next(
        e
        for b in answer["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "calendar_revoke_all"
    )


async def test_add_to_calendar_sends_the_meeting_as_an_ics_file_by_direct_message(
    community: Cultivate, slack: FakeSlack
) -> None:
    await plan_meeting(community, meeting_values())
    [message] = announcements(slack)
    calendar = await add_to_calendar(community, message)

    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["tzid"]) == "Europe/London"
    [event] = events(calendar)
    # What the coordinator typed, as plain text: no Slack escaping, no markup of ours.
    assert str(event["summary"]) == TYPED_TITLE
    description = str(event["description"])
    assert "Drafts & questions" in description and "&amp;" not in description
    assert "https://slack.com/app_redirect?" in description and HOUSING in description
    assert str(event["location"]) == "https://meet.example.org/housing"
    assert event["dtstart"].params["TZID"] == "Europe/London"
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert (start.replace(tzinfo=None), end - start) == (
        datetime(2026, 12, 8, 18, 0),
        timedelta(hours=1),
    )
    assert start.astimezone(UTC) == datetime(2026, 12, 8, 18, 0, tzinfo=UTC)
    assert str(event["status"]) == "CONFIRMED" and "rrule" not in event
    # The person who pressed it is told where it went; a second press gives the same event.
    await eventually(
        lambda: _true(any("calendar file" in e.get("text", "") for e in slack.ephemerals))
    )
    again = await add_to_calendar(community, message, count=2)
    assert str(events(again)[0]["uid"]) == str(event["uid"])


async def _true(value: bool) -> bool:
    return value


async def test_a_weekly_series_is_one_event_that_keeps_its_clock_time_across_the_clock_change(
    community: Cultivate, slack: FakeSlack
) -> None:
    # Tuesdays at 10:00 in London, either side of the end of summer time (31 October 2027).
    values = meeting_values(day="2027-10-12", at="10:00", recurrence="weekly", until="2027-11-16")
    await plan_meeting(community, values)
    [message] = announcements(slack)
    calendar = await add_to_calendar(community, message)

    [event] = events(calendar)  # one recurring event, never a copy per session
    assert event["dtstart"].params["TZID"] == "Europe/London"
    starts = expand(event, datetime(2028, 1, 1, tzinfo=UTC))
    assert len(starts) == 6  # 12 Oct to 16 Nov, inclusive
    assert {s.astimezone(LONDON).strftime("%a %H:%M") for s in starts} == {"Tue 10:00"}
    in_utc = [s.astimezone(UTC).hour for s in starts]
    assert in_utc == [9, 9, 9, 10, 10, 10]  # BST until 31 October, GMT after
    # The sessions the app planned (and announces and reminds of) fall where the calendar says.
    planned = {o.starts_at for o in await stored(community, MeetingOccurrence)}
    assert planned and planned <= {s.astimezone(UTC) for s in starts}
    assert starts[0].astimezone(UTC) == datetime(2027, 10, 12, 9, 0, tzinfo=UTC)


async def test_a_cancelled_meeting_is_cancelled_in_the_calendar(
    community: Cultivate, slack: FakeSlack
) -> None:
    await plan_meeting(community, meeting_values())
    [message] = announcements(slack)
    await cancel_the_meeting(community, slack)

    [event] = events(await add_to_calendar(community, message))
    assert str(event["status"]) == "CANCELLED"
    assert event["sequence"] >= 2  # a later version than the one first given out


async def test_a_series_cancelled_part_way_keeps_its_held_sessions_and_cancels_the_rest(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    values = meeting_values(day="2026-12-08", at="18:00", recurrence="weekly")
    await plan_meeting(community, values)
    [message] = announcements(slack)
    # The first session is held; then the series is cancelled.
    await run_until(community, clock, datetime(2026, 12, 8, 19, 30, tzinfo=UTC))
    await cancel_the_meeting(community, slack)

    master, *overrides = events(await add_to_calendar(community, message))
    assert str(master["status"]) == "CONFIRMED"
    starts = expand(master, datetime(2028, 1, 1, tzinfo=UTC))
    assert starts[0] == datetime(2026, 12, 8, 18, 0, tzinfo=LONDON)  # held: still there
    assert len(starts) < 10  # the series ends where it was cancelled
    cancelled = [o for o in await stored(community, MeetingOccurrence) if o.cancelled_at]
    assert len(overrides) == len(cancelled) > 0  # the planned sessions show as cancelled
    for override in overrides:
        assert str(override["uid"]) == str(master["uid"])
        assert str(override["status"]) == "CANCELLED"
        recurrence_id = override.decoded("recurrence-id")
        assert recurrence_id in starts[1:]
        assert override["recurrence-id"].params["TZID"] == "Europe/London"


async def test_a_private_address_serves_the_communitys_meetings_and_a_wrong_one_nothing(
    community: Cultivate, slack: FakeSlack
) -> None:
    await plan_meeting(community, meeting_values())
    answer = await cop_calendar(community, user=CARMEN, count=1)
    path = address_in(answer)
    assert not any(b["type"] == "actions" for b in answer["blocks"])  # no revoking for members

    status, kind, body = await fetch(community, path)
    assert status == 200 and kind.startswith("text/calendar")
    calendar = Calendar.from_ical(body)
    assert str(calendar["x-wr-calname"]) == "Housing policy meetings"
    [event] = events(calendar)
    assert str(event["summary"]) == TYPED_TITLE

    # Only the secret's hash is kept: the database alone cannot subscribe.
    [row] = await stored(community, CalendarFeed)
    secret = path.removeprefix("/calendar/").removesuffix(".ics")
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in row.token_hash

    wrong = f"/calendar/{secrets.token_urlsafe(32)}.ics"
    for refused in (wrong, "/calendar/short.ics", f"/calendar/{row.token_hash}.ics"):
        status, _, body = await fetch(community, refused)
        assert status == 404 and "Housing" not in body

    # Asking again does not show it again (it is not kept), but offers a new one.
    again = await cop_calendar(community, user=CARMEN, count=2)
    assert not ADDRESS.search(str(again))
    [new] = [e for b in again["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert new["action_id"] == "calendar_new_address"
    await community.click(
        {"action_id": new["action_id"], "type": "button", "value": new["value"]},
        user=CARMEN,
        channel=HOUSING,
    )

    def new_addresses() -> set[str]:
        return {m.group(1) for e in slack.ephemerals for m in ADDRESS.finditer(str(e))} - {path}

    await eventually(lambda: _true(bool(new_addresses())))
    [new_path] = new_addresses()
    assert (await fetch(community, new_path))[0] == 200
    assert (await fetch(community, path))[0] == 404  # the old one stopped working


async def test_a_coordinator_revokes_every_address_and_nobody_else_can(
    community: Cultivate, slack: FakeSlack
) -> None:
    await plan_meeting(community, meeting_values())
    members_path = address_in(await cop_calendar(community, user=CARMEN, count=1))
    coordinators = await cop_calendar(community, user=ASHA, count=2)
    coordinators_path = address_in(coordinators)
    revoke = revoke_button(coordinators)

    # Anyone else pressing it (a forged click) is refused, and every address still works.
    for who in (CARMEN, BEN):
        reply = await community.click(
            {"action_id": revoke["action_id"], "type": "button", "value": revoke["value"]},
            user=who,
            channel=HOUSING,
        )
        assert reply.status == 200
    await community.settled()
    refused = "Only this community's coordinators can revoke its calendar addresses."
    told = [(e["user"], e["text"]) for e in slack.ephemerals]  # in the channel, or else by DM
    told += [(c.args["channel"], c.args["text"]) for c in slack.calls_to("chat.postMessage")]
    assert {who for who, text in told if text == refused} == {CARMEN, BEN}
    assert (await fetch(community, members_path))[0] == 200

    reply = await community.click(
        {"action_id": revoke["action_id"], "type": "button", "value": revoke["value"]},
        user=ASHA,
        channel=HOUSING,
    )
    assert reply.status == 200
    await slack.wait_for("chat.postMessage", lambda c: "revoked" in c.args.get("text", ""))
    for path in (members_path, coordinators_path):
        status, _, body = await fetch(community, path)
        assert status == 404 and "Housing" not in body
    assert await stored(community, CalendarFeed) == []
    # A member makes a new one as before.
    assert (
        await fetch(community, address_in(await cop_calendar(community, user=CARMEN, count=3)))
    )[0] == 200


async def test_forgetting_a_person_removes_their_calendar_address(
    community: Cultivate, slack: FakeSlack
) -> None:
    path = address_in(await cop_calendar(community, user=CARMEN, count=1))
    assert (await fetch(community, path))[0] == 200
    await community.command("forget", user=CARMEN)
    view = await community.opened_view("forget_form")
    assert "your private calendar addresses: 1" in json.dumps(view["blocks"])
    reply = await community.submit(view, {FORGET: {FORGET: "keep"}}, user=CARMEN)
    assert reply.json["response_action"] == "update", reply.body
    assert (await fetch(community, path))[0] == 404
    assert await stored(community, CalendarFeed) == []


async def test_the_access_log_never_shows_an_addresss_secret(
    community: Cultivate, caplog: pytest.LogCaptureFixture
) -> None:
    path = address_in(await cop_calendar(community, user=CARMEN, count=1))
    secret = path.removeprefix("/calendar/").removesuffix(".ics")
    # aiohttp decides whether to log when a connection opens: open a new one.
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        async with (
            aiohttp.ClientSession() as http,
            http.get(community.server.make_url(path)) as response,
        ):
            assert response.status == 200
        # The server logs the request once it has answered it.
        await eventually(lambda: _true("/calendar/" in caplog.text))
    assert secret not in caplog.text


async def test_each_reminder_offers_add_to_calendar(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await plan_meeting(community, meeting_values(reminders=["1d"]))
    await run_until(community, clock, datetime(2026, 12, 7, 18, 1, tzinfo=UTC))
    [reminder] = [m for m in slack.messages(HOUSING) if m.get("text", "").startswith("⏰")]
    [event] = events(await add_to_calendar(community, reminder))
    assert str(event["summary"]) == TYPED_TITLE


async def test_an_address_stops_working_when_its_person_leaves_a_private_community(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    slack.workspace.channels[HOUSING].is_private = True
    await start_community(cultivate, timezone="Europe/London")
    path = address_in(await cop_calendar(cultivate, user=CARMEN, count=1))
    assert (await fetch(cultivate, path))[0] == 200
    await left(cultivate, CARMEN)
    await cultivate.settled()
    assert (await fetch(cultivate, path))[0] == 404


async def test_without_a_public_address_cop_calendar_says_what_it_needs(
    slack: FakeSlack, database: Database, database_url: str, clock: ManualClock
) -> None:
    async with serving_app(slack, database, database_url, clock) as unaddressed:
        await start_community(unaddressed, timezone="Europe/London")
        answer = await cop_calendar(unaddressed, user=CARMEN, count=1)
        assert "`PUBLIC_URL`" in answer["text"] and "/calendar/" not in str(answer)
        assert await stored(unaddressed, CalendarFeed) == []


def test_an_idle_app_does_not_import_icalendar() -> None:
    code = "import sys, bot.app, handlers; assert 'icalendar' not in sys.modules"
    subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, env={"PYTHONPATH": str(ROOT)}
    )


async def test_in_the_sandbox_the_ics_is_a_file_to_download_and_the_address_is_its_own(
    sandbox: Sandbox,
) -> None:
    async with aiohttp.ClientSession() as http:
        page = Page(sandbox, http)
        await page.start_community()
        assert (await page.type("/cop meeting")).json == {"status": 200}
        view = await page.modal("meeting_form")
        values = meeting_values(day="2027-06-01", timezone="Europe/London")
        saved = await page.post("submit", {"as": ASHA, "view_id": view["id"], "values": values})
        assert saved.json == {"status": 200, "errors": {}}, saved.json
        message = await page.until(
            lambda s: next((m for m in s["messages"][HOUSING] if "📅" in str(m)), None)
        )
        index, block = next(
            (n, b)
            for n, b in enumerate(message["blocks"])
            if b.get("accessory", {}).get("action_id") == "meeting_add_to_calendar"
        )
        clicked = await page.post(
            "action",
            {
                "as": ASHA,
                "source": {"kind": "message", "ts": message["ts"], "channel": HOUSING},
                "block_index": index,
                "block_id": block.get("block_id"),
                "action_id": "meeting_add_to_calendar",
            },
        )
        assert clicked.json == {"status": 200}
        [shared] = await page.until(lambda s: [f for f in s["files"] if f["name"].endswith("ics")])
        async with http.get(f"{page.api}/files/{shared['id']}") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/calendar")
            [event] = events(Calendar.from_ical(await response.read()))
        assert str(event["summary"]) == TYPED_TITLE
        # The page offers every file for download.
        assert "download: file.name" in (STATIC / "sandbox.js").read_text()

        # `/cop calendar` gives an address on the sandbox's own server.
        assert (await page.type("/cop calendar")).json == {"status": 200}
        answer = await page.until(
            lambda s: next((e for e in s["ephemerals"] if "/calendar/" in str(e)), None)
        )
        found = re.search(r"http://127\.0\.0\.1:\d+(/calendar/[A-Za-z0-9_-]+\.ics)", str(answer))
        assert found, answer
        async with http.get(f"{sandbox.base_url}{found.group(1)}") as response:
            assert response.status == 200
            assert events(Calendar.from_ical(await response.read()))


async def cancel_the_meeting(community: Cultivate, slack: FakeSlack) -> None:
    """*Cancel* on the community's one meeting in `/cop meetings`, until the channel is told."""
    listing = await meetings_command(community)
    cancel = next(
        e
        for b in listing["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith("meeting_cancel:")
    )
    await click_in_listing(community, listing, cancel)
    await slack.wait_for("chat.postMessage", lambda c: "cancelled" in c.args.get("text", ""))
