"""How much CPU building the `/cop status` answer takes: a community with every stage answered,
50 members and 20 meetings (and as many of everything else), its answer built again and again
as `/cop status` builds it, with `time.process_time` around each build.

    python -m bench.status [--builds 200] [--size 50] [--meetings 20] [--database-url postgresql://...]

It prints how many SQL statements one build takes too; `--queries 1` prints them, and
`--profile 1` where the time goes instead of the figures (cProfile).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from bench.common import (
    cpu_cells,
    database_in_a_folder,
    filled_community,
    options,
    print_profile,
    statements_run,
)
from bot.services.communities import community_by_id
from handlers.progress import community_blocks
from handlers.registry import Surface
from sandbox.seeding import COORDINATOR, TEAM


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
        with statements_run(database.engine.sync_engine) as statements:
            await build()
        queries = len(statements)
        if show_queries:
            print("\n\n".join(statements))
        if profile:
            await print_profile(build, builds)
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
    print(f"| {kind} | {cpu_cells(cpu)} |")


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
