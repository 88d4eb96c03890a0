"""App Home: each community the person coordinates or belongs to, with its progress."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.communities import communities_for_person
from handlers.blocks import Block, context, divider, header, section
from handlers.progress import community_blocks
from handlers.registry import Registry, Surface

HOME_BLOCK_LIMIT = 100  # Slack's limit for a Home tab


async def home_view(registry: Registry, *, team_id: str, user_id: str) -> dict[str, Any]:
    records = await communities_for_person(
        registry.runtime.database, team_id=team_id, user_id=user_id
    )
    blocks: list[Block] = [header("Your communities of practice")]
    if not records:
        blocks.append(
            section(
                "You don't coordinate or belong to a community yet. In the channel where "
                "your community talks, type `/cop start` to make it one."
            )
        )
    shown = 0
    for record in records:
        more = [divider(), *await community_blocks(registry, record, user_id, Surface.HOME)]
        if len(blocks) + len(more) >= HOME_BLOCK_LIMIT:  # keep one block for the note below
            break
        blocks += more
        shown += 1
    if shown < len(records):
        blocks.append(
            context(
                f"And {len(records) - shown} more: `/cop status` in a community's channel shows it."
            )
        )
    return {"type": "home", "blocks": blocks}


async def show_home(
    registry: Registry,
    event: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    logger: logging.Logger,
) -> None:
    """The person opened the app's Home tab: publish their communities."""
    user_id = event.get("user")
    if event.get("tab") != "home" or not isinstance(user_id, str):
        return
    view = await home_view(registry, team_id=context.team_id or "", user_id=user_id)
    await publish(client, user_id=user_id, view=view, logger=logger)


def register(registry: Registry) -> None:
    registry.app.event("app_home_opened")(partial(show_home, registry))


async def publish(
    client: AsyncWebClient, *, user_id: str, view: dict[str, Any], logger: logging.Logger
) -> None:
    """Publish a Home view. If Slack refuses a picture in it (a file deleted since, or one
    still being processed), publish it again without pictures rather than leave Home stale."""
    try:
        await client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        pictures = [b for b in view["blocks"] if b.get("type") == "image" and "slack_file" in b]
        if error.response.get("error") != "invalid_arguments" or not pictures:
            raise
        logger.warning("Home refused a picture; publishing it without pictures")
        without = [b for b in view["blocks"] if b not in pictures]
        await client.views_publish(user_id=user_id, view={**view, "blocks": without})
