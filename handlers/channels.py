"""A community's channel renamed, or made private or public: Slack says so, and who may see
the community follows (a private channel's community is shown only to people in it)."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.communities import channel_privacy_changed
from handlers.registry import Registry

CONVERSIONS = {"channel_convert_to_private": True, "channel_convert_to_public": False}


async def refresh_privacy(
    registry: Registry,
    client: AsyncWebClient,
    team_id: str,
    channel_id: str,
    logger: logging.Logger,
) -> None:
    """Slack says the channel changed: ask it whether the channel is private now."""
    if not team_id or not channel_id:
        return
    try:
        info = (await client.conversations_info(channel=channel_id)).get("channel") or {}
    except SlackApiError as error:
        logger.info("conversations.info after a change: %s", error.response.get("error"))
        return
    if "is_private" in info:
        await channel_privacy_changed(
            registry.runtime.database,
            team_id=team_id,
            channel_id=channel_id,
            is_private=bool(info["is_private"]),
        )


async def renamed(
    registry: Registry,
    event: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    logger: logging.Logger,
) -> None:
    channel = event.get("channel")
    channel_id = str(channel.get("id") if isinstance(channel, dict) else channel or "")
    await refresh_privacy(registry, client, context.team_id or "", channel_id, logger)


async def converted(
    registry: Registry, event: dict[str, Any], context: AsyncBoltContext, logger: logging.Logger
) -> None:
    # The event is Slack's word for what the channel became (and arrives in order with
    # the channel's messages), so it is recorded as it says.
    is_private = CONVERSIONS[str(event.get("subtype"))]
    changed = await channel_privacy_changed(
        registry.runtime.database,
        team_id=context.team_id or "",
        channel_id=str(event.get("channel") or ""),
        is_private=is_private,
    )
    if changed:
        logger.info("a community's channel became %s", "private" if is_private else "public")


def register(registry: Registry) -> None:
    app = registry.app
    app.event("channel_rename")(partial(renamed, registry))
    app.event("group_rename")(partial(renamed, registry))
    # Before any other listener for messages: Bolt gives an event to the first that matches.
    for subtype in CONVERSIONS:
        app.event({"type": "message", "subtype": subtype})(partial(converted, registry))
