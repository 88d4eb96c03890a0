"""Posting to a channel no faster than Slack allows (about one message a second per channel).

Slack answers a faster burst with 429s; pacing first means fewer retries and no message held
back for a whole Retry-After. Across processes the 429 handling still backs us up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

PACED_METHODS = frozenset({"chat.postMessage"})


@dataclass
class _Channel:
    """One channel's turns: its posts go one at a time, in the order they asked."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    answered_at: float = float("-inf")  # when Slack answered the last post, on the monotonic timer
    waiting: int = 0  # posts holding or queued for a turn


class ChannelPacer:
    """Each channel's posts go one at a time, each a whole interval after Slack answered the
    one before. Spacing them from when they were sent is not enough: two posts sent a second
    apart can reach Slack closer together (the first delayed on its way, the second not), and
    Slack answers the second with a 429. Slack has taken a post by the time it answers it, so
    counting from the answer keeps the gap Slack sees at an interval or more. An interval of 0
    paces nothing."""

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
        self._channels: dict[str, _Channel] = {}

    @asynccontextmanager
    async def turn(self, channel: str) -> AsyncIterator[None]:
        """Hold `channel` for one post (with any retry of it that Slack asked for): wait until
        the posts before have been answered and an interval has passed since the last."""
        if self.interval <= 0:
            yield
            return
        turns = self._channels.get(channel)
        if turns is None:
            self._forget_quiet_channels()
            turns = self._channels[channel] = _Channel()
        turns.waiting += 1
        try:
            async with turns.lock:
                wait = turns.answered_at + self.interval - self._monotonic()
                if wait > 0:
                    await self._sleep(wait)
                try:
                    yield
                finally:
                    turns.answered_at = self._monotonic()
        finally:
            turns.waiting -= 1

    def _forget_quiet_channels(self) -> None:
        # A channel nobody is posting to and whose interval has passed needs no memory: a post
        # to it may go at once. Checked only when many are remembered, so rarely.
        if len(self._channels) < 10_000:
            return
        now = self._monotonic()
        self._channels = {
            channel: turns
            for channel, turns in self._channels.items()
            if turns.waiting or turns.answered_at + self.interval > now
        }


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
                async with self.pacer.turn(str(channel)):
                    return await super().api_call(api_method, **kwargs)
        return await super().api_call(api_method, **kwargs)
