"""Time is injected, never read from a global, so tests (and the sandbox) can move it.

Two readings of "now":
- `now()`: this host's time, for what a person sees and for planning (a welcome in ten
  minutes, a meeting's reminder).
- `shared_now(session)`: the time every process agrees on, for what processes compare with
  each other: claims, leases and whether a row is due. In production that is the database's
  clock (PostgreSQL's `now()`, SQLite's own), read inside the unit of work that compares, so
  two hosts whose clocks disagree still agree on who holds a row. A ManualClock answers with
  its own time instead: tests and the sandbox run every scheduler in one process on that one
  clock, so it is already shared, and moving it moves what is due.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.clock import database_now, now_in_sql


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    async def shared_now(self, session: AsyncSession | AsyncConnection) -> datetime:
        """The time claims, leases and due times are compared with (see the module's doc)."""
        ...

    def shared_now_in_sql(self, dialect: str) -> datetime | ColumnElement[datetime]:
        """The same time, to be read by the database within the statement that writes it."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def shared_now(self, session: AsyncSession | AsyncConnection) -> datetime:
        return await database_now(session)

    def shared_now_in_sql(self, dialect: str) -> datetime | ColumnElement[datetime]:
        return now_in_sql(dialect)


class ManualClock:
    """A clock that moves only when told: for tests and for the sandbox's time travel."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    async def shared_now(self, session: AsyncSession | AsyncConnection) -> datetime:
        return self._now

    def shared_now_in_sql(self, dialect: str) -> datetime | ColumnElement[datetime]:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)
