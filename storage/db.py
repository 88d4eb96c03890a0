"""The one engine and its sessions: a session per unit of work, committed or rolled back whole."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Row, Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable
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
# How long work after acks waits, at most, for requests being answered before it goes on.
GIVE_WAY_SECONDS = 0.25

# Whether the running task works after a request's ack (or for the scheduler): its units of
# work give way to those of requests still to be acked. Set by `after_ack()`; inherited by the
# tasks it starts.
_after_ack: ContextVar[bool] = ContextVar("after_ack", default=False)
# The task holding a turn in this context: a unit of work inside another of the same task
# takes none. (A task started inside a unit of work inherits the variable, not the turn.)
_holding: ContextVar[asyncio.Task[Any] | None] = ContextVar("holding_a_turn", default=None)
# The session that units of work join within `Database.reading()`, and the task it serves.
_joined: ContextVar[tuple[asyncio.Task[Any], AsyncSession] | None] = ContextVar(
    "joined_session", default=None
)


def after_ack() -> None:
    """From here on, this task's units of work wait while a request still to be acked waits
    for a connection: what a person sees after an ack may be late, the ack must not be."""
    _after_ack.set(True)


@contextmanager
def giving_way() -> Iterator[None]:
    """Within this block, units of work give way as after an ack (the scheduler's sends, an
    event's handling after its 200)."""
    token = _after_ack.set(True)
    try:
        yield
    finally:
        _after_ack.reset(token)


class Turns:
    """Units of work take turns for the pool's connections, at most `size` at once, and a
    request still to be acked goes first: a free connection goes to the longest-waiting
    unit of work of a request before its ack, and only when none waits to work after acks.
    Without this, a burst of work after acks (answers, notes, welcomes) queues ahead of the
    next request's save, and a save can miss Slack's 3 seconds behind work nobody waits for."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._in_use = 0
        self._waiting: dict[bool, deque[asyncio.Future[None]]] = {False: deque(), True: deque()}
        self._answering = 0  # requests being answered: their acks not yet sent

    @contextmanager
    def answering(self) -> Iterator[None]:
        """While a request is answered (until its ack is sent), work after acks starts no
        unit of work, for up to GIVE_WAY_SECONDS each: one event loop runs both, and the ack
        must not wait for the loop behind work nobody is waiting for."""
        self._answering += 1
        try:
            yield
        finally:
            self._answering -= 1
            self._hand_out()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and _holding.get() is task:  # nested: it has its connection
            yield
            return
        await self._take(_after_ack.get())
        token = _holding.set(task)
        try:
            yield
        finally:
            _holding.reset(token)
            self._give_back()

    async def _take(self, after_ack: bool) -> None:
        if (
            self._in_use < self.size
            and not self._waiting[False]
            and not (after_ack and (self._waiting[True] or self._answering))
        ):
            self._in_use += 1
            return
        loop = asyncio.get_running_loop()
        granted = loop.create_future()
        self._waiting[after_ack].append(granted)
        # Giving way is bounded: under a steady stream of requests, work after acks that has
        # waited GIVE_WAY_SECONDS queues as if it were answering a request.
        overdue = loop.call_later(GIVE_WAY_SECONDS, self._promote, granted) if after_ack else None
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._give_back()  # granted just as it was cancelled: pass it on
            else:
                for queue in self._waiting.values():
                    if granted in queue:
                        queue.remove(granted)
            raise
        finally:
            if overdue is not None:
                overdue.cancel()

    def _promote(self, granted: asyncio.Future[None]) -> None:
        if granted in self._waiting[True]:
            self._waiting[True].remove(granted)
            self._waiting[False].append(granted)
            self._hand_out()

    def _give_back(self) -> None:
        self._in_use -= 1
        self._hand_out()

    def _hand_out(self) -> None:
        """Free turns to whoever waits: requests to be acked first (and work after acks that
        has waited long enough); other work after acks when no request is being answered."""
        queues = [self._waiting[False]]
        if not self._answering:
            queues.append(self._waiting[True])
        for queue in queues:
            while queue and self._in_use < self.size:
                granted = queue.popleft()
                if not granted.done():
                    self._in_use += 1
                    granted.set_result(None)


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
        turns = pool_size
        if self.is_sqlite:
            turns = 1
            # SQLite has one writer at a time. With a pool of connections, concurrent units of
            # work collide on its lock and back off in its busy handler (hundreds of ms); one
            # connection per process queues them in order instead. Other processes on the same
            # file still wait on the lock, for up to 30 s.
            options["connect_args"] = {"timeout": 30}
            if make_url(url).database not in (None, "", ":memory:"):  # memory uses one anyway
                options |= {"pool_size": 1, "max_overflow": 0}
        self.turns = Turns(turns)
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
        """A unit of work: commits when the block ends, rolls back if it raises. Within
        `reading()`, in the same task, it is part of that one unit of work instead."""
        joined = _joined.get()
        if joined is not None and joined[0] is asyncio.current_task():
            yield joined[1]
            return
        async with self.turns.turn(), self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        """One unit of work for everything this task does inside the block: a view that many
        features each read for (`/cop status`, App Home) takes one turn, one connection and
        one transaction, not one of each per feature. Tasks started inside get their own."""
        task = asyncio.current_task()
        assert task is not None, "a unit of work runs in a task"
        async with self.session() as session:
            token = _joined.set((task, session))
            try:
                yield
            finally:
                _joined.reset(token)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A unit of work on a bare connection (Core statements), taking its turn likewise."""
        async with self.turns.turn(), self.engine.begin() as connection:
            yield connection

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


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core table, for statements built once (see `core_rows`)."""
    return model.__table__  # type: ignore[return-value]


async def core_rows(
    session: AsyncSession, statement: Executable, **params: Any
) -> Sequence[Row[Any]]:
    """The rows of a Core statement (one built once, its values as bind parameters), read in
    the session's unit of work as plain rows: no ORM objects are built, and a statement built
    once is compiled and keyed once. What the session holds unsaved is flushed first, as an ORM
    query would."""
    return await session.run_sync(_core_rows, statement, params)


def _core_rows(
    session: Session, statement: Executable, params: dict[str, Any]
) -> Sequence[Row[Any]]:
    # In one pass through the session's greenlet: the flush, the connection and the read.
    if session.new or session.deleted or session.identity_map.check_modified():
        session.flush()
    return session.connection().execute(statement, params).all()


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
