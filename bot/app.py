"""The composition root: the one place the running app is put together, for every process
(`python -m bot` run, web and clock), the sandbox, the tests and the benchmarks. A Bolt AsyncApp
with every feature registered, pointed at the configured Slack Web API (slack.com, GovSlack, or
a local stand-in); the senders for scheduled rows; the HTTP server (Slack's requests and
health); the event inbox; and the scheduler's heartbeats. Nothing is started here: `serving`
starts and stops the server and the heartbeats.

One workspace runs on a bot token (SLACK_BOT_TOKEN). Many workspaces install through OAuth
(SLACK_CLIENT_ID and SLACK_CLIENT_SECRET): each team's token is stored, and Bolt authorises
every request with the token of the team it came from.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

from bot.calendar_feed import add_calendar_feed
from bot.dispatch import Dispatcher, Senders, SingleWorkspace, SlackClients
from bot.housekeeping import housekeeping as run_housekeeping
from bot.inbox import Inbox
from bot.installations import (
    BOT_SCOPES,
    DatabaseInstallationStore,
    DatabaseOAuthStateStore,
    InstalledWorkspaces,
)
from bot.pacing import ChannelPacer
from bot.runtime import Runtime
from bot.scheduler import Heartbeat, Heartbeats, create_scheduler
from bot.server import create_web_app
from bot.settings import Settings
from bot.slack_client import SlackSession, answering_over, make_client
from bot.tokens import TokenCipher
from handlers import wire_features
from handlers.cop import CopCommand
from handlers.registry import Registry

log = logging.getLogger("cultivate")


@dataclass(frozen=True)
class Cultivate:
    settings: Settings
    bolt: AsyncApp
    cop: CopCommand
    registry: Registry  # what every feature registered itself with
    senders: Senders
    runtime: Runtime
    clients: SlackClients  # the bot's client for each team, for work done outside a request
    slack_session: SlackSession  # the one HTTP session every Slack call goes through
    lease: timedelta  # how long a scheduler's claim on a row holds
    attempts: int  # tries at a scheduled send before it is marked failed
    inbox: Inbox  # events acked and not yet handled, kept in the database
    sender: Dispatcher  # what this process's heartbeat sends due rows with
    web: web.Application  # this process's HTTP server: Slack's requests, health
    scheduler: Heartbeats  # this process's heartbeats, started by `serving`

    def dispatcher(
        self,
        *,
        worker: str | None = None,
        team_id: str | None = None,
        concurrency: int | None = None,
    ) -> Dispatcher:
        """Another dispatcher on this app's senders and clients (a second worker)."""
        return Dispatcher(
            self.runtime,
            self.senders,
            self.clients,
            worker=worker,
            lease=self.lease,
            max_attempts=self.attempts,
            concurrency=concurrency or self.settings.scheduler_in_flight,
            team_id=team_id,
        )


