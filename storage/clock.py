"""The database's clock: the one every process comparing leases and due times agrees on."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

# PostgreSQL's now() is the start of the current transaction: read here, it is the same
# instant an UPDATE in this unit of work would see. SQLite has no server; its clock is the
# one machine's that holds the file.
_NOW = {
    "postgresql": "SELECT now()",
    "sqlite": "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')",
}


async def database_now(session: AsyncSession) -> datetime:
    bind = session.bind
    dialect = bind.dialect.name if bind is not None else "sqlite"
    value = (await session.exec(text(_NOW[dialect]))).scalar_one()  # type: ignore[call-overload]
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
