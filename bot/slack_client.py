"""The Web API client every part of Cultivate uses: paced per channel, retrying only what
cannot repeat anything a person would see."""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.pacing import ChannelPacer, PacedWebClient

# Methods that only read, or whose second call changes nothing the first did not: safe to
# send again when a connection drops without an answer.
REPEATABLE_PREFIXES = ("auth.", "users.", "team.", "bots.")
REPEATABLE_SUFFIXES = (".info", ".list", ".history", ".replies", ".members", ".open")


def is_repeatable(url: str) -> bool:
    method = url.rstrip("/").rpartition("/")[2]
    return method.startswith(REPEATABLE_PREFIXES) or method.endswith(REPEATABLE_SUFFIXES)


class ReadRetryHandler(AsyncConnectionErrorRetryHandler):
    """Retries a dropped connection only for reads. A post whose connection dropped may have
    reached Slack, and a silent second try would post it twice: the error goes back to the
    caller instead, and a scheduled row's next attempt first looks for the post (bot/once.py)."""

    async def _can_retry_async(self, *, request: Any, **kwargs: Any) -> bool:
        return is_repeatable(request.url) and await super()._can_retry_async(
            request=request, **kwargs
        )


@cache
def trusting(ca_file: str | None) -> ssl.SSLContext | None:
    """What the clients verify Slack's certificate with: the authorities in `ca_file` (the
    setting SLACK_CA_FILE), made once per process; None is aiohttp's default (the system's)."""
    return None if ca_file is None else ssl.create_default_context(cafile=ca_file)


def make_client(
    *, token: str | None, base_url: str, pacer: ChannelPacer, ca_file: str | None = None
) -> AsyncWebClient:
    return PacedWebClient(
        pacer=pacer,
        token=token,
        base_url=base_url,
        ssl=trusting(ca_file),  # Bolt's respond() and OAuth use the same, from the client
        # Wait out one 429's Retry-After in place (a 429 means Slack took nothing, so this never
        # repeats a post); a second one goes back to the caller (the dispatcher reschedules the
        # row). Retry a dropped connection twice, for reads only.
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=1),
            ReadRetryHandler(max_retry_count=2),
        ],
    )
