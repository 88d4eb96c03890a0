"""The Web API client every part of Cultivate uses: paced per channel, retrying only what
cannot repeat anything a person would see, over one process-wide HTTP session."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from typing import Any

import aiohttp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

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


# slack_sdk's own timeout for a call, which a shared session must carry itself.
CALL_TIMEOUT_SECONDS = 30
# How long a stopping process waits for calls under way before closing their connections.
CLOSE_WAIT_SECONDS = 10.0


class SlackSession:
    """One aiohttp session for every Slack call a process makes. Without one, slack_sdk opens
    a session, and so a connection (against Slack a TLS handshake), for each call; with it,
    connections are kept alive and reused, at most `connections` open at once.

    Made on first use, in the running event loop (an aiohttp session belongs to one); after
    `close` (the process is stopping) there is none, and a late call opens its own as before.
    `close` first lets the calls already using the session get their answers (a listener's
    work after its ack may be mid-call when the process is told to stop)."""

    def __init__(self, *, connections: int) -> None:
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._calls = 0  # calls under way that may be using the session
        self._drained: asyncio.Future[None] | None = None  # what `close` waits on

    @contextmanager
    def calling(self) -> Iterator[None]:
        """Around a call that may use the session: `close` waits for it."""
        self._calls += 1
        try:
            yield
        finally:
            self._calls -= 1
            if not self._calls and self._drained is not None and not self._drained.done():
                self._drained.set_result(None)

    def get(self) -> aiohttp.ClientSession | None:
        if self._closed:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # outside the event loop: nothing is being sent
            return None
        if self._session is None or self._session.closed or self._loop is not loop:
            self._loop = loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT_SECONDS),
            )
        return self._session

    async def close(self, *, wait: float = CLOSE_WAIT_SECONDS) -> None:
        self._closed = True  # a call from now on opens its own session
        if self._calls:
            self._drained = asyncio.get_running_loop().create_future()
            with suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._drained), wait)
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class SharedSessionClient(PacedWebClient):
    """A paced client whose calls go through the process's one session. Bolt gives each
    request a client copied from the app's, session included, so those share it too."""

    def __init__(self, *args: Any, shared: SlackSession, **kwargs: Any) -> None:
        self._shared = shared
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def session(self) -> aiohttp.ClientSession | None:
        return self._shared.get()

    @session.setter
    def session(self, value: aiohttp.ClientSession | None) -> None:
        if value is not None:  # slack_sdk's constructor sets None; the shared one stands
            raise ValueError("this client uses the process's shared session")

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:  # type: ignore[override]
        with self._shared.calling():
            return await super().api_call(api_method, **kwargs)


class SharedSessionRespond(AsyncRespond):
    """Bolt's `respond()` (an answer through a command's or a click's response_url), over the
    process's one session. Bolt's own opens a session, and so a connection (against Slack a
    TLS handshake), for every answer."""

    def __init__(
        self, *, response_url: str | None, shared: SlackSession, ssl: ssl.SSLContext | None
    ) -> None:
        super().__init__(response_url=response_url, ssl=ssl)
        self._shared = shared

    async def __call__(  # type: ignore[override]
        self, text: str | dict[str, Any] = "", **parts: Any
    ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        message = (
            _build_message(**text) if isinstance(text, dict) else _build_message(text, **parts)
        )
        with self._shared.calling():
            response_url = AsyncWebhookClient(
                url=self.response_url,
                session=self._shared.get(),
                ssl=self.ssl,
                timeout=CALL_TIMEOUT_SECONDS,
            )
            return await response_url.send_dict(message)


def answering_over(shared: SlackSession) -> Any:
    """A Bolt middleware giving each request with a response_url a `respond()` that uses the
    process's session."""

    async def middleware(context: AsyncBoltContext, next: Any) -> Any:
        if context.response_url is not None:
            context["respond"] = SharedSessionRespond(
                response_url=context.response_url, shared=shared, ssl=context.client.ssl
            )
        return await next()

    return middleware


def make_client(
    *,
    token: str | None,
    base_url: str,
    pacer: ChannelPacer,
    session: SlackSession,
    ca_file: str | None = None,
) -> AsyncWebClient:
    return SharedSessionClient(
        shared=session,
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
