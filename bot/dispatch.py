"""Sending what is due: the heartbeat's work.

Features register a sender for each kind of scheduled row (a meeting reminder, a welcome
follow-up…). Each heartbeat claims the rows that are due, hands each to its sender with the
team's Slack client, and records the outcome. Slack's rate limits and outages delay a row;
they never lose it. After the last attempt a row is marked failed and, once, the community's
coordinators are told.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs
from bot.once import once_per_row
from bot.runtime import Runtime
from storage.models import ScheduledSend
from storage.repositories import leases, scheduled
from storage.repositories.scheduled import SendState

log = logging.getLogger(__name__)

DELIVERY_FAILED = "delivery_failed"
# What a row's error says when its sender crashed (our bug, not Slack refusing): the notice and
# App Home then say it has been logged rather than quote Slack.
CRASHED = "crashed"  # never one of Slack's error codes, which are snake_case
# How long a claim holds before another scheduler may take the row. Short, so a killed
# process's rows go out again within seconds; a live process renews its claims while it
# sends, so a slow send is never taken for a dead one.
DEFAULT_LEASE = timedelta(seconds=20)
# Slack errors that no retry will fix: the channel or person is gone, or we are not allowed.
PERMANENT_ERRORS = {
    "channel_not_found",
    "is_archived",
    "not_in_channel",
    "user_not_found",
    "user_disabled",
    "account_inactive",
    "cannot_dm_bot",
    "invalid_blocks",
    "invalid_arguments",
    "msg_too_long",
    "no_text",
    "missing_scope",
    "not_allowed_token_type",
    "restricted_action",
    "invalid_auth",
    "token_revoked",
}


@dataclass(frozen=True)
class Due:
    """A claimed row, as a sender sees it."""

    id: int
    team_id: str
    community_id: int | None
    kind: str
    payload: dict[str, Any]
    due_at: datetime
    attempts: int
    stale_at: datetime | None = None

    @classmethod
    def of(cls, row: ScheduledSend) -> Due:
        assert row.id is not None
        return cls(
            id=row.id,
            team_id=row.team_id,
            community_id=row.community_id,
            kind=row.kind,
            payload=dict(row.payload),
            due_at=row.due_at,
            attempts=row.attempts,
            stale_at=row.stale_at,
        )


def is_crash(error: str | None) -> bool:
    """Whether a row failed because its sender crashed, rather than because Slack refused."""
    return bool(error) and str(error).startswith(CRASHED)


class Drop(Exception):
    """Raised by a sender when the row no longer makes sense to send (the meeting was moved,
    the person already answered). The row is dropped with this reason, not retried."""


Sender = Callable[[Due, AsyncWebClient], Awaitable[None]]


@dataclass(frozen=True)
class _Registered:
    sender: Sender
    description: str


class Senders:
    """Which function sends each kind of row. Features register theirs at start-up."""

    def __init__(self) -> None:
        self._by_kind: dict[str, _Registered] = {}

    def register(self, kind: str, sender: Sender, *, description: str) -> None:
        if kind in self._by_kind:
            raise ValueError(f"a sender for {kind!r} is registered twice")
        self._by_kind[kind] = _Registered(sender, description)

    def sender(self, kind: str) -> Sender | None:
        registered = self._by_kind.get(kind)
        return registered.sender if registered else None

    def describe(self, kind: str) -> str:
        registered = self._by_kind.get(kind)
        return registered.description if registered else kind

    @property
    def kinds(self) -> list[str]:
        return list(self._by_kind)


class SlackClients(Protocol):
    async def for_team(self, team_id: str) -> AsyncWebClient | None:
        """The bot's client for a team, or None if the app is no longer installed there."""
        ...


