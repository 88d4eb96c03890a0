"""Milestones from the governance stage: the owner's reminders, "Mark done", and overdue
milestones flagged in `/cop status` and App Home."""

from __future__ import annotations

import json
from datetime import date
from functools import partial
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Drop, Due
from bot.services import milestones
from bot.services.communities import CommunityRecord, community_by_id, is_closed
from bot.services.errors import CommunityError, NoCommunity
from bot.services.milestones import MILESTONE_REMINDER, mark_done, still_due, today_for
from bot.text import calendar_date, escape, mention
from handlers.blocks import Block, actions, button, section
from handlers.registry import Registry, Surface
from handlers.requests import Click

MARK_DONE = "milestone_done"
WHEN = {7: "in a week", 1: "tomorrow"}


def reminder(record: CommunityRecord, due: Due) -> tuple[str, list[Block]]:
    title = escape(str(due.payload["title"]))
    days = int(due.payload.get("days") or 0)
    when = WHEN.get(days, f"in {days} days")
    on = calendar_date(date.fromisoformat(str(due.payload["due"])))
    text = (
        f"⏳ Your milestone *{title}* for *{escape(record.community.name)}* is due {when}, on {on}."
    )
    value = json.dumps(
        {
            "community": record.community.id,
            "title": due.payload["title"],
            "due": due.payload["due"],
        },
        separators=(",", ":"),
    )
    return text, [
        section(text),
        actions(button("Mark done", action_id=MARK_DONE, value=value, style="primary")),
    ]


async def remind_owner(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """Sends one milestone reminder to its owner, unless it was changed, removed or done."""
    database = registry.runtime.database
    if due.community_id is None:
        raise Drop("no community")
    try:
        record = await community_by_id(database, team_id=due.team_id, community_id=due.community_id)
    except NoCommunity:
        raise Drop("the community is gone") from None
    if still_due(record, due.payload) is None or await _happened(registry, record, due.payload):
        raise Drop("the milestone was changed, removed or done")
    text, blocks = reminder(record, due)
    await client.chat_postMessage(channel=str(due.payload["owner"]), text=text, blocks=blocks)


async def mark_milestone_done(click: Click) -> None:
    """The owner's "Mark done" in the reminder (the service checks they may)."""
    try:
        value = json.loads(click.value or "{}")
        community_id, title, due = (
            int(value["community"]),
            str(value["title"]),
            str(value["due"]),
        )
    except (ValueError, KeyError, TypeError):
        return
    try:
        record, milestone = await mark_done(
            click.database,
            click.clock,
            team_id=click.team_id,
            community_id=community_id,
            user_id=click.user_id,
            title=title,
            due=due,
        )
    except CommunityError as refused:
        await click.respond(text=str(refused), response_type="ephemeral", replace_original=False)
        return
    await click.respond(
        text=f"✅ *{escape(milestone.title)}* for *{escape(record.community.name)}* is done"
        f" (marked by {mention(click.user_id)}).",
        replace_original=True,
    )


async def overdue_milestones(
    registry: Registry, record: CommunityRecord, viewer: str, surface: Surface
) -> list[Block]:
    """`/cop status` and App Home: milestones past their date and not done."""
    if is_closed(record):
        return []  # a closed community's milestones are its record, nothing to chase
    # Done as the figures count it: typed, or seen happening (the launch workshop held).
    states = await _states(registry, record)
    today = today_for(record.community, registry.runtime.clock.now())
    late = [m for m in states if not m.done and m.due < today]
    if not late:
        return []
    lines = [
        f"• *{escape(m.title)}*, due {calendar_date(m.due)}"
        + (f" · {mention(m.owner)}" if m.owner else "")
        for m in late
    ]
    return [section("⚠️ *Overdue milestones*\n" + "\n".join(lines))]


async def _states(registry: Registry, record: CommunityRecord) -> list[milestones.MilestoneState]:
    runtime = registry.runtime
    return await milestones.milestone_states(runtime.database, runtime.clock, record)


async def _happened(registry: Registry, record: CommunityRecord, payload: dict[str, Any]) -> bool:
    """Whether the milestone is done by what Cultivate saw (no one typed the date)."""
    return any(
        m.done and m.title == payload.get("title") and m.due.isoformat() == payload.get("due")
        for m in await _states(registry, record)
    )


def register(registry: Registry) -> None:
    registry.senders.register(
        MILESTONE_REMINDER, partial(remind_owner, registry), description="a milestone reminder"
    )
    registry.click(MARK_DONE, mark_milestone_done)
    registry.sections.append(partial(overdue_milestones, registry))