def create_app(
    settings: Settings,
    runtime: Runtime,
    *,
    pacer: ChannelPacer | None = None,
    web_server: bool = True,
    scheduler: bool = True,
    housekeeping: bool = True,
    early_ack: bool = True,
    worker: str | None = None,
    team_id: str | None = None,
) -> Cultivate:
    """The app, as one process runs it.

    `pacer` spaces posts to a channel (one a second by default). `web_server`: this process
    takes Slack's requests over HTTP (unless in Socket Mode, where they come over a socket);
    without it, HTTP serves only health. `scheduler`: its heartbeat sends what falls due (by
    `worker`, and only `team_id`'s rows if given) and, with `housekeeping`, tidies what is
    past its retention period. `early_ack`: an event is written to the inbox and acked before
    it is handled (signatures are then checked at the door), as in production; without it,
    Bolt handles the event within its request. Any serving process sweeps the inbox for events
    another process acked and did not live to handle."""
    pacer = pacer or ChannelPacer()
    # The sends in flight, and room beside them for the calls requests make meanwhile.
    slack_session = SlackSession(connections=settings.scheduler_in_flight + 50)
    bolt, clients = _bolt(settings, runtime, pacer, slack_session)
    bolt.use(answering_over(slack_session))
    senders = Senders()
    lease = timedelta(seconds=settings.scheduler_lease_seconds)
    attempts = settings.scheduler_attempts
    # This process's dispatchers claim under one `worker` name: one process, one pacer, so
    # what its requests send never holds a channel against its own heartbeat (see
    # `scheduled.claim_due`).
    dispatcher = partial(
        Dispatcher,
        runtime,
        senders,
        clients,
        worker=worker,
        lease=lease,
        max_attempts=attempts,
        concurrency=settings.scheduler_in_flight,
    )
    # Requests that schedule something for "now" send it at once through this one.
    at_once = dispatcher()
    registry = wire_features(bolt, runtime, senders, settings, dispatcher=at_once)
    inbox = Inbox(runtime, bolt, lease=lease)
    sender = dispatcher(team_id=team_id)

    heartbeats: dict[str, Heartbeat] = {}
    if scheduler:
        heartbeats["dispatch"] = sender.run_once
        if housekeeping:
            heartbeats["housekeeping"] = partial(
                run_housekeeping, runtime, activity_days=settings.activity_retention_days
            )
    # Events another process acked and did not live to handle: any process can.
    heartbeats["inbox"] = inbox.sweep

    # Socket Mode takes Slack's requests over a websocket; HTTP then only serves health.
    serves_slack = web_server and not settings.socket_mode
    web_app = create_web_app(
        database=runtime.database,
        bolt=bolt if serves_slack else None,
        signing_secret=settings.slack_signing_secret,
        dispatcher=sender if scheduler else None,
        tick_seconds=settings.scheduler_tick_seconds,
        inbox=inbox if early_ack else None,
    )

    if web_server:  # the web process serves the private calendar feeds
        add_calendar_feed(web_app, runtime.database)

    async def close_slack_session(_: web.Application) -> None:
        await slack_session.close()

    # Whoever runs the web app (`serving`, a test's server) closes the session with it.
    web_app.on_cleanup.append(close_slack_session)
    return Cultivate(
        settings=settings,
        bolt=bolt,
        cop=registry.cop,
        registry=registry,
        senders=senders,
        runtime=runtime,
        clients=clients,
        slack_session=slack_session,
        lease=lease,
        attempts=attempts,
        inbox=inbox,
        sender=sender,
        web=web_app,
        scheduler=create_scheduler(settings.scheduler_tick_seconds, heartbeats),
    )


@asynccontextmanager
async def serving(cultivate: Cultivate, *, host: str, port: int) -> AsyncIterator[int]:
    """Serve the app's HTTP on `host`:`port` (0: a free one, returned) and beat its
    heartbeats; on leaving, stop the heartbeats (letting a beat finish), then the server (whose
    cleanup closes the connections to Slack, once the events it was handling are done)."""
    runner = web.AppRunner(cultivate.web)
    await runner.setup()
    try:
        await web.TCPSite(runner, host=host, port=port).start()
        cultivate.scheduler.start()
        try:
            yield runner.addresses[0][1]
        finally:
            await cultivate.scheduler.stop()
    finally:
        await runner.cleanup()


def _bolt(
    settings: Settings, runtime: Runtime, pacer: ChannelPacer, session: SlackSession
) -> tuple[AsyncApp, SlackClients]:
    """Bolt, and the bot's client for each team: one bot token for one workspace, or each
    installed workspace's own (OAuth)."""
    client = make_client(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        pacer=pacer,
        ca_file=settings.slack_ca_file,
        session=session,
    )
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
        workspaces = InstalledWorkspaces(
            store,
            base_url=settings.slack_api_url,
            pacer=pacer,
            session=session,
            ca_file=settings.slack_ca_file,
        )
        return bolt, workspaces
    bolt = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        # Socket Mode requests come over an authenticated socket and carry no signature.
        request_verification_enabled=not settings.socket_mode,
        logger=log,
        name="cultivate",
    )
    return bolt, SingleWorkspace(client)


def _authorization_url(api_url: str) -> str:
    """Slack's OAuth page lives beside its Web API: slack.com, or slack-gov.com for GovSlack."""
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}/oauth/v2/authorize"
