"""How much CPU building the `/cop status` answer takes: a community with every stage answered,
50 members and 20 meetings (and as many of everything else), its answer built again and again
as `/cop status` builds it, with `time.process_time` around each build.

    python -m bench.status [--builds 200] [--size 50] [--meetings 20] [--database-url postgresql://...]

It prints how many SQL statements one build takes too; `--queries 1` prints them, and
`--profile 1` where the time goes instead of the figures (cProfile).
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event

from bench.common import database_in_a_folder, filled_community, options
from bot.services.communities import community_by_id
from handlers.progress import community_blocks
from handlers.registry import Surface
from sandbox.seeding import COORDINATOR, TEAM


def counting(statements: list[str]) -> Callable[..., None]:
    """A `before_cursor_execute` listener keeping each statement's SQL."""

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    return count


def listen(engine: Any, name: str, listener: Callable[..., None]) -> None:
    event.listen(engine, name, listener)


async def main(
    builds: int, size: int, meetings: int, profile: bool, show_queries: bool, url: str | None
) -> None:
    with database_in_a_folder(url) as (_, database_url):
        cultivate, community_id = await filled_community(
            database_url, size=size, meetings=meetings, now=datetime.now(UTC)
        )
        database = cultivate.runtime.database
        registry = cultivate.registry

        async def build() -> None:
            # As `/cop status` does: the community as the request loads it, then its answer.
            record = await community_by_id(database, team_id=TEAM, community_id=community_id)
            await community_blocks(registry, record, COORDINATOR, Surface.STATUS)

        for _ in range(5):  # warm: imports, caches, the pool's connections
            await build()
        statements: list[str] = []
        listen(database.engine.sync_engine, "before_cursor_execute", counting(statements))
        await build()
        queries = len(statements)
        if show_queries:
            print("\n\n".join(statements))
        if profile:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for _ in range(builds):
                await build()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            await database.dispose()
            return
        cpu: list[float] = []
        for _ in range(builds):
            started = time.process_time()
            await build()
            cpu.append((time.process_time() - started) * 1000)
        await database.dispose()
    print(
        f"/cop status for a community of {size} members and {meetings} meetings, {builds} "
        f"builds, {queries} SQL statements a build"
    )
    print("| database | CPU p50 (ms) | CPU mean (ms) | CPU p90 (ms) |")
    print("| --- | ---: | ---: | ---: |")
    kind = "PostgreSQL" if url else "SQLite"
    p90 = statistics.quantiles(cpu, n=10)[-1]
    print(f"| {kind} | {statistics.median(cpu):.2f} | {statistics.mean(cpu):.2f} | {p90:.2f} |")


if __name__ == "__main__":
    args = options(__doc__, builds=200, size=50, meetings=20, profile=0, queries=0)
    asyncio.run(
        main(
            args.builds,
            args.size,
            args.meetings,
            bool(args.profile),
            bool(args.queries),
            args.database_url,
        )
    )
