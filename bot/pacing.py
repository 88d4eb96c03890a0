"""Posting to a channel no faster than Slack allows (about one message a second per channel).

Slack answers a faster burst with 429s; pacing first means fewer retries and no message held
back for a whole Retry-After. Across processes the 429 handling still backs us up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

PACED_METHODS = frozenset({"chat.postMessage"})


class ChannelPacer:
    def __init__(
        self,
        interval: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.interval = interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_slot: dict[str, float] = {}

    async def wait_turn(self, channel: str) -> None:
        # Reserve the slot before awaiting: no other task can interleave between the read and
        # the write, so concurrent posts to one channel queue up one interval apart.
        now = self._monotonic()
        slot = max(now, self._next_slot.get(channel, now))
        self._next_slot[channel] = slot + self.interval
        if len(self._next_slot) > 10_000:
            self._next_slot = {c: s for c, s in self._next_slot.items() if s > now}
        if slot > now:
            await self._sleep(slot - now)


class PacedWebClient(AsyncWebClient):
    """An AsyncWebClient whose channel posts wait their turn."""

    def __init__(self, *args: Any, pacer: ChannelPacer | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pacer = pacer or ChannelPacer()

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:  # type: ignore[override]
        if api_method in PACED_METHODS:
            arguments = kwargs.get("json") or kwargs.get("data") or kwargs.get("params") or {}
            channel = arguments.get("channel") if isinstance(arguments, dict) else None
            if channel:
                await self.pacer.wait_turn(str(channel))
        return await super().api_call(api_method, **kwargs)
