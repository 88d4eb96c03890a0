"""The app factory: a Bolt AsyncApp with every feature registered, pointed at the configured
Slack Web API (slack.com, GovSlack, or a local stand-in), and the senders for scheduled rows.

One workspace runs on a bot token (SLACK_BOT_TOKEN). Many workspaces install through OAuth
(SLACK_CLIENT_ID and SLACK_CLIENT_SECRET): each team's token is stored, and Bolt authorises
every request with the token of the team it came from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

from bot.dispatch import Dispatcher, Senders, SingleWorkspace, SlackClients
from bot.inbox import Inbox
from bot.installations import (
    BOT_SCOPES,
    DatabaseInstallationStore,
    DatabaseOAuthStateStore,
    InstalledWorkspaces,
)
from bot.pacing import ChannelPacer
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack_client import make_client
from bot.tokens import TokenCipher
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
    attempts: int  # tries at a scheduled send before it is marked failed
    inbox: Inbox  # events acked and not yet handled, kept in the database

    def dispatcher(self, *, worker: str | None = None, team_id: str | None = None) -> Dispatcher:
        return Dispatcher(
            self.runtime,
            self.senders,
            self.clients,
            worker=worker,
            lease=self.lease,
            max_attempts=self.attempts,
            team_id=team_id,
        )


def create_app(
    settings: Settings, runtime: Runtime, *, pacer: ChannelPacer | None = None
) -> Cultivate:
    """`pacer` spaces posts to a channel (one a second by default)."""
    pacer = pacer or ChannelPacer()
    client = make_client(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, pacer=pacer
    )
    clients: SlackClients
    if settings.oauth:
        store = DatabaseInstallationStore(
            runtime.database, runtime.clock, TokenCipher(settings.token_encryption_keys)
        )
        bolt = AsyncApp(
            client=client,
            signing_secret=settings.slack_signing_secret or "",
            oauth_settings=AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret,
                scopes=list(BOT_SCOPES),
                installation_store=store,
                installation_store_bot_only=True,
                state_store=DatabaseOAuthStateStore(runtime.database),
                authorization_url=_authorization_url(settings.slack_api_url),
            ),
            logger=log,
            name="cultivate",
        )
        clients = InstalledWorkspaces(store, base_url=settings.slack_api_url, pacer=pacer)
    else:
        bolt = AsyncApp(
            client=client,
            signing_secret=settings.slack_signing_secret or "",
            # Socket Mode requests come over an authenticated socket and carry no signature.
            request_verification_enabled=not settings.socket_mode,
            logger=log,
            name="cultivate",
        )
        clients = SingleWorkspace(client)

    senders = Senders()
    lease = timedelta(seconds=settings.scheduler_lease_seconds)
    # Requests that schedule something for "now" send it at once through this one.
    attempts = settings.scheduler_attempts
    sender = Dispatcher(runtime, senders, clients, lease=lease, max_attempts=attempts)
    cop = register_all(bolt, runtime, senders, settings, dispatcher=sender)
    return Cultivate(
        bolt=bolt,
        cop=cop,
        senders=senders,
        runtime=runtime,
        clients=clients,
        lease=lease,
        attempts=attempts,
        inbox=Inbox(runtime, bolt, lease=lease),
    )


def _authorization_url(api_url: str) -> str:
    """Slack's OAuth page lives beside its Web API: slack.com, or slack-gov.com for GovSlack."""
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}/oauth/v2/authorize"
