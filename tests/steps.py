"""The steps tests share: a person starting a community, joining, answering, planning, and
what they then see. Test modules import these from here, never from one another."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlmodel import SQLModel, col, select

from bot.catalogue import GOVERNANCE, ROLES, SCOPE, Stage
from bot.clock import ManualClock
from bot.services import members
from bot.services.communities import community_by_id, community_in_channel
from bot.services.stages import save_answers, save_list_item
from fakeslack import Call, FakeSlack
from storage.models import (
    Community,
    Installation,
    JoinRequest,
    Membership,
    ScheduledSend,
    StageRevision,
)
from storage.repositories import scheduled
from storage.repositories import stages as stage_rows
from tests.conftest import (
    ASHA,
    BEN,
    CARMEN,
    HOUSING,
    NOOR,
    SIGNING_SECRET,
    TEAM,
    Cultivate,
    Reply,
    eventually,
)
from tests.installs import KEY

Row = TypeVar("Row", bound=SQLModel)

# Starting a community.


async def start_community(
    cultivate: Cultivate,
    *,
    name: str = "Housing policy",
    domain: str = "Housing policy across councils",
    timezone: str | None = None,
    user: str = ASHA,
    channel: str = HOUSING,
) -> dict:
    """Run `/cop start` and submit its modal; returns the submitted view."""
    earlier = [
        c
        for c in cultivate.slack.calls_to("views.open")
        if c.args["view"].get("callback_id") == "community_start"
    ]
    reply = await cultivate.command("start", user=user, channel=channel)
    assert reply.status == 200
    view = await cultivate.opened_view("community_start", count=len(earlier) + 1)
    values = {"name": {"name": name}, "domain": {"domain": domain}}
    if timezone is not None:
        values["timezone"] = {"timezone": timezone}
    reply = await cultivate.submit(view, values, user=user)
    assert reply.status == 200, reply.body
    # The announcement goes out after the ack; wait for it so later assertions start clean.
    await cultivate.slack.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") == channel and "made this channel" in c.args["text"],
    )
    return view


# Setup stages: their forms and what is saved.


def as_values(answers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {key: {key: value} for key, value in answers.items()}


async def housing(cultivate: Cultivate) -> Community:
    """The community in #housing-policy, as stored now."""
    found = await community_in_channel(cultivate.database, team_id=TEAM, channel_id=HOUSING)
    assert found is not None
    return found


