"""Opening modals, and what to do when Slack will not open one; answering a person privately;
posting in a channel the app may not have joined yet."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

# Slack's trigger_id lives for 3 seconds; past that views.open answers one of these.
TRIGGER_GONE = {"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"}
TOO_SLOW = "Slack took too long to open the form. Please try again."


async def open_modal(
    client: AsyncWebClient,
    *,
    trigger_id: str,
    view: dict[str, Any],
    logger: logging.Logger,
    push: bool = False,
) -> str | None:
    """Open (or push) a modal and return its view id. None, logged, when the trigger had
    expired; other errors raise."""
    try:
        if push:
            response = await client.views_push(trigger_id=trigger_id, view=view)
        else:
            response = await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        reason = error.response.get("error")
        if reason in TRIGGER_GONE:
            logger.warning("could not open a modal: %s", reason)
            return None
        raise
    return str(response["view"]["id"])


async def open_form(
    client: AsyncWebClient,
    *,
    trigger_id: str,
    view: dict[str, Any],
    logger: logging.Logger,
    tell: Callable[[str], Awaitable[None]],
) -> str | None:
    """Open a modal for a person and return its view id; None, and the person told with
    `tell` that Slack took too long, when the trigger had expired."""
    view_id = await open_modal(client, trigger_id=trigger_id, view=view, logger=logger)
    if view_id is None:
        await tell(TOO_SLOW)
    return view_id


async def tell_privately(
    client: AsyncWebClient,
    *,
    user_id: str,
    text: str,
    channel_id: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
) -> None:
    """A note to one person where there is no response_url (App Home, modals)."""
    if channel_id and channel_id.startswith(("C", "G")):
        try:
            await client.chat_postEphemeral(
                channel=channel_id, user=user_id, text=text, blocks=blocks
            )
            return
        except SlackApiError:
            pass  # not in that channel: fall back to a direct message
    await client.chat_postMessage(channel=user_id, text=text, blocks=blocks)


async def post_in_channel(
    client: AsyncWebClient, *, channel_id: str, text: str, logger: logging.Logger
) -> bool:
    """Post, joining a public channel first if the bot was never added to it."""
    try:
        await client.chat_postMessage(channel=channel_id, text=text)
        return True
    except SlackApiError as error:
        if error.response.get("error") != "not_in_channel":
            raise
    try:
        await client.conversations_join(channel=channel_id)
        await client.chat_postMessage(channel=channel_id, text=text)
        return True
    except SlackApiError as error:
        logger.info("cannot post in %s: %s", channel_id, error.response.get("error"))
        return False
