"""Running Cultivate's real processes (`python -m bot ...`) against the stand-in for Slack:
shared by the benchmarks (bench/) and the tests that run real processes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from sqlalchemy import text

from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "bench-signing-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """`python -m bot <mode>` (or another module) with its own port and log file. Shared by
    the benchmarks and the tests that run real processes."""

    def __init__(self, args: list[str], env: dict[str, str], workdir: Path) -> None:
        self.args, self.env, self.workdir = args, env, workdir
        self.port = int(env["PORT"])
        self.log = workdir / f"{'-'.join(args)}-{self.port}.log"
        self.popen = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Output goes to a file: a pipe nobody reads fills up and blocks a chatty process.
        with self.log.open("a") as log:
            return subprocess.Popen(
                [sys.executable, "-m", *self.args],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def restart(self) -> None:
        self.popen = self._spawn()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as when a machine dies."""
        self.popen.kill()
        self.popen.wait(20)

    def output(self) -> str:
        return self.log.read_text()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def healthy(self, timeout: float = 90) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.popen.poll() is not None:
                    raise RuntimeError(f"process exited:\n{self.log.read_text()}")
                try:
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"not healthy after {timeout}s:\n{self.log.read_text()}")

    def resident_mib(self) -> float:
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> str:
        """SIGTERM, as a platform stops a process; returns everything it printed."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        return self.output()


def environment(
    *, api_url: str, database_url: str | None, ca_file: str | None = None, **extra: str
) -> dict[str, str]:
    """A process's environment: the machine's, less any Slack or database settings, plus ours
    (no DATABASE_URL means the default SQLite file in the working directory; `ca_file`, an
    HTTPS stand-in's certificate, for the processes to trust)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    return env | {
        "PYTHONPATH": str(ROOT),
        "PORT": str(free_port()),
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "LOG_LEVEL": "WARNING",
        **({"DATABASE_URL": database_url} if database_url else {}),
        **({"SLACK_CA_FILE": ca_file} if ca_file else {}),
        **extra,
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def empty_database(database_url: str) -> None:
    """Start each benchmark from an empty PostgreSQL schema, whatever ran on it before, so a
    script gives the same figures alone as in bench/all.sh. (SQLite runs use a new file.)"""
    database = Database(database_url)
    if not database.is_sqlite:
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await database.dispose()
