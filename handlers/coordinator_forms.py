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

from bot.services.communities import CLOSED, CommunityRecord, is_closed
from bot.text import escape
from handlers.access import community_pressed
from handlers.blocks import Block, context, modal, section
from handlers.cop import CopRequest, community_here
from handlers.registry import Registry
from handlers.views import TOO_SLOW, open_modal, tell_privately

# Opens the form for a community; False when Slack's trigger had already expired.
OpenForm = Callable[[AsyncWebClient, CommunityRecord, str, logging.Logger], Awaitable[bool]]
# What a closed community shows instead of the form: read-only lines (mrkdwn).
ClosedSummary = Callable[[CommunityRecord], Awaitable[list[str]]]


def closed_view(
    record: CommunityRecord, *, title: str, why: str, lines: list[str]
) -> dict[str, Any]:
    """A closed community's read-only summary, in place of a form that would only refuse at
    Save: what there is, and why it can no longer change."""
    blocks: list[Block] = [context(f"*{escape(record.community.name)}* is closed.")]
    blocks += [section(line) for line in lines[:40]]
    blocks.append(context(why))
    return modal(title=title, blocks=blocks)


async def open_closed(
    client: AsyncWebClient,
    record: CommunityRecord,
    trigger_id: str,
    logger: logging.Logger,
    *,
    title: str,
    why: str,
    lines: list[str] | None = None,
) -> bool:
    view = closed_view(record, title=title, why=why, lines=lines or [])
    return await open_modal(client, trigger_id=trigger_id, view=view, logger=logger) is not None


async def show_closed(
    request: CopRequest,
    record: CommunityRecord,
    *,
    title: str,
    why: str,
    lines: list[str] | None = None,
) -> None:
    """`/cop <form>` in a closed community: its read-only summary (or, if Slack's trigger
    expired, the reason in a line)."""
    opened = await open_closed(
        request.client,
        record,
        request.trigger_id,
        request.logger,
        title=title,
        why=why,
        lines=lines,
    )
    if not opened:
        await request.tell(why)


def register_coordinator_form(
    registry: Registry,
    *,
    subcommand: str,
    summary: str,
    button_action: str,
    refusal: str,
    open_form: OpenForm,
    title: str,
    closed: ClosedSummary | None = None,
    why: str = CLOSED,
) -> None:
    """`/cop <subcommand>` and buttons with action_id `<button_action>:<community id>` open
    `open_form` for coordinators; anyone else is told `refusal`. Once the community is closed
    everyone gets a read-only summary titled `title` (`closed`'s lines) with the reason."""
    database = registry.runtime.database

    async def open_it(
        client: AsyncWebClient, record: CommunityRecord, trigger_id: str, logger: logging.Logger
    ) -> bool:
        if is_closed(record):
            lines = await closed(record) if closed is not None else []
            return await open_closed(
                client, record, trigger_id, logger, title=title, why=why, lines=lines
            )
        return await open_form(client, record, trigger_id, logger)

    async def from_command(request: CopRequest) -> None:
        record = await community_here(database, request)
        if record is None:
            return
        if not record.is_coordinator(request.user_id) and not is_closed(record):
            await request.tell(refusal)
            return
        if not await open_it(request.client, record, request.trigger_id, request.logger):
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
        if not record.is_coordinator(user_id) and not is_closed(record):
            await tell_privately(client, user_id=user_id, text=refusal)
            return
        if not await open_it(client, record, body["trigger_id"], logger):
            await tell_privately(client, user_id=user_id, text=TOO_SLOW)
