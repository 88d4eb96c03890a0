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
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import logs
from bot.claims import Batched, HeldClaims
from bot.once import once_per_row
from bot.runtime import Runtime
from storage.db import giving_way
from storage.models import ScheduledSend
from storage.repositories import scheduled
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


# Sends in flight per process unless told otherwise (SCHEDULER_IN_FLIGHT).
DEFAULT_IN_FLIGHT = 50


@dataclass(frozen=True)
class _Outcome:
    """How one attempt at a row ended, to be recorded together with others that ended
    meanwhile."""

    due: Due
    state: SendState  # PENDING: to be tried again in `retry_in` seconds
    error: str | None = None
    retry_in: float = 0.0
    tell: bool = False  # given up on: the community's coordinators are told, once


@dataclass(frozen=True)
class _Claim:
    """When a batch was claimed: on the shared clock (what due and stale times are compared
    with), and on this process's clock and monotonic timer, read just before the claim."""

    at: datetime
    wall: datetime
    monotonic: float


class _TeamClients:
    """Each team's client looked up once for a claimed batch, not once a row (with many
    workspaces a lookup reads and decrypts the team's token)."""

    def __init__(self, clients: SlackClients) -> None:
        self._clients = clients
        self._found: dict[str, asyncio.Future[AsyncWebClient | None]] = {}

    async def for_team(self, team_id: str) -> AsyncWebClient | None:
        if team_id not in self._found:
            self._found[team_id] = asyncio.ensure_future(self._clients.for_team(team_id))
        return await asyncio.shield(self._found[team_id])


