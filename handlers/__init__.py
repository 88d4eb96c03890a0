"""Slack-facing features. Each module registers its own listeners and `/cop` subcommands."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from handlers import communities, home, stages
from handlers.cop import CopCommand

# In the order `/cop help` lists their subcommands.
FEATURES = (communities, stages, home)


def register_all(app: AsyncApp, runtime: Runtime) -> CopCommand:
    cop = CopCommand()
    for feature in FEATURES:
        feature.register(app, cop, runtime)
    cop.register(app)
    return cop
