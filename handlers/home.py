"""App Home: each community the person coordinates or belongs to, with its progress."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.services.communities import communities_for_person
from handlers.blocks import Block, context, divider, header, section
from handlers.progress import progress_blocks
from handlers.registry import Registry

# Each community takes eight blocks; Slack allows 100 in a Home tab.
MOST_COMMUNITIES = 10


async def home_view(runtime: Runtime, *, team_id: str, user_id: str) -> dict[str, Any]:
    records = await communities_for_person(runtime.database, team_id=team_id, user_id=user_id)
    blocks: list[Block] = [header("Your communities of practice")]
    if not records:
        blocks.append(
            section(
                "You don't coordinate or belong to a community yet. In the channel where "
                "your community talks, type `/cop start` to make it one."
            )
        )
    for record in records[:MOST_COMMUNITIES]:
        blocks += [divider(), *progress_blocks(record, user_id)]
    if len(records) > MOST_COMMUNITIES:
        blocks.append(
            context(
                f"And {len(records) - MOST_COMMUNITIES} more: "
                "`/cop status` in a community's channel shows it."
            )
        )
    return {"type": "home", "blocks": blocks}


def register(registry: Registry) -> None:
    app, runtime = registry.app, registry.runtime

    @app.event("app_home_opened")
    async def show_home(
        event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        if event.get("tab") != "home":
            return
        user_id = event["user"]
        view = await home_view(runtime, team_id=context.team_id or "", user_id=user_id)
        await client.views_publish(user_id=user_id, view=view)