class Dispatcher:
    """Claims due rows a batch at a time and sends them, up to `concurrency` in flight. Slack
    allows about one message a second per channel: the client paces each channel (the app's
    `ChannelPacer`), so many channels go at once and `concurrency` only bounds the load on
    Slack and on the database. Claims, confirmations and outcomes are each written for many
    rows in one statement."""

    def __init__(
        self,
        runtime: Runtime,
        senders: Senders,
        clients: SlackClients,
        *,
        worker: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        batch: int = 100,  # rows one claim takes at most
        max_attempts: int = 5,
        concurrency: int = DEFAULT_IN_FLIGHT,
        team_id: str | None = None,  # only this team's rows (the sandbox's), if given
    ) -> None:
        self.runtime = runtime
        self.senders = senders
        self.clients = clients
        self.worker = worker or default_worker_name()
        self.lease = lease
        self.batch = batch
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.team_id = team_id
        self._slots = asyncio.Semaphore(concurrency)
        self._held = HeldClaims(runtime, ScheduledSend, worker=self.worker, lease=lease)
        # Rows reaching their send together are confirmed together, and rows whose sends end
        # together are recorded together: one statement for each group, not one a row.
        self._confirming = Batched(self._confirm)
        self._recording = Batched(self._record)
        self._dialect = runtime.database.engine.dialect.name
        self._last_heartbeat: float | None = None  # time.monotonic(), for health checks
        self._sending: set[asyncio.Task[Any]] = set()  # the claims being sent, for `settled`

    async def run_once(self) -> int:
        """Claim and send what is due now, a batch after another while a whole batch was
        due; returns how many rows were handled."""
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
        assert task is not None  # a coroutine awaited under asyncio always runs in a task
        self._sending.add(task)
        try:
            with giving_way():  # sends are due, not awaited by someone's ack
                return await self._send_due(ids=ids)
        finally:
            self._sending.discard(task)

    async def _send_due(self, *, ids: list[int] | None) -> int:
        handled = 0
        pending: set[asyncio.Task[None]] = set()
        errors: list[BaseException] = []

        def collect(done: set[asyncio.Task[None]]) -> None:
            errors.extend(e for t in done if not t.cancelled() and (e := t.exception()))

        while True:
            wall, monotonic = self.runtime.clock.now(), time.monotonic()
            claimed, now = await self._claim(ids)
            claim = _Claim(now, wall, monotonic)
            clients = _TeamClients(self.clients)
            for due in claimed:
                self._held.hold(due.id)
                pending.add(asyncio.create_task(self._handle(due, claim, clients)))
            handled += len(claimed)
            if ids is not None or len(claimed) < self.batch:
                break
            self._last_heartbeat = time.monotonic()  # a long drain is a live heartbeat
            # The next batch is claimed once nearly every row held is in flight: a process
            # holds at most a batch beyond what it is sending, so a claimed row waits briefly
            # and what this process cannot send soon is left to another.
            while len(pending) > self.concurrency:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                collect(done)
        if pending:
            done, _ = await asyncio.wait(pending)
            collect(done)
        if errors:
            raise errors[0]
        return handled

    async def _claim(self, ids: list[int] | None) -> tuple[list[Due], datetime]:
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
            return [Due.of(row) for row in rows], now

    async def run_until_idle(self, *, rounds: int = 100) -> int:
        """Run heartbeats until nothing more is due now (tests and the sandbox use this)."""
        total = 0
        for _ in range(rounds):
            handled = await self.run_once()
            total += handled
            if handled == 0:
                break
        return total

    async def _handle(self, due: Due, claim: _Claim, clients: _TeamClients) -> None:
        # Each row runs in its own task, so these reach only this row's log lines.
        logs.team_id.set(due.team_id)
        logs.community_id.set(due.community_id)
        try:
            async with self._slots:
                outcome = await self._attempt(due, claim, clients)
            if outcome is not None:
                await self._recording.submit(outcome)
        finally:
            self._held.release(due.id)

    async def _attempt(self, due: Due, claim: _Claim, clients: _TeamClients) -> _Outcome | None:
        if due.attempts > self.max_attempts:
            # Claimed again after its last attempt's lease ran out: the process sending it
            # died each time (a row that kills its sender would otherwise be tried for ever).
            return self._fail(due, f"{CRASHED}: stopped while sending")
        try:
            return await self._send(due, claim, clients)
        except Exception as error:  # never let one row stop the others
            logs.crash(log, f"scheduled {due.kind} #{due.id} failed unexpectedly", error)
            return self._retry_or_fail(due, f"{CRASHED}: {type(error).__name__}", retry_after=None)

    async def _send(self, due: Due, claim: _Claim, clients: _TeamClients) -> _Outcome | None:
        if due.stale_at is not None and claim.at > due.stale_at:
            log.info("dropped %s #%d: too late to be useful", due.kind, due.id)
            return _Outcome(due, SendState.DROPPED, "too late to be useful")
        sender = self.senders.sender(due.kind)
        if sender is None:
            log.error("no sender is registered for %s (#%d)", due.kind, due.id)
            return _Outcome(due, SendState.FAILED, f"no sender for {due.kind}")
        # A row that waited in this process's queue long enough for its lease to be near its
        # end (a busy process, its renewals late) may have been taken by another process, and
        # is then theirs to send: it is confirmed just before it is sent, with the rows
        # reaching their send beside it, and given a whole lease from then. A row claimed
        # moments ago cannot have been taken, and goes straight out. Any wait left is its
        # channel's turn in the pacer, a second or so a row ahead of it; renewals cover that.
        if not self._surely_ours(claim) and not await self._confirming.submit(due.id):
            log.info("%s #%d was taken over by another scheduler", due.kind, due.id)
            return None
        client = await clients.for_team(due.team_id)
        if client is None:
            return _Outcome(due, SendState.CANCELLED, "the app is not installed in this team")
        try:
            await sender(due, once_per_row(client, due.id, due.attempts))
        except Drop as reason:
            log.info("dropped %s #%d: %s", due.kind, due.id, reason)
            return _Outcome(due, SendState.DROPPED, str(reason))
        except SlackApiError as error:
            return self._slack_error(due, error)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            return self._retry_or_fail(due, f"connection: {type(error).__name__}", retry_after=None)
        return _Outcome(due, SendState.SENT)

    def _surely_ours(self, claim: _Claim) -> bool:
        """Whether rows claimed at `claim` are still this process's without asking: their
        lease was set by the database after `claim`'s readings, and no other process may take
        a row before its lease runs out. Half a lease of margin; the longer of the two
        elapsed times counts, so neither a clock set back nor a test's clock moved forward
        makes a row look fresher than it is."""
        elapsed = max(
            (self.runtime.clock.now() - claim.wall).total_seconds(),
            time.monotonic() - claim.monotonic,
        )
        return elapsed < self.lease.total_seconds() / 2

    def _slack_error(self, due: Due, error: SlackApiError) -> _Outcome:
        status = getattr(error.response, "status_code", 200)
        reason = str(error.response.get("error") or f"HTTP {status}")
        if status == 429:
            headers = getattr(error.response, "headers", {}) or {}
            retry_after = float(headers.get("Retry-After", headers.get("retry-after", 30)))
            return self._retry_or_fail(due, "ratelimited", retry_after=retry_after)
        if status < 500 and reason in PERMANENT_ERRORS:
            return self._fail(due, reason)
        return self._retry_or_fail(due, reason, retry_after=None)

    def _retry_or_fail(self, due: Due, reason: str, *, retry_after: float | None) -> _Outcome:
        if due.attempts >= self.max_attempts:
            return self._fail(due, reason)
        # Exponential backoff (30s, 1m, 2m, 4m…), or exactly what Slack asked us to wait.
        delay = retry_after if retry_after is not None else 30 * 2 ** (due.attempts - 1)
        log.info("will retry %s #%d in %.0fs: %s", due.kind, due.id, delay, reason)
        return _Outcome(due, SendState.PENDING, reason[:500], retry_in=delay)

    def _fail(self, due: Due, reason: str) -> _Outcome:
        log.warning("gave up on %s #%d: %s", due.kind, due.id, reason)
        return _Outcome(due, SendState.FAILED, reason[:500], tell=True)

    async def _confirm(self, ids: list[int]) -> list[bool]:
        """Which of these rows are still ours, each given a whole lease from now."""
        async with self.runtime.database.session() as session:
            now = self.runtime.clock.shared_now_in_sql(self._dialect)
            ours = await scheduled.confirm_claims(
                session, send_ids=ids, worker=self.worker, lease_until=now + self.lease
            )
        return [row in ours for row in ids]

    async def _record(self, outcomes: list[_Outcome]) -> list[None]:
        """Record how rows ended in one unit of work: a statement for each kind of ending
        (usually one: sent). A row whose claim was lost keeps the outcome of whoever took it."""
        groups: dict[tuple[SendState, str | None, float, bool], list[_Outcome]] = {}
        for outcome in outcomes:
            key = (outcome.state, outcome.error, outcome.retry_in, outcome.tell)
            groups.setdefault(key, []).append(outcome)
        async with self.runtime.database.session() as session:
            now = self.runtime.clock.shared_now_in_sql(self._dialect)
            told: list[_Outcome] = []
            for (state, error, retry_in, tell), group in groups.items():
                ids = [outcome.due.id for outcome in group]
                if state == SendState.PENDING:
                    await scheduled.retry_later(
                        session,
                        send_ids=ids,
                        worker=self.worker,
                        due_at=now + timedelta(seconds=retry_in),
                        error=error or "",
                    )
                    continue
                ours = await scheduled.finish(
                    session, send_ids=ids, worker=self.worker, state=state, now=now, error=error
                )
                if tell:
                    told += [outcome for outcome in group if outcome.due.id in ours]
            for outcome in told:
                await self._tell(session, outcome)
        return [None] * len(outcomes)

    async def _tell(self, session: AsyncSession, failed: _Outcome) -> None:
        """Tell the coordinators once that a row was given up on: the dedupe key makes a
        second notice impossible."""
        due, reason = failed.due, failed.error or ""
        if due.community_id is None or due.kind == DELIVERY_FAILED:
            return
        await scheduled.schedule(
            session,
            team_id=due.team_id,
            community_id=due.community_id,
            kind=DELIVERY_FAILED,
            due_at=await self.runtime.clock.shared_now(session),
            dedupe_key=f"{DELIVERY_FAILED}:{due.id}",
            payload={
                "failed_id": due.id,
                "what": self.senders.describe(due.kind),
                "error": reason[:200],
                "crashed": is_crash(reason),
            },
        )
