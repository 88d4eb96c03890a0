"""Resident memory of an idle web process and an idle clock process.

python -m bench.memory [--database-url postgresql://...] [--idle 5]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from fakeslack import FakeSlack
from sandbox.processes import Process, empty_database, environment, free_port


async def main(database_url: str | None, idle: float) -> None:
    with FakeSlack() as slack, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = database_url or f"sqlite:///{workdir / 'bench.db'}"
        env = environment(api_url=slack.api_url, database_url=url, SCHEDULER_TICK_SECONDS="1")
        await empty_database(url)
        Process(["bot", "migrate"], {**env, "PORT": str(free_port())}, workdir).popen.wait(60)
        processes = {
            mode: Process(["bot", mode], {**env, "PORT": str(free_port())}, workdir)
            for mode in ("web", "clock", "run")
        }
        try:
            for process in processes.values():
                await process.healthy()
            await asyncio.sleep(idle)  # let start-up settle and a few heartbeats run
            print(f"resident memory (VmRSS) after {idle:.0f}s idle, database {url.split(':')[0]}\n")
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--idle", type=float, default=5)
    options = parser.parse_args()
    asyncio.run(main(options.database_url, options.idle))
