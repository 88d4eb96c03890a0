"""Asking Slack who is in a channel, for the access checks in `bot.services.access`.

A community whose id arrives in a button or a view is loaded with `community_for`, which
refuses ids of other teams, malformed ones and private channels' communities the person is not
in; Slack is asked only when our own membership rows do not already say they are in it.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.services import access, members
from bot.services.communities import CommunityRecord
from bot.services.errors import NoCommunity
from handlers.views import tell_privately
from storage.db import Database
from storage.models import Community

PAGE = 200
LOOKUPS = 100  # people newly found in the channel looked up (bot or not) at one look


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


async def record_channel(
    runtime: Runtime,
    client: AsyncWebClient,
    community: Community,
    *,
    bot_user_id: str | None,
    at_start: bool = False,
) -> bool:
    """Record who is in the community's channel now: people there before it became a community
    (`at_start`: it just has), people who joined or left unseen. Bots, the app among them, are
    not members. True if anything changed."""
    assert community.id is not None
    present = await channel_members(client, community.channel_id)
    if present is None:
        return False
    unknown = await members.unrecorded(
        runtime.database, team_id=community.team_id, community_id=community.id, present=present
    )
    looked_up = set(unknown[:LOOKUPS])
    is_bot: dict[str, bool] = {}
    for user_id in present:
        if user_id == bot_user_id:
            is_bot[user_id] = True
        elif user_id in looked_up:
            person = (await client.users_info(user=user_id)).get("user") or {}
            is_bot[user_id] = bool(person.get("is_bot") or person.get("deleted"))
        elif user_id not in unknown or at_start:
            # At the start everyone in the channel belongs from its beginning: past the
            # lookups, a person is taken for a person (a later look never makes them a join).
            is_bot[user_id] = False
    changed = await members.record_present(
        runtime.database,
        runtime.clock,
        team_id=community.team_id,
        community_id=community.id,
        present=is_bot,
        at_start=at_start,
    )
    return changed > 0


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
