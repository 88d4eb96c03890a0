"""One definition of member: a community with people in its channel at the start, a join, a
leave, bots and a coordinator outside the channel shows the same members, joined, left and
active figures on every surface; and every count agrees with its noun."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.catalogue import ROLES
from bot.clock import ManualClock
from bot.text import plural
from fakeslack import FakeSlack
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, Cultivate
from tests.steps import (
    LIAM,
    answer,
    digests,
    figure_lines,
    joined,
    left,
    open_home,
    report_table,
    roster_view,
    rows,
    said,
    start_community,
    texts,
)

RANDOM = "C0RANDOM"


def shown(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(b.get("text", {}).get("text", "") for b in blocks if "text" in b)


async def at(cultivate: Cultivate, clock: ManualClock, moment: datetime) -> None:
    await cultivate.settled()
    clock.set(moment)
    await cultivate.tick()


async def test_every_surface_counts_the_same_members(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    """In November, by hand: Asha (who starts it), Carmen, Noor and a bot are in the channel
    at the start; Liam joins; a second bot joins; Noor leaves; Ben coordinates from outside
    the channel (this workspace lets no app invite him). Members at the end: Asha, Carmen, Liam = 3; joined: Liam = 1 (the people
    there at the start did not join, and bots are no one); left: Noor = 1; active in the 30
    days: Carmen and Liam = 2 of 3."""
    [bot_there] = slack.workspace.add_people(1, name="helper", is_bot=True, channels=[HOUSING])
    clock.set(datetime(2026, 11, 2, 9, tzinfo=UTC))
    await start_community(cultivate, timezone="UTC")
    slack.faults.fail_next("conversations.invite", "restricted_action")  # Ben stays outside
    await answer(cultivate, ROLES, coordinators=[ASHA, BEN])
    await at(cultivate, clock, datetime(2026, 11, 5, 12, tzinfo=UTC))
    await joined(cultivate, LIAM)
    [bot_joining] = slack.workspace.add_people(1, name="robot", is_bot=True)
    await joined(cultivate, bot_joining)
    await at(cultivate, clock, datetime(2026, 11, 6, 12, tzinfo=UTC))  # welcomes look them up
    await left(cultivate, NOOR)
    await at(cultivate, clock, datetime(2026, 11, 12, 12, tzinfo=UTC))
    await said(cultivate, CARMEN, "a draft")
    for n in range(3):
        await said(cultivate, LIAM, f"idea {n}")
    # The month's digest goes out at 09:00 on 1 December; everything else is asked then too.
    await at(cultivate, clock, datetime(2026, 12, 1, 9, tzinfo=UTC))

    # No bot, and no one there from the start, was welcomed as a newcomer. (Every member, old
    # or new, is asked on 1 December what the community learned in November: not a welcome.)
    welcomed = {
        c.args["channel"]
        for c in slack.calls_to("chat.postMessage")
        if c.ok and not c.args["text"].startswith("What did we learn this month")
    }
    assert LIAM in welcomed
    assert not {bot_there, bot_joining, CARMEN, NOOR} & welcomed

    # The digest (November) and /cop health (the month to now).
    (digest,) = digests(slack, ASHA)
    assert len(digests(slack, BEN)) == 1
    in_digest = figure_lines(digest.args["blocks"])
    await cultivate.command("health")
    in_health = figure_lines((await cultivate.ephemeral())["blocks"])
    for lines in (in_digest, in_health):
        assert lines["Members"] == "3 (1 joined, 1 left)"
        assert lines["Active"].startswith("2 of 3 (67%) posted in the 30 days to ")
        assert lines["By level"] == "1 coordinator · 0 core · 1 active · 1 peripheral"
    await slack.wait_for("files.completeUploadExternal", count=3)  # both digests' and these

    # /cop status and App Home: the roster's part and the stage of development.
    await cultivate.command("status")
    status = shown((await cultivate.ephemeral(count=2))["blocks"])
    home = texts(await open_home(cultivate, ASHA))
    for text in (status, home):
        assert "*Members:* 3 (1 coordinator, 1 active, 1 peripheral)" in text
        assert "In the last month: 1 joined, 1 left · Active: 2 of 3 posted" in text
        assert f"<@{BEN}> is coordinating but not in the channel" in text
        assert "3 members, 2 active" in text

    # The roster lists the members, and only them.
    view = await roster_view(cultivate)
    assert "Housing policy* · 3 members." in view["blocks"][0]["elements"][0]["text"]
    assert set(rows(view)) == {ASHA, CARMEN, LIAM}

    # The directory.
    await cultivate.command("communities", user=NOOR, channel=RANDOM)
    assert "3 members · Open" in str((await cultivate.ephemeral(count=3))["blocks"])

    # The sponsor report: the same figures as /cop health.
    uploads = len(slack.calls_to("files.completeUploadExternal"))
    await cultivate.command("report")
    await slack.wait_for("files.completeUploadExternal", count=uploads + 1)
    (report,) = [f for f in slack.files if f.filename.endswith(".md")]
    table = report_table(report.content.decode())
    assert (table["Members"], table["Joined in the period"], table["Left in the period"]) == (
        "3",
        "1",
        "1",
    )
    assert re.match(r"2 of 3 \(67%\)", next(v for k, v in table.items() if k.startswith("Active")))


async def test_a_community_of_one_says_1_member(cultivate: Cultivate, slack: FakeSlack) -> None:
    for person in (CARMEN, NOOR):
        slack.workspace.leave(HOUSING, person)
    await start_community(cultivate, timezone="UTC")
    await cultivate.command("status")
    status = shown((await cultivate.ephemeral())["blocks"])
    assert "*Members:* 1 (1 coordinator)" in status
    assert "1 member, 0 active" in status
    view = await roster_view(cultivate)
    assert "· 1 member." in view["blocks"][0]["elements"][0]["text"]
    await cultivate.command("communities", user=LIAM, channel=RANDOM)
    assert "1 member · Open" in str((await cultivate.ephemeral(count=2))["blocks"])


def test_plural_makes_the_noun_agree_with_its_number() -> None:
    assert plural(1, "member") == "1 member"
    assert plural(0, "member") == "0 members"
    assert plural(2, "coordinator") == "2 coordinators"
    assert plural(1, "person") == "1 person"
    assert plural(3, "person") == "3 people"
    assert plural(2, "reply") == "2 replies"
    assert plural(2, "criterion", "criteria") == "2 criteria"
