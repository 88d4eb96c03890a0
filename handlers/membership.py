"""Putting a person (or a message) in a community's channel, shared by the features that do
it (joining, recruitment, roles): adding them to the channel, posting where the app may first
have to join, and the one answer to "join, or ask to". Not a feature: it registers nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.services import access, joining
from bot.services.communities import CommunityClosed
from bot.services.errors import NoCommunity
from bot.services.joining import Asked
from bot.text import escape
from handlers.access import slack_says_in_channel
from handlers.blocks import Block
from handlers.requests import Click
from handlers.views import tell_privately
from storage.db import Database

Tell = Callable[[str], Awaitable[None]]


async def invite(client: AsyncWebClient, *, channel_id: str, user_id: str) -> bool:
    """Add the person to the channel, joining it first if the bot is not in it. True if they
    were added, False if they were there already; any other refusal raises for the caller."""
    for attempt in range(2):
        try:
            await client.conversations_invite(channel=channel_id, users=user_id)
            return True
        except SlackApiError as error:
            reason = error.response.get("error")
            if reason == "already_in_channel":
                return False
            if reason != "not_in_channel" or attempt:
                raise
        await client.conversations_join(channel=channel_id)
    return False  # not reached: the second attempt returns or raises


async def post_joining_first(
    client: AsyncWebClient, *, channel_id: str, text: str, blocks: list[Block]
) -> str:
    """Post, joining a public channel first if the app is not in it; the message's ts."""
    try:
        posted = await client.chat_postMessage(channel=channel_id, text=text, blocks=blocks)
    except SlackApiError as error:
        if error.response.get("error") != "not_in_channel" or not channel_id.startswith("C"):
            raise
        await client.conversations_join(channel=channel_id)
        posted = await client.chat_postMessage(channel=channel_id, text=text, blocks=blocks)
    return str(posted["ts"])


def click_teller(click: Click) -> Tell:
    """Answer the person who clicked: under the message if it has a response_url, else by
    direct message."""

    async def tell(text: str) -> None:
        if click.body.get("response_url"):
            await click.respond(text=text, response_type="ephemeral", replace_original=False)
        else:
            await tell_privately(click.client, user_id=click.user_id, text=text)

    return tell


async def join_or_ask(
    database: Database,
    clock: Clock,
    client: AsyncWebClient,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    tell: Tell,
    logger: logging.Logger,
    invited: bool = False,
) -> None:
    """Add the person to an open community's channel, or ask a community by invitation's
    coordinators, and tell them which. `invited`: they pressed an invitation its coordinators
    posted, so they may ask even if they cannot see its channel."""
    try:
        asked, record = await joining.ask_to_join(
            database,
            clock,
            team_id=team_id,
            community_id=community_id,
            user_id=user_id,
            invited=invited,
            in_channel=None if invited else slack_says_in_channel(client),
        )
    except NoCommunity:
        await tell(access.UNKNOWN)
        return
    except CommunityClosed as closed:
        await tell(str(closed))
        return
    community = record.community
    name, channel = escape(community.name), f"<#{community.channel_id}>"
    if asked == Asked.MEMBER:
        await tell(f"You're already a member of *{name}*: {channel}.")
    elif asked == Asked.WAITING:
        await tell(f"You've already asked to join *{name}*. The coordinators will answer.")
    elif asked == Asked.REQUESTED:
        await tell(
            f"I've asked the coordinators of *{name}*. I'll send you a message when one "
            "of them answers."
        )
    else:  # open: anyone may join, so add them now
        try:
            added = await invite(client, channel_id=community.channel_id, user_id=user_id)
        except SlackApiError as error:
            logger.info("could not add %s: %s", user_id, error.response.get("error"))
            await tell(f"*{name}* is open to everyone: open {channel} and press *Join*.")
            return
        if added:
            await tell(f"You're in! Welcome to *{name}*: {channel}.")
        else:
            await tell(f"You're already in {channel}, the channel of *{name}*.")
