"""The time zone fields' options: Slack asks as the person types (block_suggestion) and
Cultivate answers with the zones matching it. Any form with a `Kind.ZONE` field gets them."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.zones import search
from handlers.forms import zone_option
from handlers.registry import Registry

ZONE_ACTION = "timezone"  # the action_id (and block_id) of every time zone field


async def suggest_zones(ack: AsyncAck, payload: dict[str, Any]) -> None:
    """The zones matching what the person has typed so far."""
    await ack(options=[zone_option(zone) for zone in search(str(payload.get("value") or ""))])


def register(registry: Registry) -> None:
    registry.app.options(ZONE_ACTION)(suggest_zones)
