"""What a process does with rows it shares with other processes (scheduled sends, events in the
inbox): it holds its claims, renewing their leases while it holds them, and it writes what
happens to many rows at once, in one statement, rather than a round trip each."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Generic, TypeVar

from bot.runtime import Runtime
from storage.models import ProcessedEvent, ScheduledSend
from storage.repositories import leases

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class Batched(Generic[T, R]):
    """Items submitted while a batch is being written wait for the next batch, written as one.
    Each submitter gets its own item's result, or the batch's error. One item alone is written
    at once; under load the batches grow by themselves."""

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        self._write = write
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        result: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, result))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._drain())
        return await result

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                results = await self._write([item for item, _ in batch])
            except Exception as error:
                for _, result in batch:
                    if not result.done():
                        result.set_exception(error)
                continue
            for (_, result), value in zip(batch, results, strict=True):
                if not result.done():
                    result.set_result(value)


class HeldClaims:
    """The rows of `table` this process has claimed and not finished, queued or in hand. While
    it holds any, their leases are extended every third of a lease, so a long queue or a slow
    call is not mistaken for a dead process and the rows taken by another."""

    def __init__(
        self,
        runtime: Runtime,
        table: type[ScheduledSend] | type[ProcessedEvent],
        *,
        worker: str,
        lease: timedelta,
    ) -> None:
        self.runtime = runtime
        self.table = table
        self.worker = worker
        self.lease = lease
        self._ids: set[int] = set()
        self._renewing: asyncio.Task[None] | None = None

    def hold(self, row: int) -> None:
        self._ids.add(row)
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.create_task(self._renew())

    def release(self, row: int) -> None:
        self._ids.discard(row)

    def __len__(self) -> int:
        return len(self._ids)

    async def _renew(self) -> None:
        while self._ids:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with self.runtime.database.session() as session:
                    now = await self.runtime.clock.shared_now(session)
                    await leases.renew(
                        session,
                        self.table,
                        worker=self.worker,
                        ids=list(self._ids),
                        lease_until=now + self.lease,
                    )
            except Exception:  # a missed renewal only risks a retake, never a loss
                log.exception("could not renew this process's claims on %s", self.table.__name__)
