"""A form only a community's coordinators may open, from `/cop <name>` in its channel or from
a button that carries the community's id (App Home, a DM). Both ways check the same things,
in the same order, and tell the person the same way when they cannot have it."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.communities import CommunityRecord
from handlers.access import community_pressed
from handlers.cop import CopRequest, community_here
from handlers.registry import Registry
from handlers.views import TOO_SLOW, tell_privately

# Opens the form for a community; False when Slack's trigger had already expired.
OpenForm = Callable[[AsyncWebClient, CommunityRecord, str, logging.Logger], Awaitable[bool]]


def register_coordinator_form(
    registry: Registry,
    *,
    subcommand: str,
    summary: str,
    button_action: str,
    refusal: str,
    open_form: OpenForm,
) -> None:
    """`/cop <subcommand>` and buttons with action_id `<button_action>:<community id>` open
    `open_form` for coordinators; anyone else is told `refusal`."""
    database = registry.runtime.database

    async def from_command(request: CopRequest) -> None:
        record = await community_here(database, request)
        if record is None:
            return
        if not record.is_coordinator(request.user_id):
            await request.tell(refusal)
            return
        if not await open_form(request.client, record, request.trigger_id, request.logger):
            await request.tell(TOO_SLOW)

    registry.cop.subcommand(subcommand, summary=summary)(from_command)

    @registry.app.action(re.compile(f"^{re.escape(button_action)}:\\d+$"))
    async def from_button(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        await ack()
        user_id = body["user"]["id"]
        record = await community_pressed(
            database,
            client,
            team_id=context.team_id or "",
            user_id=user_id,
            community_id=action.get("value"),
        )
        if record is None:
            return
        if not record.is_coordinator(user_id):
            await tell_privately(client, user_id=user_id, text=refusal)
            return
        if not await open_form(client, record, body["trigger_id"], logger):
            await tell_privately(client, user_id=user_id, text=TOO_SLOW)