class SingleWorkspace:
    """One bot token for the one workspace the app is installed in."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def for_team(self, team_id: str) -> AsyncWebClient | None:
        return self.client


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Dispatcher:
    def __init__(
        self,
        runtime: Runtime,
        senders: Senders,
        clients: SlackClients,
        *,
        worker: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        batch: int = 100,
        max_attempts: int = 5,
        concurrency: int = 8,
        team_id: str | None = None,  # only this team's rows (the sandbox's), if given
    ) -> None:
        self.runtime = runtime
        self.senders = senders
        self.clients = clients
        self.worker = worker or default_worker_name()
        self.lease = lease
        self.batch = batch
        self.max_attempts = max_attempts
        self.team_id = team_id
        self._concurrency = asyncio.Semaphore(concurrency)
        self._last_heartbeat: float | None = None  # time.monotonic(), for health checks
        self._sending: set[asyncio.Task[Any]] = set()  # the claims being sent, for `settled`

    async def run_once(self) -> int:
        """Claim and send what is due now; returns how many rows were handled."""
        handled = await self._claim_and_send(ids=None)
        self._last_heartbeat = time.monotonic()
        return handled

    def seconds_since_heartbeat(self) -> float | None:
        if self._last_heartbeat is None:
            return None
        return time.monotonic() - self._last_heartbeat

    async def send_now(self, ids: list[int]) -> int:
        """Send these rows at once if they are due and nobody has taken them: what a request
        that has just scheduled something for "now" calls, rather than waiting for the next
        heartbeat. A row it cannot send goes the usual way (retry, fail, tell)."""
        if not ids:
            return 0
        return await self._claim_and_send(ids=ids)

    def is_sending(self) -> bool:
        """Whether rows this dispatcher claimed are still being sent."""
        return any(not task.done() for task in self._sending)

    async def settled(self) -> None:
        """Wait until the rows claimed so far, by the heartbeat or by `send_now`, are sent.
        The sandbox waits with this before it moves its clock: a send still in flight when
        the clock jumps past its lease would be claimed and sent again."""
        me = asyncio.current_task()
        while running := [t for t in self._sending if t is not me and not t.done()]:
            await asyncio.wait(running)

    async def _claim_and_send(self, *, ids: list[int] | None) -> int:
        task = asyncio.current_task()
        if task is None:  # not under asyncio's tasks: nothing to wait for
            return await self._send_due(ids=ids)
        self._sending.add(task)
        try:
            return await self._send_due(ids=ids)
        finally:
            self._sending.discard(task)

    async def _send_due(self, *, ids: list[int] | None) -> int:
        # Every comparison of due times and leases is made on the shared clock (the
        # database's in production), never a host's: see bot/clock.py.
        async with self.runtime.database.session() as session:
            now = await self.runtime.clock.shared_now(session)
            rows = await scheduled.claim_due(
                session,
                worker=self.worker,
                now=now,
                lease=self.lease,
                limit=self.batch,
                ids=ids,
                team_id=self.team_id,
            )
            claimed = [Due.of(row) for row in rows]
        if not claimed:
            return 0
        renewing = asyncio.create_task(self._renew([due.id for due in claimed]))
        try:
            await asyncio.gather(*(self._handle(due, now) for due in claimed))
        finally:
            renewing.cancel()
        return len(claimed)

    async def _renew(self, ids: list[int]) -> None:
        """While sends are in flight, keep extending their claims."""
        interval = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            try:
                async with self.runtime.database.session() as session:
                    now = await self.runtime.clock.shared_now(session)
                    await leases.renew(
                        session,
                        ScheduledSend,
                        worker=self.worker,
                        ids=ids,
                        lease_until=now + self.lease,
                    )
            except Exception:  # a missed renewal only risks a retake, never a loss
                log.exception("could not renew the scheduler's claims")

    async def run_until_idle(self, *, rounds: int = 100) -> int:
        """Run heartbeats until nothing more is due now (tests and the sandbox use this)."""
        total = 0
        for _ in range(rounds):
            handled = await self.run_once()
            total += handled
            if handled == 0:
                break
        return total

    async def _handle(self, due: Due, claimed_at: datetime) -> None:
        # Each row runs in its own task, so these reach only this row's log lines.
        logs.team_id.set(due.team_id)
        logs.community_id.set(due.community_id)
        async with self._concurrency:
            if due.attempts > self.max_attempts:
                # Claimed again after its last attempt's lease ran out: the process sending it
                # died each time (a row that kills its sender would otherwise be tried for ever).
                await self._fail(due, f"{CRASHED}: stopped while sending")
                return
            try:
                await self._send(due, claimed_at)
            except Exception as error:  # never let one row stop the others
                logs.crash(log, f"scheduled {due.kind} #{due.id} failed unexpectedly", error)
                await self._retry_or_fail(
                    due, f"{CRASHED}: {type(error).__name__}", retry_after=None
                )

    async def _send(self, due: Due, claimed_at: datetime) -> None:
        if due.stale_at is not None and claimed_at > due.stale_at:
            log.info("dropped %s #%d: too late to be useful", due.kind, due.id)
            await self._finish(due, SendState.DROPPED, "too late to be useful")
            return
        sender = self.senders.sender(due.kind)
        if sender is None:
            log.error("no sender is registered for %s (#%d)", due.kind, due.id)
            await self._finish(due, SendState.FAILED, f"no sender for {due.kind}")
            return
        async with self.runtime.database.session() as session:
            now = await self.runtime.clock.shared_now(session)
            still_ours = await scheduled.confirm_claim(
                session, send_id=due.id, worker=self.worker, now=now, lease=self.lease
            )
        if not still_ours:
            log.info("%s #%d was taken over by another scheduler", due.kind, due.id)
            return
        client = await self.clients.for_team(due.team_id)
        if client is None:
            await self._finish(due, SendState.CANCELLED, "the app is not installed in this team")
            return
        try:
            await sender(due, once_per_row(client, due.id, due.attempts))
        except Drop as reason:
            log.info("dropped %s #%d: %s", due.kind, due.id, reason)
            await self._finish(due, SendState.DROPPED, str(reason))
            return
        except SlackApiError as error:
            await self._slack_error(due, error)
            return
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            await self._retry_or_fail(due, f"connection: {type(error).__name__}", retry_after=None)
            return
        await self._finish(due, SendState.SENT, None)

    async def _slack_error(self, due: Due, error: SlackApiError) -> None:
        status = getattr(error.response, "status_code", 200)
        reason = str(error.response.get("error") or f"HTTP {status}")
        if status == 429:
            headers = getattr(error.response, "headers", {}) or {}
            retry_after = float(headers.get("Retry-After", headers.get("retry-after", 30)))
            await self._retry_or_fail(due, "ratelimited", retry_after=retry_after)
        elif status < 500 and reason in PERMANENT_ERRORS:
            await self._fail(due, reason)
        else:
            await self._retry_or_fail(due, reason, retry_after=None)

    async def _retry_or_fail(self, due: Due, reason: str, *, retry_after: float | None) -> None:
        if due.attempts >= self.max_attempts:
            await self._fail(due, reason)
            return
        # Exponential backoff (30s, 1m, 2m, 4m…), or exactly what Slack asked us to wait.
        delay = retry_after if retry_after is not None else 30 * 2 ** (due.attempts - 1)
        async with self.runtime.database.session() as session:
            due_at = await self.runtime.clock.shared_now(session) + timedelta(seconds=delay)
            await scheduled.retry_later(
                session, send_id=due.id, worker=self.worker, due_at=due_at, error=reason[:500]
            )
        log.info("will retry %s #%d in %.0fs: %s", due.kind, due.id, delay, reason)

    async def _fail(self, due: Due, reason: str) -> None:
        log.warning("gave up on %s #%d: %s", due.kind, due.id, reason)
        async with self.runtime.database.session() as session:
            now = await self.runtime.clock.shared_now(session)
            finished = await scheduled.finish(
                session,
                send_id=due.id,
                worker=self.worker,
                state=SendState.FAILED,
                now=now,
                error=reason[:500],
            )
            if finished and due.community_id is not None and due.kind != DELIVERY_FAILED:
                # Tell the coordinators once: the dedupe key makes a second notice impossible.
                await scheduled.schedule(
                    session,
                    team_id=due.team_id,
                    community_id=due.community_id,
                    kind=DELIVERY_FAILED,
                    due_at=now,
                    dedupe_key=f"{DELIVERY_FAILED}:{due.id}",
                    payload={
                        "failed_id": due.id,
                        "what": self.senders.describe(due.kind),
                        "error": reason[:200],
                        "crashed": is_crash(reason),
                    },
                )

    async def _finish(self, due: Due, state: SendState, error: str | None) -> None:
        async with self.runtime.database.session() as session:
            await scheduled.finish(
                session,
                send_id=due.id,
                worker=self.worker,
                state=state,
                now=await self.runtime.clock.shared_now(session),
                error=error,
            )
