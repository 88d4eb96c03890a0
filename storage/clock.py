"""The database's clock: the one every process comparing leases and due times agrees on."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession


async def database_now(executor: AsyncSession | AsyncConnection) -> datetime:
    """PostgreSQL's now(): the start of the current transaction, so read here it is the same
    instant an UPDATE in this unit of work would see. SQLite has no server: its clock is the
    one machine's that holds the file, read without a round trip."""
    if isinstance(executor, AsyncConnection):
        dialect = executor.dialect.name
    else:
        dialect = executor.bind.dialect.name if executor.bind is not None else "sqlite"
    if dialect != "postgresql":
        return datetime.now(UTC)
    if isinstance(executor, AsyncConnection):
        value = (await executor.execute(text("SELECT now()"))).scalar_one()
    else:
        value = (await executor.exec(text("SELECT now()"))).scalar_one()  # type: ignore[call-overload]
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now_in_sql(dialect: str) -> datetime | ColumnElement[datetime]:
    """The database's now() to write within a statement, saving the round trip of reading
    it first; on SQLite, the machine's time (the same clock)."""
    return func.now() if dialect == "postgresql" else datetime.now(UTC)
