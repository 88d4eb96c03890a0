"""Delivering scheduled messages once, showing coordinators what is scheduled and what
failed, and telling them, once, when something could not be delivered."""

from __future__ import annotations

from functools import partial

from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import DELIVERY_FAILED, Drop, Due, is_crash
from bot.services.communities import CommunityRecord, community_by_id
from bot.services.deliveries import Delivery, outlook
from bot.services.errors import NoCommunity
from bot.text import escape, slack_time
from handlers.blocks import Block, context, section
from handlers.registry import Registry, Surface


def _line(registry: Registry, delivery: Delivery, moment: str) -> str:
    what = registry.senders.describe(delivery.kind)
    about = f": {escape(delivery.about)}" if delivery.about else ""
    return f"• {what}{about} — {moment}"


def _failed_line(registry: Registry, delivery: Delivery) -> str:
    when = delivery.finished_at or delivery.due_at
    if is_crash(delivery.error):
        # Our bug, not Slack's refusal: say what did not happen, in words.
        what = registry.senders.describe(delivery.kind)
        about = f" ({escape(delivery.about)})" if delivery.about else ""
        day = slack_time(when, "{date_short_pretty}")
        return (
            f"• {what[:1].upper()}{what[1:]}{about} could not be sent on {day}; it has been logged."
        )
    return _line(
        registry,
        delivery,
        f"failed {slack_time(when)} (Slack said `{escape(delivery.error or 'unknown')}`)",
    )


def _notice(*, what: str, community: str, channel_id: str, crashed: bool, error: str) -> str:
    """The DM telling a coordinator what did not happen (`what` and `community` escaped)."""
    if crashed:
        return (
            f"I couldn't send {what} for *{community}* in <#{channel_id}>: something went "
            "wrong on my side, not in Slack, each time I tried. It has been logged so it can be "
            "fixed. The community's Home tab lists what could not be sent."
        )
    return (
        f"I couldn't deliver {what} for *{community}* "
        f"in <#{channel_id}> after several tries (Slack said: `{error}`). "
        "The community's Home tab lists what failed."
    )


async def tell_coordinators(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """A delivery failed for good: each of the community's coordinators is told, once."""
    if due.community_id is None:
        raise Drop("no community to tell")
    try:
        record = await community_by_id(
            registry.runtime.database, team_id=due.team_id, community_id=due.community_id
        )
    except NoCommunity:
        raise Drop("the community is gone") from None
    text = _notice(
        what=escape(str(due.payload.get("what", "a scheduled message"))),
        community=escape(record.community.name),
        channel_id=record.community.channel_id,
        crashed=bool(due.payload.get("crashed")),
        error=escape(str(due.payload.get("error", "unknown"))),
    )
    for coordinator in record.coordinators:
        await client.chat_postMessage(channel=coordinator, text=text)


async def scheduled_and_failed(
    registry: Registry, record: CommunityRecord, viewer: str, surface: Surface
) -> list[Block]:
    """In a coordinator's App Home: what is coming up, and what could not be delivered."""
    if surface != Surface.HOME or not record.is_coordinator(viewer):
        return []
    assert record.community.id is not None
    seen = await outlook(
        registry.runtime.database,
        team_id=record.community.team_id,
        community_id=record.community.id,
    )
    blocks: list[Block] = []
    if seen.due:
        lines = [_line(registry, d, f"due {slack_time(d.due_at)}") for d in seen.due]
        more = seen.due_count - len(seen.due)
        if more:
            lines.append(f"…and {more} more")
        blocks.append(section("*Scheduled*\n" + "\n".join(lines)))
    else:
        blocks.append(context("Nothing is scheduled for this community."))
    if seen.failed:
        lines = [_failed_line(registry, d) for d in seen.failed]
        blocks.append(section("⚠️ *Could not be delivered*\n" + "\n".join(lines)))
    return blocks


def register(registry: Registry) -> None:
    registry.senders.register(
        DELIVERY_FAILED,
        partial(tell_coordinators, registry),
        description="a notice about a failed delivery",
    )
    registry.sections.append(partial(scheduled_and_failed, registry))
