"""A form only a community's coordinators may open, from `/cop <name>` in its channel or from
a button that carries the community's id (App Home, a DM). Both ways check the same things,
in the same order, and tell the person the same way when they cannot have it."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial, update_wrapper
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.services.communities import CLOSED, CommunityRecord, is_closed
from bot.text import escape
from handlers.blocks import Block, context, modal, section
from handlers.cop import CopRequest
from handlers.registry import Registry
from handlers.requests import Click, button_value
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


@dataclass(frozen=True)
class CoordinatorForm:
    """A form only coordinators may open, and what a closed community shows in its place."""

    refusal: str  # what anyone else is told
    open_form: OpenForm
    title: str  # of the read-only summary once the community is closed
    closed: ClosedSummary | None
    why: str

    def may_open(self, record: CommunityRecord, user_id: str) -> bool:
        """Coordinators; and, once the community is closed, anyone (a read-only summary)."""
        return record.is_coordinator(user_id) or is_closed(record)

    async def open(
        self,
        client: AsyncWebClient,
        record: CommunityRecord,
        trigger_id: str,
        logger: logging.Logger,
    ) -> bool:
        if is_closed(record):
            lines = await self.closed(record) if self.closed is not None else []
            return await open_closed(
                client, record, trigger_id, logger, title=self.title, why=self.why, lines=lines
            )
        return await self.open_form(client, record, trigger_id, logger)


async def open_from_command(form: CoordinatorForm, request: CopRequest) -> None:
    """`/cop <subcommand>` in the community's channel."""
    record = request.community
    if not form.may_open(record, request.user_id):
        await request.tell(form.refusal)
        return
    if not await form.open(request.client, record, request.trigger_id, request.logger):
        await request.tell(TOO_SLOW)


async def open_from_button(form: CoordinatorForm, click: Click) -> None:
    """A button carrying the community's id (App Home, a direct message)."""
    if not form.may_open(click.community, click.user_id):
        await tell_privately(click.client, user_id=click.user_id, text=form.refusal)
        return
    if not await form.open(click.client, click.community, click.trigger_id, click.logger):
        await tell_privately(click.client, user_id=click.user_id, text=TOO_SLOW)


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
    form = CoordinatorForm(
        refusal=refusal, open_form=open_form, title=title, closed=closed, why=why
    )
    registry.cop.subcommand(subcommand, summary=summary, community=True)(
        partial(open_from_command, form)
    )
    registry.click(
        re.compile(f"^{re.escape(button_action)}:\\d+$"),
        update_wrapper(partial(open_from_button, form), open_from_button),
        community=button_value,
    )
