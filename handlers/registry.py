"""What a feature module registers itself with."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp

from bot.dispatch import Senders
from bot.runtime import Runtime
from handlers.cop import CopCommand


@dataclass(frozen=True)
class Registry:
    app: AsyncApp  # Bolt listeners: actions, views, events
    cop: CopCommand  # `/cop` subcommands
    senders: Senders  # how each kind of scheduled row is sent
    runtime: Runtime  # the database and the clock
