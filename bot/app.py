"""The app factory: a Bolt AsyncApp with every feature registered, pointed at the configured
Slack Web API (slack.com, GovSlack, or a local stand-in)."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.settings import Settings
from handlers import register_all

log = logging.getLogger("cultivate")


def create_client(settings: Settings) -> AsyncWebClient:
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        # slack_sdk's own handlers: wait out a 429's Retry-After, retry a dropped connection.
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def create_app(settings: Settings, runtime: Runtime) -> AsyncApp:
    app = AsyncApp(
        client=create_client(settings),
        signing_secret=settings.slack_signing_secret or "",
        # Socket Mode requests come over an authenticated socket and carry no signature.
        request_verification_enabled=not settings.socket_mode,
        logger=log,
        name="cultivate",
    )

    @app.error
    async def on_error(error: Exception) -> None:
        log.exception("a listener failed", exc_info=error)

    register_all(app, runtime)
    return app
