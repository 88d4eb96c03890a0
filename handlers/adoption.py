"""`/cop adopt`: a workspace admin coordinates a community whose coordinators have all left
its channel, so it is not left without anyone to run it."""

from __future__ import annotations

from functools import partial

from slack_sdk.errors import SlackApiError

from bot.services.communities import adopt as adopt_community
from bot.services.errors import CommunityError, NoCommunity, NotCoordinator
from bot.text import escape, mention
from handlers.access import channel_members
from handlers.cop import NO_COMMUNITY, CopRequest
from handlers.registry import Registry
from handlers.views import post_in_channel


async def adopt(registry: Registry, request: CopRequest) -> None:
    """`/cop adopt`: a workspace admin coordinates a community whose coordinators all left."""
    runtime = registry.runtime
    try:
        person = (await request.client.users_info(user=request.user_id)).get("user") or {}
    except SlackApiError as error:
        request.logger.warning("users.info failed: %s", error.response.get("error"))
        await request.tell("Slack would not tell me who you are just now. Please try again.")
        return
    present = await channel_members(request.client, request.channel_id)
    if present is None:
        await request.tell(
            "Slack would not tell me who is in this channel: add me to it and try again."
        )
        return
    try:
        record = await adopt_community(
            runtime.database,
            runtime.clock,
            team_id=request.team_id,
            channel_id=request.channel_id,
            user_id=request.user_id,
            is_workspace_admin=bool(person.get("is_admin") or person.get("is_owner")),
            in_channel=set(present),
        )
    except NoCommunity:
        await request.tell(NO_COMMUNITY)
        return
    except NotCoordinator as coordinated:
        names = ", ".join(mention(c) for c in coordinated.coordinators)
        await request.tell(
            f"This community still has a coordinator in its channel ({names}): only a "
            "community whose coordinators have all left can be adopted. Nothing changed."
        )
        return
    except CommunityError as refused:
        await request.tell(str(refused))
        return
    name = escape(record.community.name)
    await post_in_channel(
        request.client,
        channel_id=request.channel_id,
        text=f"{mention(request.user_id)}, a workspace admin, now coordinates *{name}*: its "
        "coordinators had all left this channel. `/cop roles` changes who coordinates it.",
        logger=request.logger,
    )
    await request.tell(f"You now coordinate *{name}*. `/cop status` shows what to do next.")


def register(registry: Registry) -> None:
    registry.cop.subcommand(
        "adopt", summary="for a workspace admin: coordinate a community whose coordinators left"
    )(partial(adopt, registry))
