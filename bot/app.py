"""The app factory: a Bolt AsyncApp with every feature registered, pointed at the configured
Slack Web API (slack.com, GovSlack, or a local stand-in), and the senders for scheduled rows."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Dispatcher, Senders, SingleWorkspace, SlackClients
from bot.runtime import Runtime
from bot.settings import Settings
from handlers import register_all
from handlers.cop import CopCommand

log = logging.getLogger("cultivate")


@dataclass(frozen=True)
class Cultivate:
    bolt: AsyncApp
    cop: CopCommand
    senders: Senders
    runtime: Runtime
    clients: SlackClients  # the bot's client for each team, for work done outside a request
    lease: timedelta  # how long a scheduler's claim on a row holds

    def dispatcher(self, *, worker: str | None = None) -> Dispatcher:
        return Dispatcher(self.runtime, self.senders, self.clients, worker=worker, lease=self.lease)


def create_client(settings: Settings) -> AsyncWebClient:
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        # slack_sdk's own handlers: wait out a 429's Retry-After, retry a dropped connection.
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=1),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def create_app(settings: Settings, runtime: Runtime) -> Cultivate:
    bolt = AsyncApp(
        client=create_client(settings),
        signing_secret=settings.slack_signing_secret or "",
        # Socket Mode requests come over an authenticated socket and carry no signature.
        request_verification_enabled=not settings.socket_mode,
        logger=log,
        name="cultivate",
    )

    @bolt.error
    async def on_error(error: Exception) -> None:
        log.exception("a listener failed", exc_info=error)

    senders = Senders()
    clients = SingleWorkspace(bolt.client)
    lease = timedelta(seconds=settings.scheduler_lease_seconds)
    # Requests that schedule something for "now" send it at once through this one.
    sender = Dispatcher(runtime, senders, clients, lease=lease)
    cop = register_all(bolt, runtime, senders, dispatcher=sender)
    return Cultivate(
        bolt=bolt, cop=cop, senders=senders, runtime=runtime, clients=clients, lease=lease
    )
