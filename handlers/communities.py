"""Making a channel a community (`/cop start`) and seeing how it is doing (`/cop status`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import sustaining
from bot.services.communities import (
    DOMAIN_MAX,
    NAME_MAX,
    community_in_channel,
    start_community,
)
from bot.services.errors import AlreadyACommunity, InvalidAnswers
from bot.text import escape, mention
from handlers.blocks import Block, metadata_of, modal, plain
from handlers.cop import CopRequest, community_here
from handlers.progress import community_blocks
from handlers.registry import Registry, Surface
from handlers.views import TOO_SLOW, open_modal

START_FORM = "community_start"
DEFAULT_TIMEZONE = "UTC"


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
            _text_input(
                "timezone",
                "Time zone",
                initial=timezone,
                max_length=64,
                hint="Meetings and reminders use it. A name like Europe/London.",
            ),
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


def register(registry: Registry) -> None:
    app, cop, runtime = registry.app, registry.cop, registry.runtime

    @cop.subcommand("start", summary="make this channel a community of practice")
    async def start(request: CopRequest) -> None:
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
        if not await open_modal(
            request.client, trigger_id=request.trigger_id, view=view, logger=request.logger
        ):
            await request.tell(TOO_SLOW)

    @cop.subcommand("status", summary="how far this community has got, and what to do next")
    async def status(request: CopRequest) -> None:
        record = await community_here(runtime.database, request)
        if record is None:
            return
        blocks = await community_blocks(registry, record, request.user_id, Surface.STATUS)
        await request.tell(f"How {escape(record.community.name)} is doing", blocks=blocks)

    @app.view(START_FORM)
    async def started(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        channel_id = str(metadata_of(view).get("channel") or "")
        values = (view.get("state") or {}).get("values") or {}

        def typed(block_id: str) -> str:
            return str(((values.get(block_id) or {}).get(block_id) or {}).get("value") or "")

        starter = body["user"]["id"]
        try:
            community = await start_community(
                runtime.database,
                runtime.clock,
                team_id=context.team_id or "",
                channel_id=channel_id,
                name=typed("name"),
                domain=typed("domain"),
                timezone=typed("timezone"),
                starter=starter,
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
        # The health digest and the new-perspectives prompt begin with the community.
        await sustaining.ensure_scheduled(
            runtime.database,
            runtime.clock,
            team_id=community.team_id,
            community_id=community.id or 0,
        )
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
