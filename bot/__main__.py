"""`python -m bot [run|web|clock|migrate|sandbox|rotate-key|new-key|purge-team TEAM_ID]`.

run      the web server and the scheduler in one process (a small install; the default);
         with no Slack credential set at all, the sandbox instead
web      only the HTTP server (Slack's requests and /healthz)
clock    only the scheduler
migrate  bring the database schema up to date, then exit
sandbox  try Cultivate in a browser, against a local stand-in for Slack (no workspace needed)
rotate-key  re-encrypt every stored bot token with the first of TOKEN_ENCRYPTION_KEYS
new-key     print a new key for TOKEN_ENCRYPTION_KEYS
purge-team  erase every row of one workspace now (python -m bot purge-team T0123ABCD)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from dotenv import load_dotenv

from bot import logs
from bot.app import Cultivate, create_app, serving
from bot.runtime import Runtime
from bot.server import EVENTS_PATH
from bot.services.workspaces import erase_workspace
from bot.settings import (
    Settings,
    SettingsError,
    has_slack_credentials,
    load_sandbox_settings,
    load_settings,
)
from bot.tokens import TokenCipher, TokenKeyError, new_key, rotate_keys
from storage.db import Database
from storage.migrate import upgrade

log = logging.getLogger("cultivate")

MODES = ("run", "web", "clock", "migrate", "sandbox", "rotate-key", "new-key", "purge-team")
# Slack team ids: T (or E for an Enterprise Grid organisation) then capitals and digits.
TEAM_ID = re.compile(r"[TE][A-Z0-9]{2,31}")
RETRY_CAP_SECONDS = 30.0
DRAIN_SECONDS = 10.0  # how long a stopping process waits for work in flight


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="run", choices=MODES)
    parser.add_argument("team_id", nargs="?", help="purge-team: the workspace's team id")
    arguments = parser.parse_args(argv)
    mode, team_id = arguments.mode, arguments.team_id
    if mode == "new-key":
        print(new_key())
        return 0
    if mode == "purge-team" and (team_id is None or not TEAM_ID.fullmatch(team_id)):
        given = "no team id" if team_id is None else f"{team_id!r} is not a Slack team id"
        print(
            f"cultivate: purge-team: {given}; give the workspace's id, e.g. "
            "python -m bot purge-team T0123ABCD",
            file=sys.stderr,
        )
        return 2
    if team_id is not None and mode != "purge-team":
        print(f"cultivate: {mode}: takes no team id (only purge-team does)", file=sys.stderr)
        return 2

    load_dotenv(Path(".env"), override=False)  # the working directory's; the real environment wins
    # No Slack credential at all means someone trying Cultivate out: open the sandbox. Any
    # credential set means a real workspace is meant, so a missing one is an error to name.
    sandbox = mode == "sandbox" or (mode == "run" and not has_slack_credentials(os.environ))
    try:
        settings = load_sandbox_settings(os.environ) if sandbox else load_settings(os.environ)
    except SettingsError as error:
        for problem in error.problems:
            print(f"cultivate: {problem}", file=sys.stderr)
        return 2

    logs.configure(settings.log_level_number, json_lines=settings.log_json)
    if mode in ("rotate-key", "purge-team"):
        return asyncio.run(_maintain(settings, mode, team_id or ""))
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(settings, mode))
    except Refused as refusal:
        print(f"cultivate: {refusal}", file=sys.stderr)
        return 2
    return 0


class Refused(Exception):
    """A reason not to start, said in one line."""


async def _serve(settings: Settings, mode: str) -> None:
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    try:
        await _migrate(database)
        if mode == "migrate":
            log.info("database schema is up to date")
            return
        if settings.sandbox:
            await _run_sandbox(settings, database)
            return
        await _run(
            settings, database, web_server=mode in ("run", "web"), clock=mode in ("run", "clock")
        )
    finally:
        await database.dispose()


async def _maintain(settings: Settings, mode: str, team_id: str) -> int:
    """One maintenance task on the database, said in one line; 0 if it was done."""
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    try:
        await _migrate(database)
        if mode == "purge-team":
            deleted = await erase_workspace(database, team_id=team_id)
            if not deleted:
                print(
                    f"cultivate: purge-team: nothing is stored for team {team_id}", file=sys.stderr
                )
                return 1
            print(f"erased team {team_id}: {deleted} rows deleted")
            return 0
        if not settings.token_encryption_keys:
            print(
                "cultivate: rotate-key: TOKEN_ENCRYPTION_KEYS is not set; put the new key first "
                "and the old ones after it",
                file=sys.stderr,
            )
            return 2
        try:
            count = await rotate_keys(database, TokenCipher(settings.token_encryption_keys))
        except TokenKeyError as error:
            print(f"cultivate: rotate-key: {error}", file=sys.stderr)
            return 1
        print(f"re-encrypted {count} bot tokens with the first key of TOKEN_ENCRYPTION_KEYS")
        return 0
    finally:
        await database.dispose()


async def _migrate(database: Database) -> None:
    """Upgrade the schema, waiting for a database that is not up yet rather than crashing."""
    delay = 1.0
    while True:
        try:
            await upgrade(database)
            return
        except OSError as error:
            reason = error
        except Exception as error:  # drivers wrap connection failures in their own types
            if "connect" not in str(error).lower():
                raise
            reason = error
        log.warning(
            "cannot reach the database (%s); retrying in %.0fs", type(reason).__name__, delay
        )
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_CAP_SECONDS)


def _stop_on_signals() -> asyncio.Event:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    return stopping


async def _run_sandbox(settings: Settings, database: Database) -> None:
    from sandbox.sandbox import NotASandboxDatabase, refuse_other_teams, running_sandbox

    try:
        await refuse_other_teams(database)
    except NotASandboxDatabase as refusal:
        raise Refused(str(refusal)) from None
    stopping = _stop_on_signals()
    async with running_sandbox(settings, database) as sandbox:
        print(
            f"Cultivate sandbox: open {sandbox.url} to try it with no Slack workspace "
            "(to connect a real one instead, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
            'in .env, as the README\'s "Setting it up" says)',
            flush=True,
        )
        await stopping.wait()


async def _run(settings: Settings, database: Database, *, web_server: bool, clock: bool) -> None:
    runtime = Runtime(database=database)
    if settings.oauth:
        # Tokens stored before encryption came in are encrypted before anything uses them.
        await rotate_keys(
            database, TokenCipher(settings.token_encryption_keys), plaintext_only=True
        )
    # The clock process builds the app too: features register their senders with it.
    cultivate = create_app(settings, runtime, web_server=web_server, scheduler=clock)
    started_up()
    stopping = _stop_on_signals()
    try:
        async with serving(cultivate, host="0.0.0.0", port=settings.port):
            await _until_stopped(cultivate, stopping, web_server=web_server)
    finally:
        await _drain(DRAIN_SECONDS)


def started_up() -> None:
    """What start-up built (modules, the app, its listeners: some 125,000 objects) lives as
    long as the process. Left to the garbage collector, every full collection scans it all
    again: 40-140 ms measured, during which no request is answered (the slowest acks).
    Frozen, a full collection scans only what requests have made since."""
    gc.collect()
    gc.freeze()


async def _until_stopped(
    cultivate: Cultivate, stopping: asyncio.Event, *, web_server: bool
) -> None:
    """Take Slack's requests (over HTTP, or a Socket Mode socket) until told to stop."""
    settings = cultivate.settings
    socket_handler = None
    if web_server and settings.socket_mode:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        socket_handler = AsyncSocketModeHandler(cultivate.bolt, settings.slack_app_token)
        await socket_handler.connect_async()
        log.info("connected to Slack in Socket Mode; health on port %d", settings.port)
    elif web_server:
        log.info("listening on port %d: POST %s, GET /healthz", settings.port, EVENTS_PATH)
    try:
        await stopping.wait()
    finally:
        log.info("shutting down")
        if socket_handler is not None:
            await socket_handler.close_async()


async def _drain(seconds: float) -> None:
    """Let work in flight (a heartbeat, a listener's work after its ack) finish before the
    database closes, so a clean stop never abandons a connection mid-query; whatever is still
    running after `seconds` is cancelled. A killed process loses nothing either way: its rows
    are taken again after their lease."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if not others:
        return
    _, pending = await asyncio.wait(others, timeout=seconds)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


if __name__ == "__main__":
    sys.exit(main())
