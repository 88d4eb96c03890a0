"""Slack redelivers an event when it thinks we missed it (`X-Slack-Retry-Num`), and may send
the same event twice. Every event is handled once: its event_id is recorded before any
listener runs, and a second copy is acked and dropped. Events over HTTP are recorded at the
door, in the inbox (bot/inbox.py), and come here already recorded; this records the others
(Socket Mode)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.inbox import FROM_INBOX
from bot.runtime import Runtime
from handlers.registry import Registry
from storage.repositories.events import first_delivery

log = logging.getLogger(__name__)


class SkipRedeliveredEvents(AsyncMiddleware):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        body = req.body
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id and not req.context.get(FROM_INBOX):
            async with self.runtime.database.session() as session:
                first = await first_delivery(
                    session,
                    team_id=str(body.get("team_id") or ""),
                    event_id=event_id,
                    received_at=self.runtime.clock.now(),
                )
            if not first:
                log.info("skipped a second delivery of event %s", event_id)
                return await req.context.ack()
        return await next()


def register(registry: Registry) -> None:
    registry.app.use(SkipRedeliveredEvents(registry.runtime))
