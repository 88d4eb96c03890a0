"""Turn the database URL a person configured into one SQLAlchemy's async engine can use.

People paste what their host gives them: `sqlite:///cultivate.db`, `postgresql://...`, or
Heroku's `postgres://...`. We accept those as given and pick the async driver ourselves:
asyncpg for PostgreSQL, which measured faster here than psycopg 3 (`bench/ack_latency.py`;
`postgresql+psycopg://` still chooses psycopg).
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class UnsupportedDatabaseURL(ValueError):
    pass


def async_database_url(url: str) -> URL:
    """Return `url` with an async driver, or raise UnsupportedDatabaseURL saying what to use."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UnsupportedDatabaseURL(
            f"{_redacted(url)!r} is not a database URL; use sqlite:///cultivate.db "
            "or postgresql://user:password@host:5432/dbname"
        ) from None
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise UnsupportedDatabaseURL(
            f"the {parsed.drivername!r} database is not supported; "
            "use sqlite:///cultivate.db or postgresql://user:password@host:5432/dbname"
        )
    return parsed.set(drivername=driver)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _redacted(url: str) -> str:
    # Never echo a password into logs or error lines.
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url
