"""Milestones from governance: the owner reminded a week and a day before, "Mark done" from the
reminder (by the owner or a coordinator only), overdue ones flagged in status and App Home."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from bot.catalogue import GOVERNANCE
from bot.clock import ManualClock
from fakeslack import FakeSlack
from storage.models import ScheduledSend, StageRevision
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, Cultivate
from tests.steps import add_milestone, open_home, open_stage, run_until, texts


async def pending_reminders(cultivate: Cultivate) -> list[ScheduledSend]:
    async with cultivate.database.session() as session:
        rows = await session.exec(
            select(ScheduledSend)
            .where(ScheduledSend.kind == "milestone_reminder", ScheduledSend.state == "pending")
            .order_by(col(ScheduledSend.due_at))
        )
        return list(rows.all())


def dms(slack: FakeSlack, user: str) -> list[Any]:
    return [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == user and c.ok]


async def test_the_owner_is_reminded_a_week_and_a_day_before_at_nine_local_time(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await add_milestone(community, title="Pilot <!here>", due="2027-06-20", owner=BEN)
    # 09:00 in London in June is 08:00 UTC.
    assert [r.due_at for r in await pending_reminders(community)] == [
        datetime(2027, 6, 13, 8, 0, tzinfo=UTC),
        datetime(2027, 6, 19, 8, 0, tzinfo=UTC),
    ]
    await run_until(community, clock, datetime(2027, 6, 13, 8, 0, tzinfo=UTC))
    [week] = dms(slack, BEN)
    assert "*Pilot &lt;!here&gt;*" in week.args["text"] and "<!here>" not in week.args["text"]
    assert "due in a week, on Sun 20 Jun 2027" in week.args["text"]
    await run_until(community, clock, datetime(2027, 6, 19, 8, 0, tzinfo=UTC))
    assert "due tomorrow" in dms(slack, BEN)[1].args["text"]
    assert len(dms(slack, BEN)) == 2


async def test_changing_the_date_in_governance_replans_the_reminders(
    community: Cultivate,
) -> None:
    await add_milestone(community, title="Pilot", due="2027-06-20", owner=BEN)
    await add_milestone(community, title="Unowned", due="2027-06-20")
    await add_milestone(community, title="Soon", due="2026-12-03", owner=BEN)
    # Unowned: nobody to remind. Soon (due in two days): only the day-before reminder.
    assert [
        (r.payload["title"], r.payload["days"]) for r in await pending_reminders(community)
    ] == [
        ("Soon", 1),
        ("Pilot", 7),
        ("Pilot", 1),
    ]
    form = await open_stage(community, GOVERNANCE)
    await community.click(
        {
            "action_id": "list_edit:milestones",
            "type": "static_select",
            "selected_option": {"value": "0"},
        },
        view=form,
    )
    edit = await community.opened_view("stage_list_item", method="views.push", count=4)
    await community.submit(edit, {"due": {"due": "2027-07-01"}})
    assert [
        (r.payload["title"], r.due_at.date().isoformat())
        for r in await pending_reminders(community)
    ] == [
        ("Soon", "2026-12-02"),
        ("Pilot", "2027-06-24"),
        ("Pilot", "2027-06-30"),
    ]


async def test_mark_done_is_for_the_owner_or_a_coordinator_and_stops_the_reminders(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await add_milestone(community, title="Pilot", due="2027-06-20", owner=BEN)
    await run_until(community, clock, datetime(2027, 6, 13, 8, 0, tzinfo=UTC))
    [reminder] = dms(slack, BEN)
    button = reminder.args["blocks"][1]["elements"][0]
    assert button["text"]["text"] == "Mark done"
    click = {"action_id": button["action_id"], "type": "button", "value": button["value"]}
    message = reminder.response["message"]
    channel = reminder.response["channel"]

    # Carmen (neither owner nor coordinator) cannot, even with the button's value.
    await community.click(click, user=CARMEN, channel=channel, message=message)
    refused = await community.ephemeral()
    assert "owner or a coordinator" in refused["text"]
    assert len(await pending_reminders(community)) == 1

    await community.click(click, user=BEN, channel=channel, message=message)
    done = await community.ephemeral(count=2)
    assert done["replace_original"] is True and "✅ *Pilot*" in done["text"]
    async with community.database.session() as session:
        latest = (
            await session.exec(
                select(StageRevision)
                .where(StageRevision.stage == "governance")
                .order_by(col(StageRevision.version).desc())
            )
        ).first()
    assert latest is not None and latest.edited_by == BEN
    assert latest.answers["milestones"][0]["done"] == "2027-06-13"
    assert await pending_reminders(community) == []  # the day-before reminder is cancelled
    await run_until(community, clock, datetime(2027, 6, 25, tzinfo=UTC))
    assert len(dms(slack, BEN)) == 1

    # A forged value for a milestone that is not there changes nothing.
    forged = json.loads(button["value"]) | {"title": "Nope"}
    await community.click(
        click | {"value": json.dumps(forged)}, user=ASHA, channel=channel, message=message
    )
    assert "changed or removed" in (await community.ephemeral(count=3))["text"]


async def test_an_overdue_milestone_is_flagged_in_status_and_home(
    community: Cultivate, clock: ManualClock
) -> None:
    await add_milestone(community, title="Late <b>one</b>", due="2026-11-30", owner=BEN)
    await add_milestone(community, title="Today", due="2026-12-01", owner=BEN)
    await add_milestone(community, title="Done", due="2026-11-01", done="2026-11-01")
    await community.command("status", channel=HOUSING, user=CARMEN)
    answer = await community.ephemeral()
    flagged = [
        b["text"]["text"]
        for b in answer["blocks"]
        if "Overdue" in b.get("text", {}).get("text", "")
    ]
    assert flagged == [
        "⚠️ *Overdue milestones*\n• *Late &lt;b&gt;one&lt;/b&gt;*, due Mon 30 Nov 2026 · <@U0BEN>"
    ]
    assert "Overdue milestones" in texts(await open_home(community, ASHA))
