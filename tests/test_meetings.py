"""Meetings: the form, announcements with RSVPs, reminders on time and never lost, DST,
edit and cancel, notes afterwards."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.catalogue import ROLES
from bot.claims import Batched
from bot.clock import ManualClock
from bot.services.errors import EditConflict
from bot.services.meetings import edit_meeting
from fakeslack import FakeSlack
from storage.models import Meeting, MeetingAction, MeetingOccurrence, Rsvp
from storage.repositories import meetings as meetings_repository
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, TEAM, Cultivate, eventually
from tests.steps import (
    announcements,
    as_values,
    button_in,
    click_in_listing,
    inputs_of,
    meeting_values,
    open_home,
    open_rows,
    open_stage,
    plan_meeting,
    run_until,
    sent_rows,
    texts,
)

LONDON = ZoneInfo("Europe/London")
DATE_TOKEN = re.compile(r"<!date\^(\d+)\^")


def rsvp_buttons(message: dict[str, Any]) -> dict[str, str]:
    return {
        e["action_id"]: e["text"]["text"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }


def reminders(slack: FakeSlack, channel: str = HOUSING) -> list[dict[str, Any]]:
    return [m for m in slack.messages(channel) if m.get("text", "").startswith("⏰")]


async def sessions_to_come(cultivate: Cultivate, now: datetime) -> list[MeetingOccurrence]:
    async with cultivate.database.session() as session:
        query = select(MeetingOccurrence).where(col(MeetingOccurrence.starts_at) > now)
        return list((await session.exec(query)).all())


def shown_moment(text: str) -> datetime:
    """The moment a `<!date^…>` token in a message shows."""
    found = DATE_TOKEN.search(text)
    assert found, text
    return datetime.fromtimestamp(int(found.group(1)), UTC)


async def test_a_meeting_is_announced_with_rsvp_buttons_and_its_text_escaped(
    community: Cultivate, slack: FakeSlack
) -> None:
    await community.command("meeting")
    view = await community.opened_view("meeting_form")
    inputs = inputs_of(view)
    assert inputs["timezone"]["element"]["initial_option"]["value"] == "Europe/London"
    assert inputs["time"]["element"]["type"] == "timepicker"
    assert [o["value"] for o in inputs["reminders"]["element"]["options"]] == [
        "1w",
        "1d",
        "1h",
        "15m",
    ]
    reply = await community.submit(view, meeting_values())
    assert reply.status == 200 and reply.body == "", reply.body
    await eventually(lambda: sent_rows(community, "meeting_announcement"))

    [message] = announcements(slack)
    text = " ".join(b.get("text", {}).get("text", "") for b in message["blocks"])
    assert "Monthly &lt;!channel&gt; catch-up" in text and "<!channel>" not in text
    assert "<!channel>" not in message["text"]
    assert "Drafts &amp; questions" in text
    assert "(18:00 Europe/London)" in text
    # 18:00 in London on 8 December is 18:00 UTC.
    assert shown_moment(text) == datetime(2026, 12, 8, 18, 0, tzinfo=UTC)
    assert rsvp_buttons(message) == {
        "rsvp:going": "Going (0)",
        "rsvp:maybe": "Maybe (0)",
        "rsvp:cant": "Can't go (0)",
    }
    kinds = sorted(r.kind for r in await open_rows(community))
    assert kinds == [
        "meeting_notes_prompt",
        "meeting_plan_ahead",
        "meeting_reminder",
        "meeting_reminder",
    ]


async def test_each_reminder_goes_out_once_on_time_and_none_after_the_start(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await plan_meeting(community, meeting_values(reminders=["1w", "1d", "1h", "15m"]))
    start = datetime(2026, 12, 8, 18, 0, tzinfo=UTC)
    # Planned 7 days and 9 hours ahead: the week-before reminder is still to come.
    due = sorted(r.due_at for r in await open_rows(community, "meeting_reminder"))
    assert due == [
        start - timedelta(weeks=1),
        start - timedelta(days=1),
        start - timedelta(hours=1),
        start - timedelta(minutes=15),
    ]

    clock.set(start - timedelta(days=1, seconds=1))
    await community.tick()
    assert [m["text"].split(":")[0] for m in reminders(slack)] == [
        "⏰ *Monthly &lt;!channel&gt; catch-up* starts in a week"
    ]
    for before in (timedelta(days=1), timedelta(hours=1), timedelta(minutes=15)):
        clock.set(start - before)
        await community.tick()
        await community.tick()
    sent = [m["text"] for m in reminders(slack)]
    assert len(sent) == 4
    assert "starts tomorrow" in sent[1] and "starts in an hour" in sent[2]
    assert "starts in 15 minutes" in sent[3]
    assert all(shown_moment(t) == start for t in sent)
    assert all("<!channel>" not in t for t in sent)
    clock.set(start + timedelta(hours=2))
    await community.tick()
    assert len(reminders(slack)) == 4


async def test_a_meetings_rows_say_where_they_post_so_one_scheduler_paces_each_channel(
    community: Cultivate, slack: FakeSlack
) -> None:
    await plan_meeting(community, meeting_values(reminders=["1d", "1h"]))
    (announced,) = await sent_rows(community, "meeting_announcement")
    assert announced.channel == HOUSING
    # Reminders post in the channel; the notes prompt is a DM to whoever organised it.
    posting = {(row.kind, row.channel) for row in await open_rows(community)}
    assert posting == {
        ("meeting_reminder", HOUSING),
        ("meeting_notes_prompt", ASHA),
        ("meeting_plan_ahead", None),  # posts nothing: plans the next sessions
    }


async def test_a_weekly_1800_london_meeting_stays_at_1800_across_both_dst_changes(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    # British Summer Time runs from 28 March to 31 October 2027.
    clock.set(datetime(2027, 3, 15, 9, 0, tzinfo=UTC))
    await plan_meeting(
        community,
        meeting_values(
            "2027-03-16", "18:00", recurrence="weekly", until="2027-11-09", reminders=["1h"]
        ),
    )
    sent_at: list[datetime] = []
    before = 0
    while (pending := await open_rows(community)) and clock.now() < datetime(
        2027, 11, 11, tzinfo=UTC
    ):
        clock.set(pending[0].due_at)
        await community.tick()
        assert len(await sessions_to_come(community, clock.now())) <= 2  # a bounded window
        now_sent = reminders(slack)
        sent_at += [clock.now()] * (len(now_sent) - before)
        before = len(now_sent)

    shown = [shown_moment(m["text"]) for m in reminders(slack)]
    assert len(shown) == 35  # every Tuesday from 16 March to 9 November
    assert {m.astimezone(LONDON).strftime("%a %H:%M") for m in shown} == {"Tue 18:00"}
    by_day = {m.date().isoformat(): m.strftime("%H:%M") for m in shown}
    assert by_day["2027-03-23"] == "18:00"  # GMT: 18:00 UTC
    assert by_day["2027-03-30"] == "17:00"  # BST: 17:00 UTC
    assert by_day["2027-10-26"] == "17:00"
    assert by_day["2027-11-02"] == "18:00"
    # Each reminder went out an hour before its session, by the clock.
    assert [s - timedelta(hours=1) for s in shown] == sent_at
    async with community.database.session() as session:
        planned = (await session.exec(select(MeetingOccurrence))).all()
    assert len(planned) == 35  # and none past the last date


async def test_cancelling_leaves_nothing_pending_and_says_so(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await plan_meeting(community, meeting_values(recurrence="weekly", reminders=["1d", "1h"]))
    assert len(await open_rows(community, "meeting_reminder")) == 4  # two sessions planned
    await community.command("meetings")
    listing = await community.ephemeral()
    cancel = button_in(listing, "meeting_cancel:")
    assert cancel["confirm"]["confirm"]["text"] == "Cancel it"
    # Someone who is not a coordinator or facilitator cannot, whatever they click.
    await click_in_listing(community, listing, cancel, user=BEN)
    refused = await community.ephemeral(count=2)
    assert "coordinators and facilitators" in refused["text"]
    assert len(await open_rows(community, "meeting_reminder")) == 4

    await click_in_listing(community, listing, cancel)
    await slack.wait_for("chat.postMessage", lambda c: "cancelled" in c.args["text"])
    assert await open_rows(community) == []
    updated = await slack.wait_for("chat.update")
    assert "Cancelled" in updated[-1].args["blocks"][0]["text"]["text"]
    assert announcements(slack) == []  # the buttons are gone
    relisted = await community.ephemeral(count=3)
    assert relisted["replace_original"] is True
    assert "No meetings are planned" in relisted["blocks"][0]["text"]["text"]

    await run_until(community, clock, datetime(2026, 12, 31, tzinfo=UTC))
    assert reminders(slack) == []


async def test_editing_the_time_moves_every_reminder_and_the_announcement(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await plan_meeting(community, meeting_values(reminders=["1d", "1h"]))
    start = datetime(2026, 12, 8, 18, 0, tzinfo=UTC)
    assert sorted(r.due_at for r in await open_rows(community, "meeting_reminder")) == [
        start - timedelta(days=1),
        start - timedelta(hours=1),
    ]
    await community.command("meetings")
    listing = await community.ephemeral()
    edit = button_in(listing, "meeting_edit:")
    await click_in_listing(community, listing, edit)
    form = await community.opened_view("meeting_form", count=2)
    inputs = inputs_of(form)
    assert inputs["time"]["element"]["initial_time"] == "18:00"
    assert inputs["date"]["element"]["initial_date"] == "2026-12-08"
    assert inputs["title"]["element"]["initial_value"] == "Monthly <!channel> catch-up"
    reply = await community.submit(form, {"time": {"time": "19:30"}})
    assert reply.body == "", reply.body

    moved = start + timedelta(hours=1, minutes=30)
    assert sorted(r.due_at for r in await open_rows(community, "meeting_reminder")) == [
        moved - timedelta(days=1),
        moved - timedelta(hours=1),
    ]
    await slack.wait_for("chat.update")
    [announcement] = announcements(slack)
    assert shown_moment(announcement["blocks"][0]["text"]["text"]) == moved
    assert "(19:30 Europe/London)" in announcement["blocks"][0]["text"]["text"]

    await run_until(community, clock, datetime(2026, 12, 9, tzinfo=UTC))
    sent = reminders(slack)
    assert len(sent) == 2
    assert all(shown_moment(m["text"]) == moved for m in sent)


async def test_429_and_server_errors_delay_a_reminder_but_never_lose_it(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await plan_meeting(community, meeting_values(reminders=["1h", "15m"]))
    start = datetime(2026, 12, 8, 18, 0, tzinfo=UTC)
    clock.set(start - timedelta(hours=1))
    # Two 429s: slack_sdk waits out the first itself; the second puts the row back.
    slack.inject_http("chat.postMessage", 429, times=2, retry_after=1)
    await community.dispatcher.run_once()
    [waiting] = [r for r in await open_rows(community, "meeting_reminder") if r.attempts]
    assert (waiting.state, waiting.last_error) == ("pending", "ratelimited")
    assert waiting.due_at == clock.now() + timedelta(seconds=1)
    assert reminders(slack) == []
    clock.advance(timedelta(seconds=1))
    slack.inject_http("chat.postMessage", 503, times=1)
    await community.tick()
    assert reminders(slack) == []
    clock.advance(timedelta(seconds=60))  # the backoff after a second failure
    await community.tick()
    assert ["starts in an hour" in m["text"] for m in reminders(slack)] == [True]

    clock.set(start - timedelta(minutes=15))
    slack.inject_http("chat.postMessage", 500, times=1)
    await community.tick()
    clock.advance(timedelta(seconds=30))
    await community.tick()
    assert ["in 15 minutes" in m["text"] for m in reminders(slack)] == [False, True]


async def test_rsvp_counts_are_exact_after_50_concurrent_clicks(
    community: Cultivate, slack: FakeSlack
) -> None:
    await plan_meeting(community, meeting_values())
    [message] = announcements(slack)
    people = slack.workspace.add_people(50, channels=[HOUSING])
    answers = ["going"] * 30 + ["maybe"] * 15 + ["cant"] * 5
    session_id = next(
        e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    replies = await asyncio.gather(
        *(
            community.click(
                {"action_id": f"rsvp:{answer}", "type": "button", "value": session_id},
                user=person,
                channel=HOUSING,
                message=message,
            )
            for person, answer in zip(people, answers, strict=True)
        )
    )
    assert {r.status for r in replies} == {200}

    async def settled() -> bool:
        [now] = announcements(slack)
        return rsvp_buttons(now) == {
            "rsvp:going": "Going (30)",
            "rsvp:maybe": "Maybe (15)",
            "rsvp:cant": "Can't go (5)",
        }

    await eventually(settled, timeout=20)
    async with community.database.session() as session:
        rows = (await session.exec(select(Rsvp))).all()
    assert len(rows) == 50
    # A burst is drawn as often as needed, never more than once per click.
    assert len(slack.calls_to("chat.update")) <= 50

    # Changing one's mind replaces the answer rather than adding one.
    await community.click(
        {"action_id": "rsvp:going", "type": "button", "value": session_id},
        user=people[-1],
        channel=HOUSING,
        message=message,
    )

    async def changed() -> bool:
        [now] = announcements(slack)
        return rsvp_buttons(now)["rsvp:going"] == "Going (31)"

    await eventually(changed)
    assert rsvp_buttons(announcements(slack)[0])["rsvp:cant"] == "Can't go (4)"


async def test_after_the_meeting_the_facilitator_is_asked_for_notes_which_are_posted(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await plan_meeting(community, meeting_values(facilitator=NOOR, reminders=[]))
    await run_until(community, clock, datetime(2026, 12, 8, 19, 0, tzinfo=UTC))
    [prompt] = await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == NOOR)
    assert "How did *Monthly &lt;!channel&gt; catch-up* go?" in prompt.args["text"]
    button = prompt.args["blocks"][1]["elements"][0]
    await community.click(
        {"action_id": button["action_id"], "type": "button", "value": button["value"]},
        user=NOOR,
        channel=prompt.response["channel"],
        message=prompt.response["message"],
    )
    form = await community.opened_view("meeting_notes")
    # Someone with no part in the meeting cannot write its notes.
    refused = await community.submit(form, {"notes": {"notes": "Hijack"}}, user=CARMEN)
    assert "facilitator" in refused.json["errors"]["notes"]
    reply = await community.submit(
        form,
        {
            "notes": {"notes": "We agreed <!here> to share drafts"},
            "actions": {"actions": "- Noor: circulate the draft\n\n* Ben: book a room"},
        },
        user=NOOR,
    )
    # With actions, the form turns into the one giving them owners and dates.
    assert reply.json["response_action"] == "update"
    assert reply.json["view"]["callback_id"] == "meeting_actions"
    [posted] = await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == HOUSING and "Notes" in c.args["text"]
    )
    text = " ".join(b.get("text", {}).get("text", "") for b in posted.args["blocks"])
    assert "We agreed &lt;!here&gt; to share drafts" in text and "<!here>" not in text
    assert "• Noor: circulate the draft\n• Ben: book a room" in text
    async with community.database.session() as session:
        [held] = (await session.exec(select(MeetingOccurrence))).all()
        agreed = (await session.exec(select(MeetingAction).order_by(MeetingAction.position))).all()
    assert held.notes == "We agreed <!here> to share drafts"
    assert [a.text for a in agreed] == ["Noor: circulate the draft", "Ben: book a room"]
    assert held.notes_by == NOOR


async def test_only_coordinators_and_facilitators_plan_meetings(
    community: Cultivate, slack: FakeSlack
) -> None:
    await community.command("meeting", user=BEN)
    assert "coordinators and facilitators" in (await community.ephemeral())["text"]
    assert slack.calls_to("views.open") == []
    # A forged submission is refused where it is saved.
    await community.command("meeting")
    view = await community.opened_view("meeting_form")
    reply = await community.submit(view, meeting_values(), user=BEN)
    assert "coordinators and facilitators" in reply.json["errors"]["title"]
    assert await open_rows(community) == []
    # Once Ben is a facilitator (the roles stage's answer), he can.
    roles = await open_stage(community, ROLES)
    await community.submit(roles, as_values({"coordinators": [ASHA], "facilitators": [BEN]}))
    reply = await plan_meeting(community, meeting_values(), user=BEN)
    assert reply.body == ""


async def test_bad_answers_are_refused_naming_the_field_and_nothing_is_saved(
    community: Cultivate,
) -> None:
    await community.command("meeting")
    view = await community.opened_view("meeting_form")
    reply = await community.submit(
        view, meeting_values("2026-11-30", "18:00", timezone="Mars/Olympus")
    )
    assert reply.json["errors"].keys() == {"timezone"}
    reply = await community.submit(view, meeting_values("2026-11-30", "18:00"))
    assert "already passed" in reply.json["errors"]["time"]
    reply = await community.submit(
        view, meeting_values(recurrence="weekly", until="2026-12-01", title="x" * 200)
    )
    assert reply.json["errors"].keys() == {"title"}
    reply = await community.submit(view, meeting_values(recurrence="weekly", until="2026-12-01"))
    assert reply.json["errors"].keys() == {"until"}
    assert await open_rows(community) == []


async def test_status_shows_the_next_meeting(community: Cultivate, slack: FakeSlack) -> None:
    await community.command("status", user=BEN)
    before = await community.ephemeral()
    assert any(
        "No meeting is planned" in b.get("text", {}).get("text", "") for b in before["blocks"]
    )
    await plan_meeting(community, meeting_values("2026-12-15"))
    await plan_meeting(community, meeting_values("2026-12-08", title="Sooner"))
    await community.command("status", user=BEN)
    answer = await community.ephemeral(count=2)
    [line] = [
        b["text"]["text"]
        for b in answer["blocks"]
        if "Next meeting" in b.get("text", {}).get("text", "")
    ]
    assert "Sooner" in line
    assert shown_moment(line) == datetime(2026, 12, 8, 18, 0, tzinfo=UTC)


async def test_a_reminder_retaken_after_its_sender_died_is_not_posted_twice(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await plan_meeting(community, meeting_values(reminders=["15m"]))
    clock.set(datetime(2026, 12, 8, 17, 45, tzinfo=UTC))
    # A process claims the reminder, Slack takes the post, and the process dies before it
    # can record that: the row stays claimed.
    dying = community.app.dispatcher(worker="dying")

    async def never(outcomes: list[Any]) -> list[None]:
        await asyncio.Event().wait()
        return []

    dying._recording = Batched(never)  # what it sent is never recorded
    heartbeat = asyncio.create_task(dying.run_once())
    await slack.wait_for("chat.postMessage", lambda c: c.args["text"].startswith("⏰"))
    heartbeat.cancel()  # the process is gone
    assert len(reminders(slack)) == 1
    [claimed] = await open_rows(community, "meeting_reminder")
    assert (claimed.state, claimed.claimed_by) == ("claimed", "dying")

    clock.advance(timedelta(seconds=21))  # past the lease
    await community.tick()
    assert len(reminders(slack)) == 1
    assert await open_rows(community, "meeting_reminder") == []
    history = slack.calls_to("conversations.history")
    assert history and history[-1].args["include_all_metadata"] in (True, "1", "true")


async def test_coordinators_see_what_is_scheduled_and_what_failed_in_app_home(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await plan_meeting(community, meeting_values(reminders=["1d", "1h"]))
    home = texts(await open_home(community, ASHA))
    assert "*Scheduled*" in home
    assert "• a meeting reminder: Monthly &lt;!channel&gt; catch-up — due <!date^" in home
    assert "Scheduled" not in texts(await open_home(community, BEN))

    clock.set(datetime(2026, 12, 7, 18, 0, tzinfo=UTC))
    slack.fail_next("chat.postMessage", "not_in_channel")
    await community.tick()
    home = texts(await open_home(community, ASHA))
    assert "*Could not be delivered*" in home
    assert "a meeting reminder: Monthly &lt;!channel&gt; catch-up — failed <!date^" in home
    assert "`not_in_channel`" in home


async def test_two_edits_at_once_never_leave_the_meeting_without_its_reminders(
    community: Cultivate,
) -> None:
    await plan_meeting(community, meeting_values(reminders=["1d", "1h"]))

    async def edit(at: str) -> str | None:
        answers = {key: value[key] for key, value in meeting_values(at=at).items()}
        try:
            await edit_meeting(
                community.database,
                community.runtime.clock,
                team_id=TEAM,
                meeting_id=1,
                user_id=ASHA,
                submitted=answers | {"timezone": "Europe/London"},
            )
        except EditConflict:
            return None
        return at

    outcomes = await asyncio.gather(edit("19:00"), edit("20:00"))
    assert any(outcomes)
    async with community.database.session() as session:
        meeting = await session.get(Meeting, 1)
        [occurrence] = (await session.exec(select(MeetingOccurrence))).all()
        # A change that read a plan version someone else has moved on from is refused.
        assert meeting is not None
        assert not await meetings_repository.bump_plan_version(
            session, meeting_id=1, seen=meeting.plan_version - 1
        )
    assert meeting.plan_version == 1 + sum(1 for o in outcomes if o)
    start = occurrence.starts_at
    assert f"{start.astimezone(LONDON):%H:%M}" in {o for o in outcomes if o}
    assert sorted(r.due_at for r in await open_rows(community, "meeting_reminder")) == [
        start - timedelta(days=1),
        start - timedelta(hours=1),
    ]
