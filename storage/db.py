"""The one engine and its sessions: a session per unit of work, committed or rolled back whole."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.urls import async_database_url, is_sqlite

log = logging.getLogger(__name__)

POOL_SIZE = 10  # connections a process keeps to PostgreSQL (DATABASE_POOL_SIZE)
# A connection that sat unused in the pool longer than this is pinged before it is handed out;
# one in steady use is not, so a busy process spends no round trip on pings.
IDLE_PING_SECONDS = 10.0
# No connection is kept longer than this, within the idle timeouts of proxies, pgbouncer and
# load balancers in front of PostgreSQL (commonly an hour or more).
RECYCLE_SECONDS = 1800


class Database:
    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.is_sqlite = is_sqlite(url)
        options: dict[str, Any] = {}
        if not self.is_sqlite:
            # A fixed pool, no overflow: connections beyond it would be opened and closed per
            # unit of work under load (a backend started each time), and one event loop gains
            # nothing from more connections than it keeps busy: work waits its turn here.
            options |= {
                "pool_size": pool_size,
                "max_overflow": 0,
                "pool_recycle": RECYCLE_SECONDS,
            }
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
        else:
            _ping_when_idle(self.engine)
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


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Instead of `pool_pre_ping` (a round trip before every unit of work), ping only a
    connection that sat unused longer than IDLE_PING_SECONDS: the ones a restart, failover or
    idle timeout may have dropped unseen. A connection found dead is replaced before it is
    handed out. One dropped within seconds of its last use (the database restarting under
    load) fails the unit of work that meets it, as it fails the ones in flight: SQLAlchemy
    then discards every connection of that age, so the next unit of work connects afresh."""
    pool_events = engine.sync_engine.pool

    def returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    def handed_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < IDLE_PING_SECONDS:
            return  # new, or in steady use
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            if not engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            raise DisconnectionError("the database dropped an idle connection")

    event.listen(pool_events, "connect", returned)
    event.listen(pool_events, "checkin", returned)
    event.listen(pool_events, "checkout", handed_out)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL is still safe against corruption; it skips an fsync per commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
