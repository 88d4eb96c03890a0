"""The HTTP server: Slack's requests in, health out.

aiohttp serves requests concurrently on one event loop; Bolt's aiohttp adapter turns them into
Bolt requests. A body that cannot be parsed gets a 400, never a 500.

Every request's signature is checked here, at the door: a request without a well-formed
timestamp gets a 400, a missing, wrong or stale signature a 401, and nothing of its body is
logged. An event is then written to the inbox (bot/inbox.py) and answered, and handled after
from that row: Slack wants nothing back from an event but a 200 within 3 seconds, a burst of
them (500 people joining) must not wait behind the database work each one starts, and one
acked must survive the process. Commands and interactions go through Bolt in the request,
because their answer (an ack, a modal's errors) is the response.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Collection, Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot import logs
from bot.dispatch import Dispatcher
from bot.inbox import Inbox, kept_body
from bot.payloads import is_well_formed
from storage.db import Database

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller


EVENT_TASK = "slack-event"  # the name of each task handling an event after its 200
# Bolt acks a command or an interaction, then runs its listener on as a task of this name
# (tests/conftest.py checks Bolt still calls it that).
BOLT_LISTENER_TASK = "run_ack_function_asynchronously"


def is_after_ack(task: asyncio.Task[Any], also: Collection[str] = ()) -> bool:
    """Whether a task is working on a request after its ack: an event being handled (events
    are acked first), a Bolt listener running on, or one of the tasks named in `also`."""
    return task.get_name() in (EVENT_TASK, *also) or getattr(
        task.get_coro(), "__qualname__", ""
    ).endswith(BOLT_LISTENER_TASK)


async def after_acks(also: Collection[str] = ()) -> None:
    """Wait until the work requests started after their acks has finished (and whatever that
    work started in turn): after this, a request that should have done nothing has had its
    chance to do something. Tests and the sandbox wait with it before they look or move on."""
    while running := [t for t in asyncio.all_tasks() if is_after_ack(t, also) and not t.done()]:
        await asyncio.wait(running)


def create_web_app(
    *,
    database: Database,
    bolt: AsyncApp | None,
    signing_secret: str | None = None,
    dispatcher: Dispatcher | None = None,
    tick_seconds: float = 15.0,
    inbox: Inbox | None = None,
) -> web.Application:
    """Routes for one process. `bolt` is None where Slack's requests go elsewhere (a clock
    process, Socket Mode); with `signing_secret`, signatures are checked at the door; with an
    `inbox`, events are kept in it and acked before they are handled (only events verified at
    the door: the inbox does not check again); `dispatcher` is given where this process runs
    the scheduler, so the health check can say how long ago its heartbeat last ran."""
    web_app = web.Application(client_max_size=MAX_BODY)
    verifier = SignatureVerifier(signing_secret) if signing_secret else None
    if inbox is not None and bolt is not None and verifier is None:
        raise ValueError("events acked early must be verified at the door: give signing_secret")
    handling: set[asyncio.Task[None]] = set()

    async def finish_handling(_: web.Application) -> None:
        # On shutdown, let the events already acked finish rather than drop them.
        if handling:
            await asyncio.wait(handling, timeout=10)

    web_app.on_shutdown.append(finish_handling)
    if inbox is not None:
        door = inbox

        async def close_inbox(_: web.Application) -> None:
            await door.close()

        web_app.on_cleanup.append(close_inbox)

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
            # Until this returns (the ack), work after other requests' acks gives way.
            with database.turns.answering():
                return await answer(request)

        async def answer(request: web.Request) -> web.Response:
            body = await request.text()
            if verifier is not None:
                refusal = _refusal(verifier, body, request.headers)
                if refusal is not None:
                    return refusal
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
            event_id = bolt_request.body.get("event_id")
            if (
                inbox is not None
                and bolt_request.body.get("type") == "event_callback"
                and isinstance(event_id, str)
                and event_id
            ):
                kept = kept_body(bolt_request.body)
                row = await inbox.receive(
                    team_id=str(bolt_request.body["team_id"]), event_id=event_id, body=kept
                )
                if row is None:
                    log.info("skipped a second delivery of event %s", event_id)
                else:
                    task = asyncio.create_task(inbox.handle(row, kept), name=EVENT_TASK)
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


def _refusal(
    verifier: SignatureVerifier, body: str, headers: Mapping[str, str]
) -> web.Response | None:
    """Why a request is refused at the door, or None if it is signed as Slack signs. Only the
    reason is logged, never the body: it came from someone who may not be Slack."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "").strip()
    signature = headers.get("X-Slack-Signature", "").strip()
    if not timestamp.isascii() or not timestamp.isdigit():
        log.info("refused a request without a well-formed X-Slack-Request-Timestamp")
        return web.json_response({"error": "malformed request timestamp"}, status=400)
    if not signature or not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        log.info("refused a request whose Slack signature does not match or is stale")
        return web.json_response({"error": "invalid request"}, status=401)
    return None
