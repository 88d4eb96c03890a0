"""The baseline for bench/ack_latency.py: a Bolt AsyncApp that only acks, served exactly as
Cultivate is (the same aiohttp server and request path), so the difference is Cultivate's work."""

from __future__ import annotations

import asyncio
import os
import ssl
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.inbox import Inbox
from bot.runtime import Runtime
from bot.server import create_web_app
from storage.db import Database


async def main() -> None:
    bolt = AsyncApp(
        token=os.environ["SLACK_BOT_TOKEN"],
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    )
    bolt.client.base_url = os.environ["SLACK_API_URL"]
    if ca_file := os.environ.get("SLACK_CA_FILE"):  # an HTTPS fake Slack, as Cultivate trusts it
        bolt.client.ssl = ssl.create_default_context(cafile=ca_file)

    @bolt.command("/cop")
    async def command(ack: AsyncAck) -> None:
        await ack()

    @bolt.view("stage_form")
    async def submission(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()

    database = Database(os.environ["DATABASE_URL"])
    runner = web.AppRunner(
        create_web_app(
            database=database,
            bolt=bolt,
            signing_secret=os.environ["SLACK_SIGNING_SECRET"],
            inbox=Inbox(Runtime(database=database), bolt),
        )
    )
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(os.environ["PORT"])).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
