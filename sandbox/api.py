"""The sandbox page and its small JSON API, served by the app's own HTTP server.

GET  /sandbox                    the page (plain HTML, CSS and JavaScript from static/)
GET  /sandbox/api/state?as=U…    the workspace as that person sees it
POST /sandbox/api/command        {as, channel, text}: type a message or a slash command
POST /sandbox/api/action         {as, source, block_index, block_id, action_id, answer, values}
POST /sandbox/api/submit         {as, view_id, values}: a form's submit button
POST /sandbox/api/close          {as, view_id, all}: Cancel (back one view) or X (all)
POST /sandbox/api/join           {as, channel}: this person joins the channel
POST /sandbox/api/shortcut       {as, channel, ts, callback_id}: a shortcut on a message
POST /sandbox/api/home           {as}: open the app's Home tab
POST /sandbox/api/travel         {seconds}: move the sandbox's clock forward
POST /sandbox/api/demo           {as}: a community with a month of made-up history, run by them
GET  /sandbox/api/files/{id}     an uploaded file's content

The API changes state only for JSON bodies from this machine's own address: a page on another
site cannot send `application/json` without a CORS preflight the sandbox never grants, and a
foreign Host header (DNS rebinding) is turned away.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from yarl import URL

from sandbox.demo import Demo
from sandbox.sandbox import SANDBOX_PATH, Sandbox, SandboxError
from sandbox.state import seen_by

STATIC = Path(__file__).parent / "static"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_VIEWER = "U0ASHA"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _local_only(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        if URL(f"http://{request.host}").host not in LOCAL_HOSTS:
            return web.json_response({"error": "the sandbox answers only on 127.0.0.1"}, status=403)
        try:
            return await handler(request)
        except SandboxError as error:
            return web.json_response({"error": str(error)}, status=400)

    return guarded


async def _json(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send application/json")
    try:
        body = await request.json()
    except ValueError:
        raise SandboxError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise SandboxError("the body must be a JSON object")
    return body


def add_routes(web_app: web.Application, sandbox: Sandbox) -> None:
    demo_lock = asyncio.Lock()

    async def page(_: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def state(request: web.Request) -> web.Response:
        viewer = sandbox.person_id(request.query.get("as") or DEFAULT_VIEWER)
        return web.json_response(seen_by(sandbox, viewer), headers={"Cache-Control": "no-store"})

    def post(act: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            return web.json_response(await act(await _json(request)))

        return handle

    async def demo(body: dict[str, Any]) -> dict[str, Any]:
        async with demo_lock:  # one month at a time: two would interleave their clocks
            result = await Demo(sandbox, sandbox.person_id(body.get("as") or DEFAULT_VIEWER)).run()
        return {"channel": result.channel_id, "now": sandbox.clock.now().timestamp()}

    async def file(request: web.Request) -> web.Response:
        with sandbox.workspace.lock:
            found = sandbox.workspace.files.get(request.match_info["file_id"])
            if found is None or not found.completed:
                raise web.HTTPNotFound(text="no such file")
            content, name = found.content, found.filename
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/json", "text/csv"):
            kind = f"{kind}; charset=utf-8"
        return web.Response(
            body=content,
            headers={
                "Content-Type": kind,
                "Content-Disposition": f'inline; filename="{name.replace(chr(34), "")}"',
                "X-Content-Type-Options": "nosniff",
                # An uploaded file is data, never a page that runs scripts on this origin.
                "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
            },
        )

    routes: list[tuple[str, str, Handler]] = [
        ("GET", SANDBOX_PATH, page),
        ("GET", f"{SANDBOX_PATH}/", page),
        ("GET", f"{SANDBOX_PATH}/api/state", state),
        ("GET", f"{SANDBOX_PATH}/api/files/{{file_id}}", file),
        (
            "POST",
            f"{SANDBOX_PATH}/api/command",
            post(lambda b: sandbox.type(b.get("as"), b.get("channel"), b.get("text"))),
        ),
        (
            "POST",
            f"{SANDBOX_PATH}/api/action",
            post(
                lambda b: sandbox.act(
                    b.get("as"),
                    b.get("source"),
                    block_index=b.get("block_index"),
                    block_id=b.get("block_id"),
                    action_id=b.get("action_id"),
                    answer=b.get("answer"),
                    values=b.get("values"),
                )
            ),
        ),
        (
            "POST",
            f"{SANDBOX_PATH}/api/submit",
            post(lambda b: sandbox.submit(b.get("as"), b.get("view_id"), b.get("values"))),
        ),
        (
            "POST",
            f"{SANDBOX_PATH}/api/suggest",
            post(
                lambda b: sandbox.suggest(
                    b.get("as"),
                    b.get("view_id"),
                    b.get("block_id"),
                    b.get("action_id"),
                    b.get("typed"),
                )
            ),
        ),
        (
            "POST",
            f"{SANDBOX_PATH}/api/close",
            post(
                lambda b: sandbox.close(
                    b.get("as"), b.get("view_id"), whole_stack=bool(b.get("all"))
                )
            ),
        ),
        (
            "POST",
            f"{SANDBOX_PATH}/api/join",
            post(lambda b: sandbox.join(b.get("as"), b.get("channel"))),
        ),
        (
            "POST",
            f"{SANDBOX_PATH}/api/shortcut",
            post(
                lambda b: sandbox.shortcut(
                    b.get("as"), b.get("channel"), b.get("ts"), b.get("callback_id")
                )
            ),
        ),
        ("POST", f"{SANDBOX_PATH}/api/home", post(lambda b: sandbox.open_home(b.get("as")))),
        ("POST", f"{SANDBOX_PATH}/api/travel", post(lambda b: sandbox.travel(b.get("seconds")))),
        ("POST", f"{SANDBOX_PATH}/api/demo", post(demo)),
    ]
    for method, path, handler in routes:
        web_app.router.add_route(method, path, _local_only(handler))
    web_app.router.add_static(f"{SANDBOX_PATH}/static", STATIC)
