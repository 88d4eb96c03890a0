"""Sustaining: the digest and the new-perspective prompt arrive on schedule, once, and not for
a closed community; `/cop sustain` (with the stage override, checked on save); the
perspectives log; the ready-made invitation and who joins through it; the sponsor report,
whose figures are `/cop health`'s."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from docx import Document as Word
from sqlmodel import col, select

from bot.catalogue import ROLES, SCOPE
from bot.clock import ManualClock
from bot.services import perspectives, recruitment, sustaining, welcomes
from fakeslack import Call, FakeSlack
from storage.models import Community, Perspective, ScheduledSend
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, TEAM, Cultivate
from tests.steps import (
    LIAM,
    answer,
    build_history,
    digests,
    figure_lines,
    joined,
    report_table,
    save_settings,
    start_community,
    status_blocks,
)

BOT = "U0BOT"


def prompts(slack: FakeSlack, user: str) -> list[Call]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args["channel"] == user and "new perspective" in c.args["text"]
    ]


def files_in_dm(slack: FakeSlack, user: str) -> list[Any]:
    return [f for f in slack.files if slack.workspace.channels[f.channel or ""].im_user == user]


async def open_rounds(cultivate: Cultivate, kind: str) -> list[ScheduledSend]:
    async with cultivate.database.session() as session:
        result = await session.exec(
            select(ScheduledSend).where(
                ScheduledSend.kind == kind, col(ScheduledSend.state).in_(("pending", "claimed"))
            )
        )
        return list(result.all())


async def status_text(cultivate: Cultivate, *, user: str = ASHA, count: int = 1) -> str:
    blocks = await status_blocks(cultivate, user=user, count=count)
    return "\n".join(b.get("text", {}).get("text", "") for b in blocks if "text" in b)


# -- the digest and the prompt ------------------------------------------------------------


async def test_the_digest_arrives_on_schedule_once_for_each_coordinator(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")  # 1 Dec 2026, 09:00
    await answer(cultivate, ROLES, coordinators=[ASHA, BEN])
    await joined(cultivate, NOOR)
    await cultivate.settled()
    clock.set(datetime(2026, 12, 31, 23, tzinfo=UTC))
    await cultivate.tick()
    assert digests(slack, ASHA) == []

    clock.set(datetime(2027, 1, 1, 9, tzinfo=UTC))  # the month is over: its digest is due
    await cultivate.tick()
    (mine,) = digests(slack, ASHA)
    assert len(digests(slack, BEN)) == 1
    assert digests(slack, NOOR) == []  # members get none
    lines = figure_lines(mine.args["blocks"])
    # Asha, who started it, and Carmen were in the channel at its start, so did not join it;
    # Noor joined (Slack said so); Ben coordinates without being in the channel.
    assert lines["Members"] == "3 (1 joined, 0 left)"
    assert "Tue 1 Dec 2026 to Thu 31 Dec 2026" in str(mine.args["blocks"])
    assert len(files_in_dm(slack, ASHA)) == 3 and len(files_in_dm(slack, BEN)) == 3
    assert all(f.alt_txt for f in slack.files)

    await cultivate.tick()  # nothing more, however often the heartbeat beats
    clock.advance(timedelta(days=1))
    await cultivate.tick()
    assert (len(digests(slack, ASHA)), len(digests(slack, BEN))) == (1, 1)

    clock.set(datetime(2027, 2, 1, 9, tzinfo=UTC))
    await cultivate.tick()
    assert (len(digests(slack, ASHA)), len(digests(slack, BEN))) == (2, 2)
    assert "Fri 1 Jan 2027 to Sun 31 Jan 2027" in str(digests(slack, ASHA)[-1].args["blocks"])


async def test_the_perspective_prompt_comes_every_n_weeks_once(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    (first,) = await open_rounds(cultivate, sustaining.PERSPECTIVE)
    assert first.due_at == datetime(2027, 3, 2, 9, tzinfo=UTC)  # 13 weeks, by default

    reply = await save_settings(
        cultivate, digest_period="monthly", perspective_weeks="2", report_period="never"
    )
    assert reply == {}
    (planned,) = await open_rounds(cultivate, sustaining.PERSPECTIVE)
    assert planned.due_at == datetime(2026, 12, 15, 9, tzinfo=UTC)
    clock.set(datetime(2026, 12, 15, 8, 59, tzinfo=UTC))
    await cultivate.tick()
    assert prompts(slack, ASHA) == []
    clock.set(datetime(2026, 12, 15, 9, tzinfo=UTC))
    await cultivate.tick()
    await cultivate.tick()
    (prompt,) = prompts(slack, ASHA)
    button = prompt.args["blocks"][-1]["elements"][0]
    assert button["text"]["text"] == "Log a guest"
    assert "No guest has been logged yet." in str(prompt.args["blocks"])
    clock.set(datetime(2026, 12, 29, 9, tzinfo=UTC))
    await cultivate.tick()
    assert len(prompts(slack, ASHA)) == 2


async def test_a_closed_community_gets_no_digest_prompt_or_report(
    cultivate: Cultivate,
    slack: FakeSlack,
    clock: ManualClock,
) -> None:
    await start_community(cultivate, timezone="UTC")
    await save_settings(
        cultivate,
        digest_period="monthly",
        perspective_weeks="2",
        report_period="monthly",
        report_recipients=[NOOR],
    )
    # Closed behind the rounds' backs (as a deleted channel closes it), so each round already
    # planned must see it closed when it comes due, not be cancelled by /cop close.
    async with cultivate.database.session() as session:
        community = (await session.exec(select(Community))).one()
        community.closed_at = clock.now()
        session.add(community)
        await session.commit()
    clock.set(datetime(2027, 1, 1, 9, tzinfo=UTC))
    await cultivate.tick()
    assert digests(slack, ASHA) == [] and prompts(slack, ASHA) == []
    assert slack.files == []
    for kind in sustaining.ROUNDS:  # and nothing is planned after them
        assert await open_rounds(cultivate, kind) == []
    async with cultivate.database.session() as session:
        dropped = (
            await session.exec(select(ScheduledSend).where(ScheduledSend.state == "dropped"))
        ).all()
    assert {r.kind for r in dropped} == set(sustaining.ROUNDS)


async def test_the_sponsor_report_goes_to_chosen_stakeholders_on_schedule(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    reply = await save_settings(
        cultivate,
        digest_period="quarterly",
        perspective_weeks="13",
        report_period="monthly",
        report_recipients=[NOOR],
    )
    assert reply == {}
    clock.set(datetime(2027, 1, 1, 9, tzinfo=UTC))
    await cultivate.tick()
    await cultivate.tick()
    reports = [f for f in files_in_dm(slack, NOOR) if f.filename.endswith(".md")]
    assert [f.filename for f in reports] == ["housing-policy-report-2027-01-01.md"]
    assert "chose to send it to you" in (reports[0].initial_comment or "")
    assert digests(slack, NOOR) == []  # the report, not the coordinators' digest
    (digest,) = digests(slack, ASHA)  # the year's last quarter is over too
    assert "Thu 1 Oct 2026 to Thu 31 Dec 2026" in str(digest.args["blocks"])


# -- settings and the stage of development ------------------------------------------------


async def test_the_stage_of_development_is_derived_and_a_coordinator_can_override_it(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    assert "*Stage of development:* Potential" in await status_text(cultivate)

    refused = await save_settings(
        cultivate,
        digest_period="monthly",
        perspective_weeks="0",
        report_period="monthly",
        stage_override="maturing",
    )
    assert set(refused["errors"]) == {"perspective_weeks", "report_recipients"}
    forged = await save_settings(
        cultivate,
        count=2,
        digest_period="daily",
        perspective_weeks="13",
        report_period="never",
        stage_override="zombie",
    )
    assert set(forged["errors"]) == {"digest_period", "stage_override"}
    not_theirs = await save_settings(
        cultivate,
        user=CARMEN,
        count=3,
        digest_period="monthly",
        perspective_weeks="13",
        report_period="never",
        stage_override="maturing",
    )
    assert "coordinators" in not_theirs["errors"]["digest_period"]
    assert "Potential" in await status_text(cultivate, count=2)  # nothing was saved

    saved = await save_settings(
        cultivate,
        count=4,
        digest_period="weekly",
        perspective_weeks="13",
        report_period="never",
        stage_override="maturing",
    )
    assert saved == {}
    shown = await status_text(cultivate, count=3)
    assert "*Stage of development:* Maturing" in shown
    assert "Set by a coordinator; the figures suggest potential" in shown
    (digest,) = await open_rounds(cultivate, sustaining.DIGEST)
    assert digest.due_at == datetime(2026, 12, 7, 9, tzinfo=UTC)  # weekly now: next Monday


# -- new perspectives ---------------------------------------------------------------------


async def test_coordinators_log_new_perspectives_and_status_shows_them(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await start_community(cultivate, timezone="UTC")
    await cultivate.command("perspective", user=CARMEN)
    assert "coordinators" in (await cultivate.ephemeral())["text"]

    await cultivate.command("perspective")
    view = await cultivate.opened_view("perspective_form")
    missing = await cultivate.submit(view, {"guest": {"guest": "Dr Amina Yusuf"}})
    assert set(missing.json["errors"]) == {"topic", "day"}
    reply = await cultivate.submit(
        view,
        {
            "guest": {"guest": "Dr Amina <!here> Yusuf"},
            "organisation": {"organisation": "Shelter Lab"},
            "topic": {"topic": "Housing first, ten years on"},
            "day": {"day": "2026-12-10"},
        },
    )
    assert reply.json["response_action"] == "update"
    logged = await perspectives.perspectives(cultivate.database, team_id=TEAM, community_id=1)
    assert [(p.guest, p.organisation, p.day.isoformat()) for p in logged] == [
        ("Dr Amina <!here> Yusuf", "Shelter Lab", "2026-12-10")
    ]
    shown = await status_text(cultivate)
    assert (
        "*Dr Amina &lt;!here&gt; Yusuf* (Shelter Lab) on Housing first, ten years on, "
        "Thu 10 Dec 2026"
    ) in shown
    assert "<!here>" not in shown
    # A member sees the log too (it is the community's), without the button.
    member_view = await status_blocks(cultivate, user=CARMEN, count=2)
    assert "1 guest logged" in str(member_view)
    assert "log_perspective" not in str(member_view)
    async with cultivate.database.session() as session:
        assert len((await session.exec(select(Perspective))).all()) == 1


# -- recruitment --------------------------------------------------------------------------


async def test_the_invitation_is_posted_elsewhere_and_counts_who_joins_through_it(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    await answer(cultivate, SCOPE, aims="Share what works <!channel>", benefits="Fewer mistakes")
    await cultivate.command("invite")
    view = await cultivate.opened_view("invitation_form")
    shown = str([b for b in view["blocks"] if b.get("block_id") != "copy"])
    assert "Share what works &lt;!channel&gt;" in shown and "<!channel>" not in shown
    # A copy to paste elsewhere, in plain text that Slack shows as it is.
    (copy,) = [b for b in view["blocks"] if b.get("block_id") == "copy"]
    assert copy["text"]["type"] == "plain_text"
    reply = await cultivate.submit(view, {"channel": {"channel": "C0DATA"}})
    assert reply.status == 200 and reply.body == ""
    (posted,) = await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == "C0DATA" and c.ok
    )
    join = posted.args["blocks"][-1]["elements"][0]
    assert join["text"]["text"] == "Join"

    for person in (BEN, LIAM):
        await cultivate.click(
            {"action_id": join["action_id"], "type": "button", "value": join["value"]},
            user=person,
            channel="C0DATA",
            message=posted.response["message"],
        )
    invites = await slack.wait_for("conversations.invite", count=2)
    assert sorted(c.args["users"] for c in invites) == sorted([BEN, LIAM])
    # Slack tells us Ben joined (added by the app); Liam's join has not arrived yet.
    await joined(cultivate, BEN, inviter=BOT)
    await cultivate.settled()
    found = await recruitment.recruitment(cultivate.database, team_id=TEAM, community_id=1)
    assert (found.posted, found.clicked, found.joined) == (1, 2, 1)
    assert "posted 1 time; 2 pressed Join, 1 joined through it" in await status_text(cultivate)
    # Someone who never pressed Join is not counted.
    await joined(cultivate, CARMEN)
    await cultivate.settled()
    found = await recruitment.recruitment(cultivate.database, team_id=TEAM, community_id=1)
    assert found.joined == 1


# -- the sponsor report -------------------------------------------------------------------


async def test_the_report_is_markdown_whose_figures_match_cop_health(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    history = await build_history(cultivate, clock)
    await answer(
        cultivate,
        SCOPE,
        aims="# Share what works\nacross <b>councils</b> [link](http://x)",
        outputs="A playbook",
    )
    await welcomes.save_profile(
        cultivate.database,
        clock,
        team_id=TEAM,
        community_id=1,
        user_id=NOOR,
        answers={"hopes_to_give": "Ten years of *casework*", "hopes_to_get": "Policy context"},
    )
    await perspectives.log_perspective(
        cultivate.database,
        clock,
        team_id=TEAM,
        community_id=1,
        user_id=ASHA,
        answers={"guest": "Dr Amina Yusuf", "topic": "Housing first", "day": "2026-11-20"},
    )
    await cultivate.command("health")
    health = figure_lines((await cultivate.ephemeral())["blocks"])
    await slack.wait_for("files.completeUploadExternal")
    await cultivate.command("report", user=CARMEN)
    assert "coordinators" in (await cultivate.ephemeral(count=2))["text"]

    await cultivate.command("report")
    # /cop health's pictures, then the report (Markdown, Word, and the pictures beside them).
    await slack.wait_for("files.completeUploadExternal", count=2)
    (report,) = [f for f in slack.files if f.filename.endswith(".md")]
    assert report.filename == "housing-policy-report-2026-12-01.md"
    assert slack.workspace.channels[report.channel or ""].im_user == ASHA
    markdown = report.content.decode()
    table = report_table(markdown)

    members, joined_, left_ = re.fullmatch(
        r"(\d+) \((\d+) joined, (\d+) left\)", health["Members"]
    ).groups()  # type: ignore[union-attr]
    assert (table["Members"], table["Joined in the period"], table["Left in the period"]) == (
        members,
        joined_,
        left_,
    )
    active = health["Active"].split(" posted")[0]  # "3 of 5 (60%)"
    assert table["Active (posted in the 30 days to Tue 1 Dec 2026)"] == active
    levels = dict((name, count) for count, name in re.findall(r"(\d+) (\w+)", health["By level"]))
    for name, count in levels.items():
        assert table[f"{name.capitalize()} members"] == count
    assert (
        table["Newcomers who have not posted yet"]
        == health["Newcomers who haven't posted yet"].split(":")[0]
    )
    assert table["Recently inactive"] == health["Recently inactive"].split(":")[0]
    assert table["Meetings held"] == health["Meetings held"]
    done, due, overdue = re.findall(r"\d+", health["Milestones"])
    assert f"{done} done, {due} due, {overdue} overdue." in markdown

    # Typed text is inert, members are unnamed, the pictures are in it with their words.
    assert (
        "\\# Share what works  \nacross &lt;b&gt;councils&lt;/b&gt; \\[link\\](http://x)"
        in markdown
    )
    assert "To give: Ten years of \\*casework\\* — To gain: Policy context" in markdown
    assert "Dr Amina Yusuf on Housing first" in markdown
    assert "| Interim report | Sun 20 Dec 2026 | due |" in markdown
    assert "| Terms of reference | Wed 30 Sep 2026 | done Mon 28 Sep 2026 |" in markdown
    for user in (ASHA, BEN, NOOR, history.newcomer):
        assert user not in markdown
    beside = [f for f in slack.files if f.channel == report.channel and f.id > report.id]
    word = next(f for f in beside if f.filename.endswith(".docx"))
    pictures = [f for f in beside if f.filename.endswith(".png")]
    # Not the stakeholder map: the report names no stakeholder unless a coordinator allows it.
    assert [p.filename for p in pictures] == [
        "members-and-activity.png",
        "participation-levels.png",
    ]
    for picture in pictures:
        assert f"]({picture.filename})" in markdown  # the file beside it, not a Slack address
        assert (picture.alt_txt or "")[:40] in markdown
    assert "slack.com" not in markdown and "files.slack" not in markdown
    assert len(Word(io.BytesIO(word.content)).inline_shapes) == 2  # embedded in the Word file
    assert HOUSING not in markdown
