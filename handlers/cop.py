"""The `/cop` slash command: one listener that routes `/cop <subcommand>` to the feature that
registered it. Features add subcommands; the router acks every request at once, so no feature
can keep Slack waiting past its 3 seconds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs
from bot.services.communities import CommunityRecord, community_in_channel
from bot.text import escape, truncate
from handlers.views import open_form
from storage.db import Database, after_ack

COMMAND = "/cop"
NO_COMMUNITY = "This channel isn't a community yet. `/cop start` makes it one."
WENT_WRONG = (
    "Sorry, something went wrong with `{command}` and it did not finish. "
    "It has been logged so it can be fixed."
)
# Subcommands at work after their ack, per process; the rest wait their turn. Unbounded, a burst
# of commands left hundreds of tasks contending for the event loop and the database, and a form
# saved meanwhile (which must finish before its ack) missed Slack's 3 seconds.
AT_ONCE = 8


@dataclass(frozen=True)
class CopRequest:
    """One `/cop` invocation, after the ack."""

    args: str  # what followed the subcommand
    team_id: str
    user_id: str
    channel_id: str
    trigger_id: str
    client: AsyncWebClient
    respond: AsyncRespond
    logger: logging.Logger
    bot_user_id: str | None = None  # the app's own user in this workspace
    record: CommunityRecord | None = None  # the channel's community, for `community=True`

    @property
    def community(self) -> CommunityRecord:
        """The channel's community; only for subcommands registered with `community=True`."""
        if self.record is None:
            raise RuntimeError("this subcommand was registered without community=True")
        return self.record

    async def tell(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """Answer only the person who typed the command."""
        await self.respond(text=text, blocks=blocks, response_type="ephemeral")

    async def open_form(self, view: dict[str, Any]) -> str | None:
        """Open `view` as a modal: its id, or None with the person told Slack took too long."""
        return await open_form(
            self.client, trigger_id=self.trigger_id, view=view, logger=self.logger, tell=self.tell
        )


async def community_here(database: Database, request: CopRequest) -> CommunityRecord | None:
    """The community of the channel the command was typed in; None, and the person told how
    to make it one, if it is not a community."""
    record = await community_in_channel(
        database, team_id=request.team_id, channel_id=request.channel_id
    )
    if record is None:
        await request.tell(NO_COMMUNITY)
    return record


Subcommand = Callable[[CopRequest], Awaitable[None]]


@dataclass(frozen=True)
class _Entry:
    handler: Subcommand
    summary: str
    usage: str
    community: bool  # the channel must be a community; the request carries it
    coordinators_only: str | None  # what only its coordinators may do, if anything


def only_coordinators_can(what: str) -> str:
    """The one wording of the "coordinators only" refusal: `what` is what they may do."""
    return f"Only this community's coordinators can {what}."


class CopCommand:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._entries: dict[str, _Entry] = {}
        self._at_work = asyncio.Semaphore(AT_ONCE)

    def subcommand(
        self,
        name: str,
        *,
        summary: str,
        usage: str | None = None,
        community: bool = False,
        coordinators_only: str | None = None,
    ) -> Callable[[Subcommand], Subcommand]:
        """`community=True`: typed anywhere but a community's channel, the person is told how to
        make it one and the handler is not called. `coordinators_only="close it"`: anyone but
        its coordinators is told "Only this community's coordinators can close it." instead."""
        if coordinators_only is not None:
            community = True

        def add(handler: Subcommand) -> Subcommand:
            if name in self._entries or name == "help":
                raise ValueError(f"/cop {name} is registered twice")
            self._entries[name] = _Entry(
                handler, summary, usage or f"{COMMAND} {name}", community, coordinators_only
            )
            return handler

        return add

    @property
    def names(self) -> list[str]:
        return ["help", *self._entries]

    def help_text(self) -> str:
        lines = ["*Cultivate* helps you set up and sustain a community of practice.", ""]
        lines += [f"`{e.usage}` — {e.summary}" for e in self._entries.values()]
        lines.append(f"`{COMMAND} help` — this list")
        return "\n".join(lines)

    def register(self, app: AsyncApp) -> None:
        app.command(COMMAND)(self._dispatch)

    async def _dispatch(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        name, _, rest = (command.get("text") or "").strip().partition(" ")
        name = name.lower()
        if name in ("", "help"):
            await ack(text=self.help_text(), response_type="ephemeral")
            return
        entry = self._entries.get(name)
        if entry is None:
            shown = escape(truncate(name, 40))
            await ack(
                text=f"I don't know `{COMMAND} {shown}`. Try `{COMMAND} help` to see what I can do.",
                response_type="ephemeral",
            )
            return
        await ack()
        after_ack()
        request = CopRequest(
            args=rest.strip(),
            team_id=context.team_id or command.get("team_id", ""),
            user_id=command["user_id"],
            channel_id=command.get("channel_id", ""),
            trigger_id=command.get("trigger_id", ""),
            client=client,
            respond=respond,
            logger=logger,
            bot_user_id=context.bot_user_id,
        )
        async with self._at_work:
            try:
                if entry.community:
                    record = await community_here(self._database, request)
                    if record is None:
                        return
                    if entry.coordinators_only and not record.is_coordinator(request.user_id):
                        await request.tell(only_coordinators_can(entry.coordinators_only))
                        return
                    request = replace(request, record=record)
                await entry.handler(request)
            except Exception as error:  # a bug, or Slack refusing: the person must hear of it
                await self._went_wrong(request, name, error)

    async def _went_wrong(self, request: CopRequest, name: str, error: Exception) -> None:
        """Log what failed (never the text typed) and tell the person it did not work."""
        what = f"{COMMAND} {name}"
        if isinstance(error, SlackApiError):
            request.logger.warning(
                "Slack refused a call in %s: %s", what, error.response.get("error")
            )
        else:
            logs.crash(request.logger, f"{what} failed", error)
        try:
            await request.tell(WENT_WRONG.format(command=what))
        except Exception as telling:  # the response_url expired or Slack is down: log only
            logs.crash(request.logger, f"could not tell the person that {what} failed", telling)
