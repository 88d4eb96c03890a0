"""Resident memory of an idle web process and an idle clock process.

python -m bench.memory [--database-url postgresql://...] [--idle 5] [--http]
"""

from __future__ import annotations

import asyncio

from bench.common import migrated, options, scheme


async def main(database_url: str | None, idle: float, http: bool) -> None:
    async with migrated(database_url, http=http, SCHEDULER_TICK_SECONDS="1") as bench:
        url = bench.url
        processes = {mode: bench.start(["bot", mode]) for mode in ("web", "clock", "run")}
        try:
            for process in processes.values():
                await process.healthy()
            await asyncio.sleep(idle)  # let start-up settle and a few heartbeats run
            print(
                f"resident memory (VmRSS) after {idle:.0f}s idle, database {url.split(':')[0]}, "
                f"Slack over {scheme(bench.slack)}\n"
            )
            print("| process | MiB |")
            print("| --- | ---: |")
            for mode, process in processes.items():
                label = {
                    "web": "web (`python -m bot web`)",
                    "clock": "clock (`python -m bot clock`)",
                    "run": "both in one (`python -m bot`)",
                }[mode]
                print(f"| {label} | {process.resident_mib():.1f} |")
        finally:
            for process in processes.values():
                process.stop()


if __name__ == "__main__":
    given = options(__doc__, idle=5.0)
    asyncio.run(main(given.database_url, given.idle, given.http))
