"""The Web API client every part of Cultivate uses: paced per channel, retrying what slack_sdk's
own handlers know how to retry."""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.pacing import ChannelPacer, PacedWebClient


def make_client(*, token: str | None, base_url: str, pacer: ChannelPacer) -> AsyncWebClient:
    return PacedWebClient(
        pacer=pacer,
        token=token,
        base_url=base_url,
        # Wait out one 429's Retry-After in place; a second one goes back to the caller (the
        # dispatcher reschedules the row). Retry a dropped connection twice.
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=1),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )
