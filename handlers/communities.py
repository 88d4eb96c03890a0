"""Making a channel a community (`/cop start`) and seeing how it is doing (`/cop status`).
A workspace admin adopting one is `handlers.adoption`; a channel renamed or made private,
`handlers.channels`."""

from __future__ import annotations

import asyncio
import logging
import re
from functools import partial
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalogue import Field, Kind
from bot.services import sustaining
from bot.services.communities import (
    DOMAIN_MAX,
    NAME_MAX,
    community_in_channel,
    start_community,
)
from bot.services.errors import (
    AlreadyACommunity,
    InvalidAnswers,
)
from bot.text import escape, mention
from handlers.access import record_channel, slack_says_in_channel
from handlers.blocks import Block, metadata_of, modal, plain
from handlers.cop import CopRequest
from handlers.forms import input_block, read_state
from handlers.progress import community_blocks
from handlers.registry import Registry, Surface
from handlers.requests import Submission
from handlers.views import post_in_channel
from storage.models import Community

START_FORM = "community_start"
TIMEZONE = Field(
    "timezone",
    "Time zone",
    Kind.ZONE,
    required=True,
    hint="Meetings and reminders use it. Type part of a city's name to search.",
)
DEFAULT_TIMEZONE = "UTC"
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,30}")
# Slack allows 3 s for the whole answer to a form; asking it about the channel gets this much.
CHANNEL_CHECK_BUDGET = 1.5
NOT_YOUR_CHANNEL = (
    "I can only start a community in a channel you are in, from `/cop start` typed there (in "
    "a private channel, add me first: `/invite @Cultivate`). Nothing was created."
)
SLACK_SLOW = "Slack was slow to confirm the channel. Please press Start again."


def _text_input(
    block_id: str, label: str, *, initial: str, max_length: int, hint: str | None = None
) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": block_id, "max_length": max_length}
    if initial:
        element["initial_value"] = initial
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def start_view(*, channel_id: str, channel_name: str, timezone: str) -> dict[str, Any]:
    name = channel_name.replace("-", " ").replace("_", " ").strip().capitalize()
    return modal(
        title="Start a community",
        callback_id=START_FORM,
        submit="Start",
        close="Cancel",
        metadata={"channel": channel_id},
        blocks=[
            _text_input("name", "Name", initial=name[:NAME_MAX], max_length=NAME_MAX),
            _text_input(
                "domain",
                "Domain, in one line",
                initial="",
                max_length=DOMAIN_MAX,
                hint="What the community shares, e.g. housing policy, data engineering.",
            ),
            input_block(TIMEZONE, timezone),
        ],
    )


async def _person_timezone(client: AsyncWebClient, user_id: str, logger: logging.Logger) -> str:
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError as error:
        logger.warning("users.info failed: %s", error.response.get("error"))
        return DEFAULT_TIMEZONE
    return str((response.get("user") or {}).get("tz") or DEFAULT_TIMEZONE)


async def _channel_name(client: AsyncWebClient, channel_id: str, logger: logging.Logger) -> str:
    try:
        response = await client.conversations_info(channel=channel_id)
    except SlackApiError as error:
        logger.warning("conversations.info failed: %s", error.response.get("error"))
        return ""
    return str((response.get("channel") or {}).get("name") or "")


async def _checked_channel(
    client: AsyncWebClient, channel_id: str, starter: str, logger: logging.Logger
) -> bool | str:
    """Whether the channel a start form names is private, as Slack says; or, as a string,
    why it cannot be started there: not a channel, or the starter is not in it."""
    if not CHANNEL_ID.fullmatch(channel_id):
        return NOT_YOUR_CHANNEL
    try:
        info = (await client.conversations_info(channel=channel_id)).get("channel") or {}
    except SlackApiError as error:
        logger.info("start refused, conversations.info: %s", error.response.get("error"))
        return NOT_YOUR_CHANNEL
    if info.get("is_im") or info.get("is_mpim") or info.get("is_archived"):
        return NOT_YOUR_CHANNEL
    if not await slack_says_in_channel(client)(channel_id, starter):
        return NOT_YOUR_CHANNEL
    return bool(info.get("is_private"))


