"""The HTTP server: Slack's requests in, health out.

aiohttp serves requests concurrently on one event loop; Bolt's aiohttp adapter turns them into
Bolt requests. A body that cannot be parsed gets a 400, never a 500.

Events are answered as soon as their signature checks out, and handled after: Slack wants
nothing back from an event but a 200 within 3 seconds, and a burst of them (500 people joining)
must not wait behind the database work each one starts. Commands and interactions go through
Bolt in the request, because their answer (an ack, a modal's errors) is the response.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot import logs
from bot.dispatch import Dispatcher
from bot.payloads import is_well_formed
from storage.db import Database

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller


EVENT_TASK = "slack-event"
EVENTS_AT_ONCE = 8  # events handled concurrently per process; the rest queue in order  # the name of each task handling an event after its 200


def create_web_app(
    *,
    database: Database,
    bolt: AsyncApp | None,
    signing_secret: str | None = None,
    dispatcher: Dispatcher | None = None,
    tick_seconds: float = 15.0,
) -> web.Application:
    """Routes for one process. `bolt` is None where Slack's requests go elsewhere (a clock
    process, Socket Mode); with `signing_secret`, events are acked before they are handled;
    `dispatcher` is given where this process runs the scheduler, so the health check can say
    how long ago its heartbeat last ran."""
    web_app = web.Application(client_max_size=MAX_BODY)
    verifier = SignatureVerifier(signing_secret) if signing_secret else None
    handling: set[asyncio.Task[None]] = set()
    # Events acked in a burst wait here for their turn rather than all at once for a database
    # connection, where the pool's timeout would drop the ones at the back.
    slots = asyncio.Semaphore(EVENTS_AT_ONCE)

    async def finish_handling(_: web.Application) -> None:
        # On shutdown, let the events already acked finish rather than drop them.
        if handling:
            await asyncio.wait(handling, timeout=10)

    web_app.on_shutdown.append(finish_handling)

    async def health(_: web.Request) -> web.Response:
        report: dict[str, object] = {"status": "ok"}
        healthy = await database.ping()
        report["database"] = "ok" if healthy else "not answering"
        if dispatcher is not None:
            age = dispatcher.seconds_since_heartbeat()
            report["heartbeat_age_seconds"] = None if age is None else round(age, 1)
            # A few missed ticks mean the scheduler is stuck; none yet is fine just after start.
            if age is not None and age > max(3 * tick_seconds, 30):
                healthy = False
        if not healthy:
            report["status"] = "unavailable"
        return web.json_response(report, status=200 if healthy else 503)

    web_app.router.add_get(HEALTH_PATH, health)

    if bolt is not None:

        async def slack_events(request: web.Request) -> web.Response:
            body = await request.text()
            try:
                bolt_request = AsyncBoltRequest(
                    body=body,
                    query=request.query_string,
                    headers=dict(request.headers),  # type: ignore[arg-type]
                )
            except Exception as error:  # Bolt parses as it builds: any failure is bad input
                log.info("refused a malformed Slack request: %s", type(error).__name__)
                return web.json_response({"error": "malformed request"}, status=400)
            if not is_well_formed(bolt_request.body):
                log.info("refused a Slack request of an unexpected shape")
                return web.json_response({"error": "malformed request"}, status=400)
            # Everything logged while handling this request (and the work it starts after the
            # ack) carries the team and a request id.
            logs.request_id.set(uuid.uuid4().hex[:12])
            logs.team_id.set(bolt_request.context.team_id)
            if verifier is not None and bolt_request.body.get("type") == "event_callback":
                if not verifier.is_valid(
                    body=body,
                    timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
                    signature=request.headers.get("X-Slack-Signature", ""),
                ):
                    return web.json_response({"error": "invalid request"}, status=401)
                task = asyncio.create_task(
                    _handle_event(bolt, bolt_request, slots), name=EVENT_TASK
                )
                handling.add(task)
                task.add_done_callback(handling.discard)
                return web.Response(status=200)
            bolt_response = await bolt.async_dispatch(bolt_request)
            return await to_aiohttp_response(bolt_response)

        web_app.router.add_post(EVENTS_PATH, slack_events)

        oauth = bolt.oauth_flow
        if oauth is not None:
            # Installing in another workspace: the "Add to Slack" page, and Slack's redirect
            # back with a code that is exchanged for that workspace's token.
            async def install(request: web.Request) -> web.Response:
                response = await oauth.handle_installation(await to_bolt_request(request))
                return await to_aiohttp_response(response)

            async def oauth_redirect(request: web.Request) -> web.Response:
                response = await oauth.handle_callback(await to_bolt_request(request))
                return await to_aiohttp_response(response)

            web_app.router.add_get(oauth.install_path, install)
            web_app.router.add_get(oauth.redirect_uri_path, oauth_redirect)
    return web_app


async def _handle_event(
    bolt: AsyncApp, request: AsyncBoltRequest, slots: asyncio.Semaphore
) -> None:
    try:
        async with slots:
            response = await bolt.async_dispatch(request)
    except Exception:
        log.exception("handling an event failed")
        return
    if response.status >= 400 and response.status != 404:  # 404: no listener wants it
        log.warning("an event was refused after its ack: HTTP %d", response.status)
