"""Time zones a person can search for by typing part of a name ("lond", "new york")."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

MAX_OPTIONS = 100  # Slack shows at most this many options from an external source


@cache
def _zones() -> tuple[str, ...]:
    # The posix/ and right/ copies of the database name the same zones a second time.
    return tuple(sorted(z for z in available_timezones() if not z.startswith(("posix/", "right/"))))


def search(typed: str, *, limit: int = MAX_OPTIONS) -> list[str]:
    """Zones whose name holds what was typed (case and spaces aside), cities that start with
    it first: "lon" offers Europe/London before America/Louisville's neighbours."""
    query = typed.strip().lower().replace(" ", "_")
    if not query:
        return []

    def rank(zone: str) -> tuple[int, str]:
        name = zone.lower()
        city = name.rsplit("/", 1)[-1]
        return (0 if city.startswith(query) else 1 if name.startswith(query) else 2, name)

    found = [zone for zone in _zones() if query in zone.lower()]
    return sorted(found, key=rank)[:limit]