async def start(registry: Registry, request: CopRequest) -> None:
    """`/cop start`: the start form, for a channel that is not yet a community."""
    runtime = registry.runtime
    if not request.channel_id.startswith(("C", "G")):
        await request.tell("Run `/cop start` in the channel you want to make a community.")
        return
    existing = await community_in_channel(
        runtime.database, team_id=request.team_id, channel_id=request.channel_id
    )
    if existing is not None:
        await request.tell(
            f"This channel is already the community *{escape(existing.community.name)}*. "
            "`/cop status` shows how it is doing."
        )
        return
    view = start_view(
        channel_id=request.channel_id,
        channel_name=await _channel_name(request.client, request.channel_id, request.logger),
        timezone=await _person_timezone(request.client, request.user_id, request.logger),
    )
    await request.open_form(view)


async def status(registry: Registry, request: CopRequest) -> None:
    """`/cop status`: every feature's section for this community."""
    record = request.community
    blocks = await community_blocks(registry, record, request.user_id, Surface.STATUS)
    await request.tell(f"How {escape(record.community.name)} is doing", blocks=blocks)


async def started(submission: Submission) -> None:
    """The start form saved: Slack confirms the channel, then the community begins."""
    registry, client, logger = submission.registry, submission.client, submission.logger
    runtime = registry.runtime
    view, ack = submission.view, submission.ack
    channel_id = str(metadata_of(view).get("channel") or "")
    values = (view.get("state") or {}).get("values") or {}
    starter = submission.user_id
    # The channel in the form's metadata is only a claim: Slack, not the payload, says
    # whether the starter is in it (only someone there could have typed /cop start in it)
    # and whether it is private.
    try:
        async with asyncio.timeout(CHANNEL_CHECK_BUDGET):
            checked = await _checked_channel(client, channel_id, starter, logger)
    except TimeoutError:
        checked = SLACK_SLOW
    if isinstance(checked, str):
        await ack(response_action="errors", errors={"name": checked})
        return
    try:
        community = await start_community(
            runtime.database,
            runtime.clock,
            team_id=submission.team_id,
            channel_id=channel_id,
            name=_typed(values, "name"),
            domain=_typed(values, "domain"),
            timezone=str(read_state((TIMEZONE,), view.get("state") or {}).get("timezone") or ""),
            starter=starter,
            is_private=checked,
        )
    except InvalidAnswers as invalid:
        await ack(response_action="errors", errors=invalid.errors)
        return
    except AlreadyACommunity:
        await ack(
            response_action="errors",
            errors={"name": "This channel has just become a community. Try /cop status."},
        )
        return
    await ack()
    await _begin(registry, client, community, bot_user_id=submission.bot_user_id)
    await _announce(client, community, starter=starter, logger=logger)


def _typed(values: dict[str, Any], block_id: str) -> str:
    return str(((values.get(block_id) or {}).get(block_id) or {}).get("value") or "")


async def _begin(
    registry: Registry,
    client: AsyncWebClient,
    community: Community,
    *,
    bot_user_id: str | None,
) -> None:
    runtime = registry.runtime
    # Everyone in the channel now is a member from the community's beginning: recorded
    # before anyone is told, so every figure counts them from the first.
    await record_channel(runtime, client, community, bot_user_id=bot_user_id, at_start=True)
    # The health digest and the new-perspectives prompt begin with the community.
    await sustaining.ensure_scheduled(
        runtime.database,
        runtime.clock,
        team_id=community.team_id,
        community_id=community.id or 0,
    )


async def _announce(
    client: AsyncWebClient, community: Community, *, starter: str, logger: logging.Logger
) -> None:
    """Tell the channel it is a community now (or the starter, if the app cannot post there)."""
    channel_id = community.channel_id
    about = f": {escape(community.domain)}" if community.domain else ""
    text = (
        f"{mention(starter)} made this channel the community of practice "
        f"*{escape(community.name)}*{about}. Coordinators set it up stage by stage with "
        "`/cop scope`, `/cop governance`, `/cop members`, `/cop roles` and `/cop ways`; "
        "everyone can follow along with `/cop status`."
    )
    if not await post_in_channel(client, channel_id=channel_id, text=text, logger=logger):
        await client.chat_postMessage(
            channel=starter,
            text=f"*{escape(community.name)}* is set up. Invite me to <#{channel_id}> "
            "(`/invite @Cultivate`) so I can post there.",
        )


def register(registry: Registry) -> None:
    cop = registry.cop
    cop.subcommand("start", summary="make this channel a community of practice")(
        partial(start, registry)
    )
    cop.subcommand(
        "status", summary="how far this community has got, and what to do next", community=True
    )(partial(status, registry))
    registry.submission(START_FORM, started)
