"""The one engine and its sessions: a session per unit of work, committed or rolled back whole."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.urls import async_database_url, is_sqlite

log = logging.getLogger(__name__)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = is_sqlite(url)
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self.is_sqlite:
            # SQLite has one writer at a time. With a pool of connections, concurrent units of
            # work collide on its lock and back off in its busy handler (hundreds of ms); one
            # connection per process queues them in order instead. Other processes on the same
            # file still wait on the lock, for up to 30 s.
            options["connect_args"] = {"timeout": 30}
            if make_url(url).database not in (None, "", ":memory:"):  # memory uses one anyway
                options |= {"pool_size": 1, "max_overflow": 0}
        self.engine: AsyncEngine = create_async_engine(async_database_url(url), **options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends, rolls back if it raises."""
        async with self._sessions() as session, session.begin():
            yield session

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:  # any driver error means "not answering"
            log.warning("database did not answer: %s", type(error).__name__)
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def insert_or_merge(session: AsyncSession, table: type[Any] | Table) -> Any:
    """An INSERT with `on_conflict_do_update` / `on_conflict_do_nothing`, in the session's
    dialect: both SQLite and PostgreSQL can insert-or-update in one atomic statement."""
    bind = session.bind
    dialect = bind.dialect.name if bind is not None else "sqlite"
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def add_new(session: AsyncSession, row: SQLModel) -> bool:
    """Add the row, unless a unique constraint refuses it (one like it is there already: a
    redelivery, a second click, a race): then False. A savepoint, so a refusal spoils nothing
    else in the unit of work."""
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL is still safe against corruption; it skips an fsync per commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