def inputs_of(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A form's input blocks, by block id."""
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


async def revisions(cultivate: Cultivate, stage: str) -> list[StageRevision]:
    async with cultivate.database.session() as session:
        result = await session.exec(
            select(StageRevision)
            .where(StageRevision.stage == stage)
            .order_by(col(StageRevision.version))
        )
        return list(result.all())


async def open_stage(cultivate: Cultivate, stage: Stage, *, user: str = ASHA) -> dict[str, Any]:
    before = len(cultivate.slack.calls_to("views.open"))
    await cultivate.command(stage.key, user=user)
    calls = await cultivate.slack.wait_for("views.open", count=before + 1)
    return cultivate.slack.views[calls[-1].response["view"]["id"]]


async def click_in(
    cultivate: Cultivate, view: dict[str, Any], action_id: str, **action: Any
) -> None:
    element = next(
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )
    reply = await cultivate.click(
        {"action_id": action_id, "type": element["type"], **action}, view=view
    )
    assert reply.status == 200


# The Home tab.


async def open_home(cultivate: Cultivate, user: str) -> dict:
    before = len(cultivate.slack.calls_to("views.publish"))
    reply = await cultivate.event({"type": "app_home_opened", "user": user, "tab": "home"})
    assert reply.status == 200
    await cultivate.slack.wait_for("views.publish", count=before + 1)
    home = cultivate.slack.home(user)
    assert home is not None
    return home


def texts(view: dict) -> str:
    return "\n".join(b.get("text", {}).get("text", "") for b in view["blocks"] if "text" in b)


# People joining, leaving and talking; the welcome they get.

LIAM = "U0LIAM"


async def joined(
    cultivate: Cultivate,
    user: str,
    *,
    channel: str = HOUSING,
    inviter: str | None = None,
    **delivery: Any,
) -> Reply:
    """Someone is in the channel, and Slack says so; `delivery` sets event_id and retry_num."""
    if channel in cultivate.slack.workspace.channels:
        cultivate.slack.workspace.join(channel, user)
    event = {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel,
        "channel_type": "C",
        "team": TEAM,
    }
    if inviter is not None:
        event["inviter"] = inviter
    return await cultivate.event(event, **delivery)


async def left(cultivate: Cultivate, user: str, *, channel: str = HOUSING) -> Reply:
    cultivate.slack.workspace.leave(channel, user)
    return await cultivate.event(
        {
            "type": "member_left_channel",
            "user": user,
            "channel": channel,
            "channel_type": "C",
            "team": TEAM,
        }
    )


Move = Callable[[Cultivate, str], Awaitable[Reply]]  # `joined` or `left`


async def _and_later(
    cultivate: Cultivate, clock: ManualClock, user: str, first: Move, then: Move, after: timedelta
) -> None:
    await first(cultivate, user)
    await cultivate.settled()
    clock.advance(after)
    await then(cultivate, user)
    await cultivate.settled()


async def joined_and_left(
    cultivate: Cultivate, clock: ManualClock, user: str, *, after: timedelta
) -> None:
    """The person joins, and leaves `after` later; the app has handled both."""
    await _and_later(cultivate, clock, user, joined, left, after)


async def left_and_back(
    cultivate: Cultivate, clock: ManualClock, user: str, *, after: timedelta
) -> None:
    """The person leaves, and joins again `after` later; the app has handled both."""
    await _and_later(cultivate, clock, user, left, joined, after)


async def said(cultivate: Cultivate, user: str, text: str, *, channel: str = HOUSING) -> Reply:
    return await cultivate.event(
        {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": f"{time.time():.6f}",
            "channel_type": "channel",
        }
    )


async def answer(
    cultivate: Cultivate, stage: Stage, *, community_id: int = 1, user: str = ASHA, **answers: Any
) -> None:
    """A coordinator saves answers to a stage, keeping its other answers."""
    record = await community_by_id(cultivate.database, team_id=TEAM, community_id=community_id)
    saved = record.stages[stage.key]
    kept = {q.key: saved.answers[q.key] for q in stage.inputs if q.key in saved.answers}
    await save_answers(
        cultivate.database,
        cultivate.runtime.clock,
        team_id=TEAM,
        community_id=community_id,
        stage=stage,
        user_id=user,
        submitted={**kept, **answers},
        base_version=saved.version,
    )


def sent_to(slack: FakeSlack, channel: str, starts: str = "") -> list[Call]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args["channel"] == channel and c.args["text"].startswith(starts)
    ]


def welcome_dms(slack: FakeSlack, user: str) -> list[Call]:
    return sent_to(slack, user, "Welcome to")


def greetings(slack: FakeSlack) -> list[Call]:
    return sent_to(slack, HOUSING, ":wave: Please welcome")


async def memberships(cultivate: Cultivate, user: str) -> list[Membership]:
    async with cultivate.database.session() as session:
        result = await session.exec(
            select(Membership).where(Membership.user_id == user).order_by(col(Membership.id))
        )
        return list(result.all())


async def scheduled_sends(cultivate: Cultivate, *kinds: str) -> list[ScheduledSend]:
    async with cultivate.database.session() as session:
        result = await session.exec(select(ScheduledSend).where(col(ScheduledSend.kind).in_(kinds)))
        return list(result.all())


# Joining from outside the channel: invitations, requests, buttons in DMs.

