"""How much CPU saving a stage form takes, and the note after it: a community with every stage
answered, 50 members and 20 meetings (and as many of everything else), its scope form saved
again and again as a `view_submission` saves it (`save_answers`), then the note with the next
step built as `tell_saved` builds it (without posting it), with `time.process_time` around each.

    python -m bench.save [--saves 200] [--size 50] [--meetings 20] [--database-url postgresql://...]

It prints how many SQL statements one save and one note take too; `--queries 1` prints them, and
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
from bot.catalogue import SCOPE
from bot.clock import ManualClock
from bot.services.communities import CommunityRecord, community_by_id
from bot.services.journey import next_step
from bot.services.stages import save_answers
from handlers.stage_forms import saved_note
from sandbox.seeding import COORDINATOR, TEAM


async def main(
    saves: int, size: int, meetings: int, profile: bool, show_queries: bool, url: str | None
) -> None:
    with database_in_a_folder(url) as (_, database_url):
        now = datetime.now(UTC)
        clock = ManualClock(now)
        cultivate, community_id = await filled_community(
            database_url, size=size, meetings=meetings, now=now
        )
        database = cultivate.runtime.database
        record = await community_by_id(database, team_id=TEAM, community_id=community_id)
        # The scope form's own inputs, as the form submits them again.
        submitted = {
            q.key: record.stages[SCOPE.key].answers.get(q.key)
            for q in SCOPE.inputs
            if record.stages[SCOPE.key].answers.get(q.key) is not None
        }
        saved: list[CommunityRecord] = [record]

        async def save() -> None:
            version = saved[-1].stages[SCOPE.key].version
            saved.append(
                await save_answers(
                    database,
                    clock,
                    team_id=TEAM,
                    community_id=community_id,
                    stage=SCOPE,
                    user_id=COORDINATOR,
                    submitted=submitted,
                    base_version=version,
                )
            )

        async def note() -> None:
            step = await next_step(database, clock, saved[-1])
            saved_note(saved[-1], SCOPE, step)

        for _ in range(5):  # warm: imports, caches, the pool's connections
            await save()
            await note()
        counts: list[int] = []
        for work in (save, note):
            with statements_run(database.engine.sync_engine) as statements:
                await work()
            counts.append(len(statements))
            if show_queries:
                print(f"-- {work.__name__}\n" + "\n\n".join(statements) + "\n")
        if profile:

            async def save_and_note() -> None:
                await save()
                await note()

            await print_profile(save_and_note, saves, cumulative=50, own=30)
            await database.dispose()
            return
        cpu: dict[str, list[float]] = {"save": [], "note": []}
        for _ in range(saves):
            for name, work in (("save", save), ("note", note)):
                started = time.process_time()
                await work()
                cpu[name].append((time.process_time() - started) * 1000)
        await database.dispose()
    print(
        f"A scope form saved, and its note, in a community of {size} members and {meetings} "
        f"meetings, {saves} saves: {counts[0]} SQL statements a save, {counts[1]} a note"
    )
    print("| database | work | CPU p50 (ms) | CPU mean (ms) | CPU p90 (ms) |")
    print("| --- | --- | ---: | ---: | ---: |")
    kind = "PostgreSQL" if url else "SQLite"
    for name, figures in cpu.items():
        print(f"| {kind} | {name} | {cpu_cells(figures)} |")


if __name__ == "__main__":
    args = options(__doc__, saves=200, size=50, meetings=20, profile=0, queries=0)
    asyncio.run(
        main(
            args.saves,
            args.size,
            args.meetings,
            bool(args.profile),
            bool(args.queries),
            args.database_url,
        )
    )
