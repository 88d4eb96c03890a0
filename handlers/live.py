"""Redrawing a message in place after the rows it shows have changed (see bot.services.live)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.services import live
from bot.services.errors import CommunityError
from handlers.blocks import Block

# What a message should show now, drawn from the rows: (fallback text, blocks).
Render = Callable[[], Awaitable[tuple[str, list[Block]]]]
MAX_ROUNDS = 20  # a storm of clicks is drawn a few times, never endlessly by one caller

log = logging.getLogger(__name__)


async def redraw(
    runtime: Runtime, client: AsyncWebClient, *, team_id: str, subject: str, render: Render
) -> None:
    """Draw the message until it shows every change, unless someone else is drawing it (then
    they will). Reading the rows after taking the claim is what makes the last drawing show
    every change made before it."""
    for _ in range(MAX_ROUNDS):
        claim = await live.begin_redraw(
            runtime.database, runtime.clock, team_id=team_id, subject=subject
        )
        if claim is None:
            return
        shown: int | None = None
        try:
            text, blocks = await render()
            await client.chat_update(
                channel=claim.channel_id, ts=claim.ts, text=text, blocks=blocks
            )
            shown = claim.change
        except (SlackApiError, CommunityError) as error:
            # The message or its subject is gone, or Slack refused: the next change retries.
            reason = error.response.get("error") if isinstance(error, SlackApiError) else error
            log.warning("could not redraw %s: %s", subject, reason)
            return
        finally:
            await live.end_redraw(runtime.database, team_id=team_id, subject=subject, shown=shown)
