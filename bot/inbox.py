"""The event inbox: an event Slack got a 200 for is never lost.

At the door (bot/server.py) an event's signature is checked, then its id and body are written
in one transaction, already claimed by this process with a lease; only then does Slack get its
200. The listeners run from that row, and the row is marked done after they ran. A process that
dies in between leaves the row claimed: when its lease runs out, any process's heartbeat
(`sweep`) claims and handles it. Handling twice is possible only for an event whose listeners
ran but whose row was not yet marked done when the process died; the listeners are written to
be repeatable (welcomes and notices are scheduled with dedupe keys).

Handling from the inbox does not verify the signature again: it was checked at the door, and
Slack's signature expires after five minutes, which a row waiting for a restart may outlive.
The stored body is dispatched into Bolt as Socket Mode requests are (which carry no
signature), through a copy of the app that runs the listeners before returning, so "done"
means done.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import logs
from bot.claims import Batched, HeldClaims
from bot.dispatch import DEFAULT_LEASE, default_worker_name
from bot.runtime import Runtime
from storage.db import giving_way
from storage.models import ProcessedEvent
from storage.repositories import events
from storage.repositories.events import EventState

log = logging.getLogger(__name__)

EVENTS_AT_ONCE = 8  # events handled concurrently per process; the rest queue in order
MAX_ATTEMPTS = 5  # an event whose handling died this often would only die again
FROM_INBOX = "cultivate_from_inbox"  # in a Bolt request's context: dispatched from the inbox


def _running_listeners_inline(bolt: AsyncApp) -> AsyncApp:
    """The same app (listeners, middleware, authorisation, client are shared, so listeners
    added later are seen too) whose dispatch returns only after the listener has run."""
    inline = copy.copy(bolt)
    runner = copy.copy(bolt._async_listener_runner)
    runner.process_before_response = True
    inline._async_listener_runner = runner
    return inline


# A message's words: what people wrote is never kept, not even while its event waits in the
# inbox. Cultivate counts who posted where and when; no listener reads these.
MESSAGE_WORDS = frozenset({"text", "blocks", "attachments", "files", "message", "previous_message"})


def kept_body(payload: dict[str, Any]) -> str:
    """The event as the inbox keeps it: all of it, but a message without its words."""
    event = payload.get("event")
    if isinstance(event, dict) and event.get("type") == "message":
        words = MESSAGE_WORDS & event.keys()
        if words:
            event = {key: value for key, value in event.items() if key not in words}
            payload = {**payload, "event": event}
    return json.dumps(payload, separators=(",", ":"))


class Inbox:
    def __init__(
        self,
        runtime: Runtime,
        bolt: AsyncApp,
        *,
        worker: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        batch: int = 100,
    ) -> None:
        self.runtime = runtime
        self.worker = worker or default_worker_name()
        self.lease = lease
        self.batch = batch
        self._bolt = _running_listeners_inline(bolt)
        self._slots = asyncio.Semaphore(EVENTS_AT_ONCE)
        self._held = HeldClaims(runtime, ProcessedEvent, worker=self.worker, lease=lease)
        # Events arriving (or finishing) together are written together: a burst of joins
        # costs a few statements, not one each, and each waits for one at most.
        self._arriving = Batched(self._keep)
        self._finishing = Batched(self._finish)
        self._door: AsyncConnection | None = None

    async def receive(self, *, team_id: str, event_id: str, body: str) -> int | None:
        """Keep a verified event, claimed by this process, before it is acked. None if it
        was received before (Slack redelivers what it thinks we missed): ack and drop it."""
        row = await self._arriving.submit((team_id, event_id, body))
        if row is not None:
            self._held.hold(row)
        return row

    async def _keep(self, batch: list[tuple[str, str, str]]) -> list[int | None]:
        """Write events that arrived together in one statement. On PostgreSQL through a
        connection of the inbox's own, in autocommit (one INSERT is atomic alone, and reads the
        database's clock itself): an ack waits for one round trip to the database, not a pool
        checkout and a transaction."""
        database = self.runtime.database
        if database.is_sqlite:  # one connection per process: take it in turn
            async with database.begin() as connection:
                rows = await self._insert(connection, batch)
        else:
            if self._door is None:
                connection = await database.engine.connect()
                self._door = await connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                rows = await self._insert(self._door, batch)
            except Exception:
                door, self._door = self._door, None
                with contextlib.suppress(Exception):
                    await door.close()
                raise
        # The same event twice in one batch: only the first is handled.
        return [rows.pop((team, event), None) for team, event, _ in batch]

    async def _insert(
        self, connection: AsyncConnection, batch: list[tuple[str, str, str]]
    ) -> dict[tuple[str, str], int]:
        now = self.runtime.clock.shared_now_in_sql(connection.dialect.name)
        return await events.receive(
            connection,
            received=batch,
            received_at=now,
            claimed_by=self.worker,
            lease_until=now + self.lease,
        )

    async def close(self) -> None:
        """Give back the inbox's own connection (when the server stops)."""
        door, self._door = self._door, None
        if door is not None:
            await door.close()

    async def handle(self, row: int, body: str, attempts: int = 1) -> None:
        """Run an event's listeners, then mark its row done (if it is still ours)."""
        self._held.hold(row)
        try:
            # An event's handling is after its 200: it gives way to requests still to be acked.
            with giving_way():
                async with self._slots:
                    if attempts > MAX_ATTEMPTS:
                        log.error("gave up on event row %d: it died %d times", row, attempts)
                        state = EventState.FAILED
                    else:
                        await self._dispatch(body)
                        state = EventState.DONE
                await self._finishing.submit((row, state))
        finally:
            self._held.release(row)

    async def _finish(self, batch: list[tuple[int, EventState]]) -> list[None]:
        async with self.runtime.database.session() as session:
            for state in EventState:
                rows = [row for row, finished in batch if finished == state]
                if rows:
                    await events.finish(session, rows=rows, worker=self.worker, state=state)
        return [None] * len(batch)

    async def sweep(self) -> int:
        """Handle what another process acked and did not finish (the heartbeat's work)."""
        async with self.runtime.database.session() as session:
            now = await self.runtime.clock.shared_now(session)
            rows = await events.claim(
                session,
                worker=self.worker,
                now=now,
                lease=self.lease,
                limit=self.batch,
                # A pending row newer than a lease is about to be handled by whoever acked it.
                received_before=now - self.lease,
            )
            found = [(row.id, row.body or "", row.attempts) for row in rows]
        for row, _, _ in found:
            assert row is not None
            self._held.hold(row)
        if found:
            log.info("handling %d events acked by a process that did not finish them", len(found))
        await asyncio.gather(*(self.handle(row, body, attempts) for row, body, attempts in found))  # type: ignore[arg-type]
        return len(found)

    async def _dispatch(self, body: str) -> None:
        request = AsyncBoltRequest(
            body=body,
            headers={"content-type": "application/json"},
            context={FROM_INBOX: True},
            mode="socket_mode",  # verified at the door: no second signature check
        )
        logs.team_id.set(request.context.team_id)
        try:
            response = await self._bolt.async_dispatch(request)
        except Exception:  # a listener's bug must not leave the row to be retried forever
            log.exception("handling an event failed")
            return
        if response.status >= 400 and response.status != 404:  # 404: no listener wants it
            log.warning("an event's listener failed: HTTP %d", response.status)
