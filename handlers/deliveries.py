"""Telling coordinators, once, when something scheduled could not be delivered."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import DELIVERY_FAILED, Drop, Due
from bot.services.communities import community_by_id
from bot.services.errors import NoCommunity
from bot.text import escape
from handlers.registry import Registry


def register(registry: Registry) -> None:
    runtime = registry.runtime

    async def tell_coordinators(due: Due, client: AsyncWebClient) -> None:
        if due.community_id is None:
            raise Drop("no community to tell")
        try:
            record = await community_by_id(
                runtime.database, team_id=due.team_id, community_id=due.community_id
            )
        except NoCommunity:
            raise Drop("the community is gone") from None
        what = escape(str(due.payload.get("what", "a scheduled message")))
        error = escape(str(due.payload.get("error", "unknown")))
        text = (
            f"I couldn't deliver {what} for *{escape(record.community.name)}* "
            f"in <#{record.community.channel_id}> after several tries (Slack said: `{error}`). "
            "The community's Home tab lists what failed."
        )
        for coordinator in record.coordinators:
            await client.chat_postMessage(channel=coordinator, text=text)

    registry.senders.register(
        DELIVERY_FAILED, tell_coordinators, description="a notice about a failed delivery"
    )
