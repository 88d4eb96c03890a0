"""The HTTP server: Slack's requests in, health out.

aiohttp serves requests concurrently on one event loop; Bolt's aiohttp adapter turns them into
Bolt requests. A body that cannot be parsed gets a 400, never a 500.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.payloads import is_well_formed
from storage.db import Database

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller


def create_web_app(*, database: Database, bolt: AsyncApp | None) -> web.Application:
    """Routes for one process; `bolt` is None where Slack's requests go elsewhere (Socket Mode)."""
    web_app = web.Application(client_max_size=MAX_BODY)

    async def health(_: web.Request) -> web.Response:
        if await database.ping():
            return web.json_response({"status": "ok"})
        return web.json_response({"status": "unavailable", "database": "not answering"}, status=503)

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
