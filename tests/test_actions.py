"""Actions that get done: a meeting's actions get owners and due dates, the owner a message
with *Done*, a reminder the day before (once, and not once done), and overdue actions show in
`/cop status`, App Home, the digest and the sponsor report until they are done."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import select

from bot.clock import ManualClock
from fakeslack import FakeSlack
from fakeslack.workspace import BOT_USER_ID
from storage.db import Database
from storage.migrate import upgrade
from storage.models import MeetingAction, MeetingOccurrence, Rsvp
from tests.conftest import (
    ASHA,
    BEN,
    CARMEN,
    HOUSING,
    NOOR,
    TEAM,
    Cultivate,
    eventually,
    reset_postgres,
)
from tests.steps import (
    close,
    digests,
    meeting_values,
    open_home,
    plan_meeting,
    run_until,
    status_blocks,
    texts,
)

ACTIONS = "<!channel> Ben: circulate the <b>draft</b>\nNoor: book a room"
FORGET = "forget_knowledge"  # the forget form's choice: keep what was shared, or remove it
ESCAPED = "&lt;!channel&gt; Ben: circulate the &lt;b&gt;draft&lt;/b&gt;"
AFTER_THE_MEETING = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)  # Tue 8 Dec, 18:00-19:00 London


async def notes_with_actions(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> dict[str, Any]:
    """Plan a meeting, let it happen, write its notes with two actions: the form they turn
    into (owners and dates), as Slack holds it."""
    await plan_meeting(community, meeting_values(reminders=[]))
    await run_until(community, clock, AFTER_THE_MEETING)
    [prompt] = await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == ASHA and "How did" in c.args["text"]
    )
    button = prompt.args["blocks"][1]["elements"][0]
    await community.click(
        {"action_id": button["action_id"], "type": "button", "value": button["value"]},
        channel=prompt.response["channel"],
        message=prompt.response["message"],
    )
    form = await community.opened_view("meeting_notes")
    reply = await community.submit(
        form, {"notes": {"notes": "We met."}, "actions": {"actions": ACTIONS}}
    )
    assert reply.json["response_action"] == "update"

    async def posted() -> bool:  # the notes are in the channel, and where is kept
        async with community.database.session() as session:
            return bool((await session.exec(select(MeetingOccurrence.notes_ts))).first())

    await eventually(posted)
    return slack.views[form["id"]]


def action_ids(form: dict[str, Any]) -> list[int]:
    return [
        int(b["block_id"].split(".")[1])
        for b in form["blocks"]
        if b["type"] == "input" and b["block_id"].startswith("owner.")
    ]


def owners_and_dates(**chosen: tuple[str | None, str | None]) -> dict[str, dict[str, Any]]:
    """The form's answers: {"<id>": (owner, due)}."""
    values: dict[str, dict[str, Any]] = {}
    for action_id, (owner, due) in chosen.items():
        if owner:
            values[f"owner.{action_id}"] = {f"owner.{action_id}": owner}
        if due:
            values[f"due.{action_id}"] = {f"due.{action_id}": due}
    return values


async def assigned(
    community: Cultivate, slack: FakeSlack, clock: ManualClock, *, due: str = "2026-12-15"
) -> int:
    """Notes with actions; Ben owns the first, due `due`. The first action's id."""
    form = await notes_with_actions(community, slack, clock)
    first, second = action_ids(form)
    reply = await community.submit(
        form, owners_and_dates(**{str(first): (BEN, due), str(second): (NOOR, None)})
    )
    assert reply.json == {"response_action": "clear"}
    await slack.wait_for(
        "chat.postMessage",
        lambda c: c.args["channel"] == BEN and "An action for you" in c.args["text"],
    )
    return first


def dms(slack: FakeSlack, user: str, starts: str) -> list[Any]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args["channel"] == user and c.args["text"].startswith(starts)
    ]


async def action(community: Cultivate, action_id: int) -> MeetingAction:
    async with community.database.session() as session:
        found = await session.get(MeetingAction, action_id)
        assert found is not None
        return found


async def press_done(
    community: Cultivate, call: Any, *, user: str, value: str | None = None
) -> None:
    button = next(e for b in call.args["blocks"] if b["type"] == "actions" for e in b["elements"])
    reply = await community.click(
        {"action_id": button["action_id"], "type": "button", "value": value or button["value"]},
        user=user,
        channel=call.response["channel"],
        message=call.response["message"],
    )
    assert reply.status == 200
    await community.settled()