RANDOM = "C0RANDOM"


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [b["accessory"] for b in blocks if b.get("accessory", {}).get("type") == "button"]
    found += [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    return found


async def click_button(
    cultivate: Cultivate,
    button: dict[str, Any],
    *,
    user: str,
    channel: str,
    message: dict[str, Any],
) -> None:
    reply = await cultivate.click(
        {"action_id": button["action_id"], "type": "button", "value": button["value"]},
        user=user,
        channel=channel,
        message=message,
    )
    assert reply.status == 200


def button_in(message: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The first button of the message's actions whose action_id starts with `prefix`."""
    return next(
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith(prefix)
    )


async def click_in_listing(
    cultivate: Cultivate, listing: dict[str, Any], button: dict[str, Any], *, user: str = ASHA
) -> Reply:
    """Click a button of a listing answered in the community's channel (`/cop meetings`)."""
    return await cultivate.click(
        {"action_id": button["action_id"], "type": "button", "value": button["value"]},
        user=user,
        channel=HOUSING,
        message={"ts": "1.2", "blocks": listing["blocks"]},
    )


async def click_in_dm(cultivate: Cultivate, dm: Call, label: str, *, user: str) -> None:
    (button,) = [b for b in buttons(dm.args["blocks"]) if b["text"]["text"] == label]
    await click_button(
        cultivate, button, user=user, channel=dm.response["channel"], message=dm.response["message"]
    )


async def answers_to(cultivate: Cultivate, count: int) -> str:
    """The newest answer under the message someone clicked (through its response_url)."""
    calls = await cultivate.slack.wait_for("response_url", count=count)
    return str(calls[-1].args["text"])


async def stored(cultivate: Cultivate, model: type[Row]) -> list[Row]:
    """Every row of the model, as stored now."""
    async with cultivate.database.session() as session:
        return list((await session.exec(select(model))).all())


async def requests(cultivate: Cultivate) -> list[JoinRequest]:
    return await stored(cultivate, JoinRequest)


# Milestones.


async def add_items(
    cultivate: Cultivate, stage: Stage, key: str, items: list[dict[str, Any]], *, user: str = ASHA
) -> None:
    """A coordinator adds items to a list question, one by one as its editor saves them."""
    for item in items:
        record = await community_by_id(cultivate.database, team_id=TEAM, community_id=1)
        await save_list_item(
            cultivate.database,
            cultivate.runtime.clock,
            team_id=TEAM,
            community_id=1,
            stage=stage,
            question_key=key,
            user_id=user,
            index=None,
            item=item,
            base_version=record.stages[stage.key].version,
        )


async def add_milestone(cultivate: Cultivate, **item: Any) -> None:
    """Add a milestone through the governance form's pushed list editor."""
    form = await open_stage(cultivate, GOVERNANCE)
    pushes = len(cultivate.slack.calls_to("views.push"))
    await cultivate.click({"action_id": "list_add:milestones", "type": "button"}, view=form)
    pushed = await cultivate.opened_view("stage_list_item", method="views.push", count=pushes + 1)
    reply = await cultivate.submit(pushed, {key: {key: value} for key, value in item.items()})
    assert reply.body == "", reply.body


# Meetings and their announcements.


def meeting_values(
    day: str = "2026-12-08", at: str = "18:00", **answers: Any
) -> dict[str, dict[str, Any]]:
    """A meeting form's answers, as the person typed and picked them."""
    return as_values(
        {
            "title": "Monthly <!channel> catch-up",
            "agenda": "Drafts & questions",
            "date": day,
            "time": at,
            "duration": "60",
            "format": "online",
            "place": "https://meet.example.org/housing",
            "recurrence": "none",
            "reminders": ["1d", "1h"],
            **answers,
        }
    )


async def sent_rows(cultivate: Cultivate, kind: str) -> list[ScheduledSend]:
    async with cultivate.database.session() as session:
        query = select(ScheduledSend).where(
            ScheduledSend.kind == kind, ScheduledSend.state == "sent"
        )
        return list((await session.exec(query)).all())


async def plan_meeting(
    cultivate: Cultivate,
    values: dict[str, dict[str, Any]],
    *,
    user: str = ASHA,
    announced: int | None = 1,
) -> Any:
    """Plan a meeting through `/cop meeting`; wait until `announced` announcements went out."""
    before = len(
        [
            c
            for c in cultivate.slack.calls_to("views.open")
            if c.args["view"].get("callback_id") == "meeting_form"
        ]
    )
    already = len(await sent_rows(cultivate, "meeting_announcement"))
    await cultivate.command("meeting", user=user)
    view = await cultivate.opened_view("meeting_form", count=before + 1)
    reply = await cultivate.submit(view, values, user=user)
    if announced:

        async def done() -> bool:
            return len(await sent_rows(cultivate, "meeting_announcement")) >= already + announced

        await eventually(done)
    return reply


def announcements(slack: FakeSlack, channel: str = HOUSING) -> list[dict[str, Any]]:
    """Messages in the channel carrying RSVP buttons, as they stand now."""
    return [
        m
        for m in slack.messages(channel)
        if any(
            e.get("action_id", "").startswith("rsvp:")
            for b in m.get("blocks") or []
            if b["type"] == "actions"
            for e in b["elements"]
        )
    ]


async def open_rows(cultivate: Cultivate, kind: str | None = None) -> list[ScheduledSend]:
    """What is still to go out about meetings (other features schedule their own rows)."""
    async with cultivate.database.session() as session:
        query = select(ScheduledSend).where(col(ScheduledSend.state).in_(["pending", "claimed"]))
        if kind:
            query = query.where(ScheduledSend.kind == kind)
        else:
            query = query.where(col(ScheduledSend.kind).startswith("meeting"))
        return list((await session.exec(query.order_by(col(ScheduledSend.due_at)))).all())


async def run_until(cultivate: Cultivate, clock: ManualClock, moment: datetime) -> None:
    """Move the clock to each due row in turn up to `moment`, running the heartbeat."""
    while True:
        pending = [r for r in await open_rows(cultivate) if r.due_at <= moment]
        if not pending:
            break
        clock.set(max(clock.now(), pending[0].due_at))
        await cultivate.tick()
    clock.set(max(clock.now(), moment))
    await cultivate.tick()


# Launching: the workshop and the terms.


async def launch(cultivate: Cultivate, *, user: str = ASHA, **answers: Any) -> dict[str, Any]:
    """Run `/cop launch` and plan the workshop; returns the terms' message once posted."""
    drafts = len(markdown_files(cultivate.slack))
    await cultivate.command("launch", user=user)
    view = await cultivate.opened_view("launch_form")
    values = meeting_values(title="Launch workshop", **answers)
    del values["recurrence"]
    reply = await cultivate.submit(view, values, user=user)
    assert reply.body == "", reply.body
    return await terms_message(cultivate, count=drafts + 1)


def markdown_files(slack: FakeSlack) -> list[Any]:
    """The terms as Markdown files (each draft is uploaded beside its Word document)."""
    return [
        f
        for f in slack.files
        if f.filename.startswith("terms-of-reference") and f.filename.endswith(".md")
    ]


async def terms_message(cultivate: Cultivate, *, count: int = 1) -> dict[str, Any]:
    calls = await cultivate.slack.wait_for(
        "chat.postMessage", lambda c: "terms of reference" in c.args["text"], count=count
    )
    ts = calls[-1].response["ts"]
    return next(m for m in cultivate.slack.messages(HOUSING) if m["ts"] == ts)


def buttons_by_action(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        e["action_id"]: e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }


async def press(
    cultivate: Cultivate, message: dict[str, Any], action_id: str, *, user: str = ASHA
) -> None:
    button = buttons_by_action(message)[action_id]
    reply = await cultivate.click(
        {"action_id": action_id, "type": "button", "value": button["value"]},
        user=user,
        channel=HOUSING,
        message=message,
    )
    assert reply.status == 200


# Closing a community.

# Typed text carrying Slack markup, which the app must escape wherever it shows it.
TYPED = "We need it <!channel> & *now* [see](http://x.example) # really"


MEMBERS = (ASHA, BEN, CARMEN, NOOR)


def close_values(**changes: Any) -> dict[str, dict[str, Any]]:
    answers = {
        "reason": "concluded",
        "closing_date": "2026-12-15",
        "capture_days": "14",
        "recipients": [ASHA],
    } | changes
    return as_values(answers)


async def close(cultivate: Cultivate, **changes: Any) -> dict[str, Any]:
    """Run `/cop close` as the coordinator, submit the form and, unless it splits, confirm;
    returns the view (a split's confirmation, with its fields, is `slack.views[view["id"]]`)."""
    await cultivate.command("close")
    view = await cultivate.opened_view("closure_form")
    reply = await cultivate.submit(view, close_values(**changes))
    assert reply.status == 200, reply.body
    assert reply.json["response_action"] == "update", reply.body
    if changes.get("reason") != "split":
        reply = await cultivate.submit(cultivate.slack.views[view["id"]], {})
        assert reply.body == "", reply.body
    return view


async def every_member_invited(community: Cultivate, slack: FakeSlack) -> None:
    """Wait for each member's capture DM (they go out concurrently, in any order), and for
    the listener that sent them to have recorded them as sent."""
    for person in MEMBERS:
        await slack.wait_for("chat.postMessage", lambda c, p=person: c.args["channel"] == p)
    await community.settled()


def prompts_in_channel(slack: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in slack.messages(HOUSING) if "please share what you learned" in m["text"]]


async def share(cultivate: Cultivate, user: str, **answers: str) -> None:
    """Press "Share what you learned" and submit the form that opens."""
    before = sum(
        1
        for c in cultivate.slack.calls_to("views.open")
        if c.ok and c.args["view"].get("callback_id") == "capture_form"
    )
    await cultivate.click(
        {"action_id": "capture_share", "type": "button", "value": await closure_id(cultivate)},
        user=user,
    )
    view = await cultivate.opened_view("capture_form", count=before + 1)
    reply = await cultivate.submit(view, as_values(answers), user=user)
    assert reply.body == "", reply.body


async def closure_id(cultivate: Cultivate) -> str:
    prompt = prompts_in_channel(cultivate.slack)[0]
    return next(
        e["value"] for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"]
    )


@pytest.fixture(name="community")
async def community_with_roles_and_members(cultivate: Cultivate) -> Cultivate:
    """Asha's community with its scope and roles saved (Ben facilitating) and Ben, Carmen and
    Noor joined, with what that sent cleared."""
    await start_community(cultivate)
    scope = await open_stage(cultivate, SCOPE)
    await cultivate.submit(scope, as_values({"need": TYPED, "aims": "Share what works"}))
    roles = await open_stage(cultivate, ROLES)
    await cultivate.submit(roles, as_values({"coordinators": [ASHA], "facilitators": [BEN]}))
    for person in (BEN, CARMEN, NOOR):
        await joined(cultivate, person)
    await cultivate.settled()
    cultivate.slack.clear()
    return cultivate


# Scheduled sends.

NOTE = "test_note"


async def add_note(
    cultivate: Cultivate,
    text: str,
    *,
    after: timedelta = timedelta(0),
    kind: str = NOTE,
    more: dict[str, object] | None = None,
    **extra: object,
) -> int:
    """A note due `after` from now in the community's channel; `more` goes into its payload
    and `extra` to `scheduled.schedule`."""
    async with cultivate.database.session() as session:
        row = await scheduled.schedule(
            session,
            team_id=TEAM,
            community_id=1,
            kind=kind,
            due_at=cultivate.runtime.clock.now() + after,
            payload={"channel": HOUSING, "text": text, **(more or {})},
            **extra,  # type: ignore[arg-type]
        )
        assert row is not None and row.id is not None
        return row.id


async def row(cultivate: Cultivate, send_id: int) -> ScheduledSend:
    async with cultivate.database.session() as session:
        found = await session.get(ScheduledSend, send_id)
        assert found is not None
        return found


# Health figures and their history.

STARTED = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class History:
    newcomer: str  # a person added to the workspace who joined and never posted


async def at(cultivate: Cultivate, clock: ManualClock, moment: datetime) -> None:
    """Let what happened so far finish, then move the clock on."""
    await cultivate.settled()
    clock.set(moment)


async def build_history(cultivate: Cultivate, clock: ManualClock) -> History:
    """Three months of a community, in the UTC time zone, ending 1 Dec 2026 09:00. The figures
    over the month to then, by hand:

    - members now: Asha (coordinator, founder), Ben, Noor, Liam, the newcomer = 5
    - joined in the month: Liam (10 Nov), the newcomer (15 Nov) = 2; left: Carmen (20 Nov) = 1
    - active in the 30 days to 1 Dec: Asha, Noor, Liam = 3 (60%)
    - levels: coordinator Asha; core Liam (chosen by Asha); active Noor (3 messages);
      peripheral Ben (none lately) and the newcomer = 1 · 1 · 1 · 2
    - newcomers who haven't posted: the newcomer (joined 16 days ago: greet them)
    - recently inactive: Ben (posted 20 Oct, not since); Carmen posted too, but has left
    - milestones: one done, one overdue (15 Oct), one due (20 Dec)
    """
    clock.set(STARTED)
    await start_community(cultivate, timezone="UTC")
    [newcomer] = cultivate.slack.workspace.add_people(1)
    await at(cultivate, clock, STARTED + timedelta(days=1))
    await joined(cultivate, BEN)
    await joined(cultivate, CARMEN)
    await at(cultivate, clock, datetime(2026, 10, 5, 12, tzinfo=UTC))
    await joined(cultivate, NOOR)
    await at(cultivate, clock, datetime(2026, 10, 10, 12, tzinfo=UTC))
    await said(cultivate, NOOR, "first thoughts")
    await at(cultivate, clock, datetime(2026, 10, 15, 12, tzinfo=UTC))
    await said(cultivate, CARMEN, "a draft")
    await at(cultivate, clock, datetime(2026, 10, 20, 12, tzinfo=UTC))
    for n in range(3):
        await said(cultivate, BEN, f"pipeline {n}")
    await at(cultivate, clock, datetime(2026, 11, 10, 12, tzinfo=UTC))
    await joined(cultivate, LIAM)
    await at(cultivate, clock, datetime(2026, 11, 12, 12, tzinfo=UTC))
    await said(cultivate, LIAM, "hello all")
    await at(cultivate, clock, datetime(2026, 11, 15, 12, tzinfo=UTC))
    await joined(cultivate, newcomer)
    await at(cultivate, clock, datetime(2026, 11, 20, 12, tzinfo=UTC))
    await left(cultivate, CARMEN)
    await at(cultivate, clock, datetime(2026, 11, 25, 12, tzinfo=UTC))
    for n in range(3):
        await said(cultivate, NOOR, f"idea {n}")
    await at(cultivate, clock, datetime(2026, 11, 28, 12, tzinfo=UTC))
    await said(cultivate, ASHA, "thanks everyone")
    await members.set_level(
        cultivate.database,
        clock,
        team_id=TEAM,
        community_id=1,
        coordinator=ASHA,
        user_id=LIAM,
        level="core",
    )
    milestones = (("Launch workshop", "2026-10-15"), ("Interim report", "2026-12-20"))
    await add_items(
        cultivate,
        GOVERNANCE,
        "milestones",
        [{"title": title, "due": due, "owner": NOOR} for title, due in milestones],
    )
    stakeholders = (
        ("Director of Housing", "champion", "high"),
        ("Finance team", "sceptical", "high"),
        ("Tenants' union", "supportive", "low"),
    )
    await add_items(
        cultivate,
        GOVERNANCE,
        "stakeholders",
        [
            {"name": name, "support": support, "influence": influence}
            for name, support, influence in stakeholders
        ],
    )
    # A milestone marked done the way issue 3 stores it (a "done" date on the item).
    record = await community_by_id(cultivate.database, team_id=TEAM, community_id=1)
    saved = record.stages[GOVERNANCE.key]
    answers = dict(saved.answers)
    answers["milestones"] = [
        *answers["milestones"],
        {"title": "Terms of reference", "due": "2026-09-30", "done": "2026-09-28"},
    ]
    async with cultivate.database.session() as session:
        await stage_rows.add_revision(
            session,
            team_id=TEAM,
            community_id=1,
            stage=GOVERNANCE.key,
            version=saved.version + 1,
            answers=answers,
            edited_by=ASHA,
            edited_at=clock.now(),
        )
    await at(cultivate, clock, NOW)
    cultivate.slack.clear()
    return History(newcomer=newcomer)


def figure_lines(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """`*Name:* value` lines shown in blocks, by name."""
    shown = "\n".join(b.get("text", {}).get("text", "") for b in blocks if "text" in b)
    return dict(re.findall(r"^\*([^*]+):\* (.+)$", shown, flags=re.MULTILINE))


# Sustaining: digests, reports, settings, status.


def digests(slack: FakeSlack, user: str) -> list[Call]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args["channel"] == user and c.args["text"].startswith("Health digest")
    ]


async def status_blocks(
    cultivate: Cultivate, *, user: str = ASHA, count: int = 1, channel: str = HOUSING
) -> list[dict[str, Any]]:
    """The blocks of the `count`th `/cop status` answer of the test."""
    await cultivate.command("status", user=user, channel=channel)
    calls = await cultivate.slack.wait_for(
        "response_url", lambda c: c.args.get("text", "").startswith("How "), count=count
    )
    return list(calls[-1].args["blocks"])


async def save_settings(
    cultivate: Cultivate, *, user: str = ASHA, count: int = 1, **values: Any
) -> dict[str, Any]:
    """Open `/cop sustain` and submit it with these answers (block id: value)."""
    await cultivate.command("sustain", user=ASHA)
    view = await cultivate.opened_view("sustaining_settings", count=count)
    reply = await cultivate.submit(
        view, {key: {key: value} for key, value in values.items()}, user=user
    )
    return reply.json or {}


def report_table(markdown: str) -> dict[str, str]:
    return dict(re.findall(r"^\| (.+?) \| (.+?) \|$", markdown, flags=re.MULTILINE))


# The roster.


async def roster_view(cultivate: Cultivate, *, user: str = ASHA, count: int = 1) -> dict[str, Any]:
    await cultivate.command("roster", user=user)
    return await cultivate.opened_view("roster", count=count)


async def choose_level(
    cultivate: Cultivate, roster: dict[str, Any], action_id: str, level: str, *, user: str = ASHA
) -> None:
    """Choose a person's level in a roster's select, on the roster as Slack holds it now (as
    Slack sends it with the click)."""
    await cultivate.click(
        {"action_id": action_id, "type": "static_select", "selected_option": {"value": level}},
        user=user,
        view={**cultivate.slack.views[roster["id"]], "id": roster["id"]},
    )


def rows(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        b["block_id"].removeprefix("member."): b
        for b in view["blocks"]
        if b.get("block_id", "").startswith("member.")
    }


def level_of(block: dict[str, Any]) -> str:
    return block["text"]["text"].split("*")[1]


# Installations and the command line.


def an_installation(team_id: str, bot_token: str) -> Installation:
    """A workspace's row as an OAuth install leaves it, with the token as given."""
    return Installation(
        team_id=team_id,
        bot_token=bot_token,
        bot_id="B1",
        bot_user_id="U1",
        installed_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def run_main(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *argv: str, **env: str) -> int:
    from bot.__main__ import main

    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_CLIENT_ID": "fake-client-id",
        "SLACK_CLIENT_SECRET": "fake-client-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cultivate.db'}",
        "LOG_LEVEL": "WARNING",
        "TOKEN_ENCRYPTION_KEYS": KEY,
        **env,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return main(list(argv))


# The community's library.

SAVE_SHORTCUT, SAVE_FORM = "save_to_knowledge", "library_save"


def posted(slack: FakeSlack, user: str, text: str, *, channel: str = HOUSING) -> dict[str, Any]:
    """A person's message in a channel, as Slack holds it (typed text escaped by Slack)."""
    with slack.workspace.lock:
        message = {"type": "message", "user": user, "text": text, "ts": slack.workspace.next_ts()}
        slack.workspace.add_message(channel, message)
    return dict(message)


def saving_forms(slack: FakeSlack) -> int:
    return sum(
        1
        for c in slack.calls_to("views.open")
        if c.ok and c.args["view"].get("callback_id") == SAVE_FORM
    )


async def save_to_library(
    cultivate: Cultivate,
    message: dict[str, Any],
    *,
    user: str,
    channel: str = HOUSING,
    tags: str = "",
    title: str | None = None,
) -> Reply:
    """Choose *Save to knowledge* on the message, and save the form that opens."""
    before = saving_forms(cultivate.slack)
    reply = await cultivate.shortcut(message, SAVE_SHORTCUT, user=user, channel=channel)
    assert reply.status == 200
    view = await cultivate.opened_view(SAVE_FORM, count=before + 1)
    values: dict[str, dict[str, Any]] = {"tags": {"tags": tags}}
    if title is not None:
        values["title"] = {"title": title}
    return await cultivate.submit(view, values, user=user)
