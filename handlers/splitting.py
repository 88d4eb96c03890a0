"""Starting the sub-communities of a split, once its closure is confirmed: a channel for each
(checked against the channels already there), its members invited, and word in the parent's
channel of where it goes on. Not a feature of its own: the closing flow (`handlers.closing`)
checks the names before anything closes and starts the communities after."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.services.communities import CommunityRecord
from bot.services.errors import CommunityError, InvalidAnswers
from bot.services.splitting import (
    SPLIT_FIELDS,
    Planned,
    plan_from_answers,
    start_sub_community,
    taken_names,
)
from bot.text import calendar_date, escape, mention
from handlers.forms import read_state
from handlers.views import tell_privately
from storage.models import Closure

# How long a split may spend listing channels before its ack (Slack allows 3 s in all).
LISTING_BUDGET = 1.5
# Names a new community's channel may take (`name`, `name-2`…) before the split gives up on it.
NAME_ATTEMPTS = 4

log = logging.getLogger(__name__)


async def check_split(client: AsyncWebClient, view: dict[str, Any]) -> list[Planned]:
    """The new communities named in the confirmation, checked; InvalidAnswers keyed by field."""
    planned = plan_from_answers(read_state(SPLIT_FIELDS, view.get("state") or {}))
    # A name already taken is said on its field, before anything is created: Slack
    # would refuse that channel and leave the split half done.
    try:
        async with asyncio.timeout(LISTING_BUDGET):
            existing = await channel_names(client)
    except TimeoutError:  # a vast workspace: creating the channel will say instead
        existing = set()
    taken = taken_names(planned, existing)
    if taken:
        raise InvalidAnswers(taken)
    return planned


async def channel_names(client: AsyncWebClient) -> set[str]:
    """The names of the channels the app can see, archived ones too (their names stay taken).
    Private channels it is not in are not among them: creating one of those names still fails,
    and the split then says so after the form has closed."""
    names: set[str] = set()
    cursor = ""
    while True:
        try:
            page = await client.conversations_list(
                types="public_channel,private_channel", limit=1000, cursor=cursor or None
            )
        except SlackApiError as error:  # unchecked: creating the channel will say
            log.warning("could not list channels: %s", error.response.get("error"))
            return names
        names |= {str(c.get("name")) for c in page.get("channels") or []}
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return names


async def create_channel(client: AsyncWebClient, name: str, *, is_private: bool) -> Any:
    """A new community's channel, named `name` or, where a private channel the app cannot see
    has that name (the split's check could not list it), `name-2`, `name-3`…: the community was
    confirmed and its parent is closed by now, so it starts under a near name rather than not
    at all. Raises Slack's error for any other refusal, or when every name is taken."""
    candidate = name
    for number in range(2, NAME_ATTEMPTS + 1):
        try:
            return await client.conversations_create(name=candidate, is_private=is_private)
        except SlackApiError as error:
            if error.response.get("error") != "name_taken":
                raise
        candidate = f"{name[: 80 - len(str(number)) - 1]}-{number}"
    return await client.conversations_create(name=candidate, is_private=is_private)


async def start_sub_communities(
    runtime: Runtime,
    client: AsyncWebClient,
    planned: list[Planned],
    *,
    closure: Closure,
    parent: CommunityRecord,
    user_id: str,
    bot_user_id: str | None,
) -> None:
    """Each planned community in its own new channel; then the parent's members are told
    where it goes on."""
    started: list[str] = []
    for sub in planned:
        channel_id = await _start_one(
            runtime, client, sub, closure=closure, parent=parent, user_id=user_id
        )
        if channel_id is None:
            continue
        await _invite_members(client, sub, channel_id, user_id=user_id, bot_user_id=bot_user_id)
        await client.chat_postMessage(
            channel=channel_id,
            text=f"🌱 *{escape(sub.name)}* grows out of *{escape(parent.community.name)}* "
            f"(<#{parent.community.channel_id}>), whose scope it starts from: `/cop scope` "
            "to make it its own. The parent's archive is posted in its channel on its "
            f"closing date, {calendar_date(closure.closing_date)}.",
        )
        started.append(f"*{escape(sub.name)}* (<#{channel_id}>)")
    if started:
        # Members not chosen for a new community must still be able to find them.
        await client.chat_postMessage(
            channel=parent.community.channel_id,
            text=f"🌱 *{escape(parent.community.name)}* goes on as "
            f"{_and_list(started)}: join the one that fits your work.",
        )


async def _start_one(
    runtime: Runtime,
    client: AsyncWebClient,
    sub: Planned,
    *,
    closure: Closure,
    parent: CommunityRecord,
    user_id: str,
) -> str | None:
    """The new community's channel and community; its channel id, or None (the coordinator
    told why) when Slack or the service refused it."""
    try:
        # A private community's offspring start private too.
        created = await create_channel(
            client, sub.channel_name, is_private=parent.community.is_private
        )
    except SlackApiError as error:
        # Every name tried is taken, or Slack refused the channel (a workspace that
        # lets no app create channels): nothing was created for this one.
        problem = str(error.response.get("error"))
        why = (
            f"#{sub.channel_name} and the names after it (#{sub.channel_name}-2…) are taken"
            if problem == "name_taken"
            else f"Slack refused its channel (`{escape(problem)}`)"
        )
        await tell_privately(
            client,
            user_id=user_id,
            text=f"I could not start *{escape(sub.name)}*: {why}. Nothing was created "
            "for it. Create a channel for it yourself, invite its members and run "
            "`/cop start` there.",
        )
        return None
    channel_id = str(created["channel"]["id"])
    try:
        await start_sub_community(
            runtime.database,
            runtime.clock,
            team_id=parent.community.team_id,
            parent_id=closure.community_id,
            user_id=user_id,
            channel_id=channel_id,
            name=sub.name,
            is_private=bool(created["channel"].get("is_private")),
        )
    except CommunityError as error:
        await tell_privately(
            client,
            user_id=user_id,
            text=f"I could not start *{escape(sub.name)}*: {escape(str(error))}.",
        )
        return None
    if created["channel"].get("name") != sub.channel_name:
        await tell_privately(
            client,
            user_id=user_id,
            text=f"#{sub.channel_name} is taken by a channel I cannot see, so "
            f"*{escape(sub.name)}* starts in <#{channel_id}>: rename the channel if "
            "you like.",
        )
    return channel_id


async def _invite_members(
    client: AsyncWebClient, sub: Planned, channel_id: str, *, user_id: str, bot_user_id: str | None
) -> None:
    invited = [u for u in sub.members if u != bot_user_id]
    if user_id not in invited:
        invited.append(user_id)
    try:
        await client.conversations_invite(channel=channel_id, users=",".join(invited))
    except SlackApiError as error:
        # The community stands in its new channel either way; the coordinator can add
        # its members by hand.
        people = ", ".join(mention(u) for u in invited)
        await tell_privately(
            client,
            user_id=user_id,
            text=f"*{escape(sub.name)}* has started in <#{channel_id}>, but Slack would "
            f"not let me invite its members "
            f"(`{escape(str(error.response.get('error')))}`): please add {people} there.",
        )


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"