async def test_the_owner_is_told_with_done_reminded_once_the_day_before_and_done_closes_it(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    first = await assigned(community, slack, clock)
    [told] = dms(slack, BEN, "📌")
    assert ESCAPED in told.args["text"] and "<!channel>" not in told.args["text"]
    assert (
        "Tue 15 Dec 2026" in told.args["text"]
        and "Monthly &lt;!channel&gt; catch-up" in (told.args["text"])
    )
    # The second action's owner, without a date.
    await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == NOOR)
    [theirs] = dms(slack, NOOR, "📌")
    assert "No due date" in theirs.args["text"]
    # The notes in the channel show each action's owner and date.
    updates = await slack.wait_for("chat.update", lambda c: c.args["channel"] == HOUSING)
    shown = json.dumps(updates[-1].args["blocks"])
    assert ESCAPED in shown and f"<@{BEN}>" in shown and "due Tue 15 Dec 2026" in shown
    assert "<!channel>" not in shown

    # The day before, at 09:00 London: one reminder, however often the heartbeat runs.
    clock.set(datetime(2026, 12, 14, 8, 59, tzinfo=UTC))
    await community.tick()
    assert dms(slack, BEN, "⏳") == []
    clock.set(datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    await community.tick()
    await community.tick()
    [reminder] = dms(slack, BEN, "⏳")
    assert ESCAPED in reminder.args["text"] and "due tomorrow" in reminder.args["text"]
    assert "<!channel>" not in reminder.args["text"]

    # Carmen neither owns it nor coordinates: refused where it is saved.
    await press_done(community, told, user=CARMEN)
    assert (await action(community, first)).done_at is None
    [refused] = dms(slack, CARMEN, "")
    assert "owner or a coordinator" in refused.args["text"]

    # Ben's Done closes it and changes his message in place; a second Done is harmless.
    await press_done(community, told, user=BEN)
    done = await action(community, first)
    assert done.done_at is not None and done.done_by == BEN
    [changed] = [
        c for c in slack.calls_to("chat.update") if c.args["channel"] == told.response["channel"]
    ]
    assert changed.args["text"].startswith("✅ Done") and ESCAPED in changed.args["text"]
    assert not [b for b in changed.args["blocks"] if b["type"] == "actions"]
    await press_done(community, told, user=BEN)
    assert (await action(community, first)).done_at == done.done_at


async def test_no_reminder_once_done(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await assigned(community, slack, clock)
    [told] = dms(slack, BEN, "📌")
    await press_done(community, told, user=ASHA)  # a coordinator may close it too
    clock.set(datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    await community.tick()
    await community.tick()
    assert dms(slack, BEN, "⏳") == []


async def test_a_changed_due_date_replans_the_reminder(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    first = await assigned(community, slack, clock)
    [notes] = [m for m in slack.messages(HOUSING) if "Notes from" in m.get("text", "")]
    button = next(
        e
        for b in notes["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "meeting_edit_actions"
    )
    await community.click(
        {"action_id": button["action_id"], "type": "button", "value": button["value"]},
        channel=HOUSING,
        message=notes,
    )
    form = await community.opened_view("meeting_actions")
    reply = await community.submit(form, owners_and_dates(**{str(first): (BEN, "2026-12-20")}))
    assert reply.json == {"response_action": "clear"}
    clock.set(datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    await community.tick()
    assert dms(slack, BEN, "⏳") == []  # the old date's reminder is gone
    clock.set(datetime(2026, 12, 19, 9, 0, tzinfo=UTC))
    await community.tick()
    await community.tick()
    [reminder] = dms(slack, BEN, "⏳")
    assert "Sun 20 Dec 2026" in reminder.args["text"]


async def test_bad_owners_and_dates_are_refused_naming_the_field(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    form = await notes_with_actions(community, slack, clock)
    first, second = action_ids(form)
    reply = await community.submit(
        form,
        owners_and_dates(**{str(first): (BEN, "2026-12-07"), str(second): (BOT_USER_ID, None)}),
    )
    errors = reply.json["errors"]
    assert "passed" in errors[f"due.{first}"] and "person" in errors[f"owner.{second}"]
    assert (await action(community, first)).owner is None
    # Someone with no part in the meeting cannot give owners, whatever the form held.
    reply = await community.submit(form, owners_and_dates(**{str(first): (BEN, None)}), user=CARMEN)
    assert reply.json["response_action"] == "errors"
    assert (await action(community, first)).owner is None


async def test_a_forged_action_from_another_team_is_refused(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    first = await assigned(community, slack, clock)
    async with community.database.session() as session:
        mine = await session.get(MeetingAction, first)
        assert mine is not None
        theirs = MeetingAction(
            team_id="T0OTHER",
            community_id=mine.community_id,
            occurrence_id=mine.occurrence_id,
            position=9,
            text="someone else's",
            owner=ASHA,
            created_at=mine.created_at,
        )
        session.add(theirs)
        await session.flush()
        forged = theirs.id
    [told] = dms(slack, BEN, "📌")
    await press_done(community, told, user=ASHA, value=str(forged))
    await press_done(community, told, user=ASHA, value="not-a-number")
    assert (await action(community, int(forged or 0))).done_at is None
    assert (await action(community, first)).done_at is None


async def test_overdue_actions_show_in_status_home_and_the_report_until_done(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await assigned(community, slack, clock, due="2026-12-10")
    clock.set(datetime(2026, 12, 10, 23, 0, tzinfo=UTC))  # still the 10th in London
    await community.tick()
    assert "Overdue actions" not in json.dumps(await status_blocks(community))
    clock.set(datetime(2026, 12, 11, 10, 0, tzinfo=UTC))
    await community.tick()
    status = await status_blocks(community, count=2)
    shown = json.dumps(status)
    assert "Overdue actions" in shown and ESCAPED in shown and "<!channel>" not in shown
    # Carmen neither owns it nor coordinates: she sees it, without its Done.
    assert "action_done" not in json.dumps(await status_blocks(community, user=CARMEN, count=3))
    home = texts(await open_home(community, ASHA))
    assert "Overdue actions" in home and ESCAPED in home and "<!channel>" not in home
    report = await report_markdown(community, slack)
    outcomes = report.split("## Actions from meetings")[1]
    assert "1 overdue" in outcomes and "circulate the" in outcomes
    assert "<!channel>" not in report and BEN not in report  # the report names no member

    # A coordinator's Done in `/cop status` closes it, and changes Ben's message in place.
    button = next(
        e
        for b in status
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "1. Done"
    )
    reply = await community.click(
        {"action_id": button["action_id"], "type": "button", "value": button["value"]},
        channel=HOUSING,
        message={"ts": "1.2", "blocks": status},
    )
    assert reply.status == 200
    [told] = dms(slack, BEN, "📌")
    await slack.wait_for("chat.update", lambda c: c.args["channel"] == told.response["channel"])
    assert "Overdue actions" not in json.dumps(await status_blocks(community, count=4))
    assert "Overdue actions" not in texts(await open_home(community, ASHA))


async def report_markdown(community: Cultivate, slack: FakeSlack) -> str:
    before = len(slack.files)
    await community.command("report")
    await slack.wait_for(
        "files.completeUploadExternal",
        count=len(slack.calls_to("files.completeUploadExternal")) + 1,
    )
    [report] = [f for f in slack.files[before:] if f.filename.endswith(".md")]
    return str(report.content.decode())


async def test_saved_actions_lines_become_rows(database_url: str) -> None:
    """Notes saved before: each action line becomes a row with no owner or date, in order."""
    db = Database(database_url)
    if not db.is_sqlite:
        await reset_postgres(db)
    await upgrade(db, "0016")
    async with db.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO communities (id, team_id, channel_id, name, domain, timezone, "
                "created_by, created_at, is_private) VALUES (1, :t, 'C1', 'Housing', '', "
                "'UTC', 'U1', '2026-12-01 09:00:00', false)"
            ),
            {"t": TEAM},
        )
        await connection.execute(
            text(
                "INSERT INTO meetings (id, team_id, community_id, title, agenda, purpose, "
                "first_date, start_time, timezone, duration_minutes, format, place, recurrence, "
                "reminders, organiser, plan_version, created_at, updated_at, updated_by) VALUES "
                "(1, :t, 1, 'M', '', 'meeting', '2026-12-01', '18:00:00', 'UTC', 60, 'online', "
                "'', 'none', '[]', 'U1', 1, '2026-12-01 09:00:00', '2026-12-01 09:00:00', 'U1')"
            ),
            {"t": TEAM},
        )
        await connection.execute(
            text(
                "INSERT INTO meeting_occurrences (id, team_id, community_id, meeting_id, seq, "
                "starts_at, ends_at, actions) VALUES (1, :t, 1, 1, 1, '2026-12-01 18:00:00', "
                "'2026-12-01 19:00:00', :a)"
            ),
            {"t": TEAM, "a": json.dumps(["Ben: draft", " ", "Noor: room"])},
        )
        await connection.execute(
            text(
                "INSERT INTO meeting_rsvps (team_id, occurrence_id, user_id, answer, answered_at) "
                "VALUES (:t, 1, 'U2', 'going', '2026-12-01 10:00:00')"
            ),
            {"t": TEAM},
        )
    await upgrade(db)
    async with db.session() as session:
        rows = (await session.exec(select(MeetingAction).order_by(MeetingAction.position))).all()
    assert [(r.text, r.position, r.owner, r.due, r.done_at) for r in rows] == [
        ("Ben: draft", 0, None, None, None),
        ("Noor: room", 1, None, None, None),
    ]
    async with db.session() as session:  # the session and its answers are all still there
        assert len((await session.exec(select(Rsvp))).all()) == 1
    await db.dispose()


async def test_forgetting_the_owner_keeps_the_action_under_a_stand_in_and_drops_its_reminder(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    first = await assigned(community, slack, clock)
    await community.command("forget", user=BEN, channel="C0GENERAL")
    view = await community.opened_view("forget_form")
    assert "meeting actions you own: 1" in json.dumps(view["blocks"], ensure_ascii=False)
    reply = await community.submit(view, {FORGET: {FORGET: "keep"}}, user=BEN)
    assert reply.json["response_action"] == "update", reply.body
    kept = await action(community, first)
    assert kept.owner is not None and kept.owner.startswith("erased-") and kept.text
    clock.set(datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    await community.tick()
    assert dms(slack, BEN, "⏳") == []
    clock.set(datetime(2026, 12, 16, 9, 0, tzinfo=UTC))
    shown = json.dumps(await status_blocks(community))
    assert "Overdue actions" in shown and "a former member" in shown and BEN not in shown


async def test_closing_the_community_drops_the_reminders(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await assigned(community, slack, clock)
    await close(community, closing_date="2026-12-20")
    clock.set(datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    await community.tick()
    await community.tick()
    assert dms(slack, BEN, "⏳") == []
    clock.set(datetime(2026, 12, 16, 9, 0, tzinfo=UTC))
    assert "Overdue actions" not in json.dumps(await status_blocks(community))


async def test_the_health_digest_lists_overdue_actions(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await assigned(community, slack, clock, due="2026-12-10")
    clock.set(datetime(2027, 1, 1, 9, tzinfo=UTC))  # December is over: its digest is due
    await community.tick()
    [digest] = digests(slack, ASHA)
    shown = json.dumps(digest.args["blocks"])
    assert "Overdue actions" in shown and ESCAPED in shown and "<!channel>" not in shown
    assert "action_done" not in shown  # a digest lists them; Done is in the owner's message


async def test_notes_written_again_keep_the_owners_of_the_actions_they_keep(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    first = await assigned(community, slack, clock)
    [prompt] = dms(slack, ASHA, "How did")
    button = prompt.args["blocks"][1]["elements"][0]
    await community.click(
        {"action_id": button["action_id"], "type": "button", "value": button["value"]},
        channel=prompt.response["channel"],
        message=prompt.response["message"],
    )
    form = await community.opened_view("meeting_notes", count=2)
    assert form["blocks"][-1]["element"]["initial_value"] == ACTIONS  # as typed, in order
    changed = ACTIONS.replace("Noor: book a room", "Noor: book a bigger room")
    reply = await community.submit(
        form, {"notes": {"notes": "We met."}, "actions": {"actions": changed}}
    )
    assert reply.json["response_action"] == "update"
    async with community.database.session() as session:
        rows = (await session.exec(select(MeetingAction).order_by(MeetingAction.position))).all()
    assert (rows[0].id, rows[0].owner) == (first, BEN)  # kept, with its owner
    assert rows[1].text == "Noor: book a bigger room" and rows[1].owner is None
    clock.set(datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    await community.tick()
    assert len(dms(slack, BEN, "⏳")) == 1  # its reminder still stands
