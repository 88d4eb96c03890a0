"""Bring a database's schema up to date with Alembic, from inside the running program.

Alembic is imported only when there is something to do: every process migrates as it starts,
and on a database already at the head that is one query, without loading Alembic and the
templating and highlighting it brings (about 10 MiB resident, measured with bench/memory.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from storage.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(database: Database, revision: str = "head") -> None:
    if revision == "head" and await _stored_revisions(database) == [head_revision()]:
        return  # already there: what `alembic upgrade head` would do, without loading it

    from alembic import command

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)


async def _stored_revisions(database: Database) -> list[str]:
    """What `alembic_version` holds; nothing when the table is not there yet."""
    async with database.engine.connect() as connection:
        try:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:  # no such table: a new database
            return []
        return list(result.scalars())


async def current_revision(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with database.engine.connect() as connection:
        return await connection.run_sync(read)


def head_revision() -> str:
    """The newest revision, from the file names alone: each revision's id is the number its
    file name starts with and each revises the one before (storage/migrations/README.md;
    tests/test_storage.py checks both against Alembic's own reading of the chain)."""
    return max(
        path.name.partition("_")[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py")
    )
