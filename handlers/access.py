"""Asking Slack who is in a channel, for the access checks in `bot.services.access`.

A community whose id arrives in a button or a view is loaded with `community_for`, which
refuses ids of other teams, malformed ones and private channels' communities the person is not
in; Slack is asked only when our own membership rows do not already say they are in it.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import access
from bot.services.communities import CommunityRecord
from bot.services.errors import NoCommunity
from handlers.views import tell_privately
from storage.db import Database

PAGE = 200


async def channel_members(client: AsyncWebClient, channel_id: str) -> list[str] | None:
    """Everyone in the channel, page by page; None if Slack will not say."""
    found: list[str] = []
    cursor: str | None = None
    try:
        while True:
            page = await client.conversations_members(channel=channel_id, limit=PAGE, cursor=cursor)
            found += page.get("members") or []
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return found
    except SlackApiError:
        return None


def slack_says_in_channel(client: AsyncWebClient) -> access.InChannel:
    """Whether Slack lists the person in the channel (False if Slack will not say)."""

    async def in_channel(channel_id: str, user_id: str) -> bool:
        cursor: str | None = None
        try:
            while True:
                page = await client.conversations_members(
                    channel=channel_id, limit=PAGE, cursor=cursor
                )
                if user_id in (page.get("members") or []):
                    return True
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    return False
        except SlackApiError:
            return False

    return in_channel


async def community_for(
    database: Database,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_id: str,
    community_id: Any,
) -> CommunityRecord:
    """The community a payload names, if this person may see it (see `bot.services.access`);
    raises `NoCommunity` otherwise."""
    return await access.community_for(
        database,
        team_id=team_id,
        user_id=user_id,
        community_id=community_id,
        in_channel=slack_says_in_channel(client),
    )


async def community_pressed(
    database: Database,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_id: str,
    community_id: Any,
) -> CommunityRecord | None:
    """The community a button (or the view it sits in) names, if the person who pressed it may
    see it; None, and they are told why in a direct message, if not."""
    try:
        return await community_for(
            database, client, team_id=team_id, user_id=user_id, community_id=community_id
        )
    except NoCommunity as refused:
        await tell_privately(client, user_id=user_id, text=str(refused))
        return None
