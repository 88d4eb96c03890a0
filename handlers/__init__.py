"""Slack-facing features. Each module registers its own listeners, `/cop` subcommands and
senders for scheduled rows through `register(registry)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.dispatch import Dispatcher, Senders, SingleWorkspace
from bot.runtime import Runtime
from bot.settings import Settings
from handlers import actions as meeting_actions
from handlers import (
    adoption,
    archive,
    calendars,
    capture,
    channels,
    closing,
    communities,
    deliveries,
    failures,
    gaps,
    health,
    home,
    installs,
    joining,
    launch,
    library,
    meetings,
    milestones,
    perspectives,
    policies,
    privacy,
    recruitment,
    redelivery,
    report,
    roles,
    roster,
    stages,
    stories,
    sustaining,
    terms,
    welcome_editor,
    welcomes,
    zones,
)
from handlers.cop import CopCommand
from handlers.registry import Registry

# In the order `/cop help` lists their subcommands.
FEATURES = (
    redelivery,
    communities,
    adoption,
    channels,
    stages,
    policies,
    roles,
    gaps,
    meetings,
    launch,
    terms,
    milestones,
    closing,
    capture,
    archive,
    joining,
    welcomes,
    welcome_editor,
    roster,
    health,
    perspectives,
    recruitment,
    report,
    sustaining,
    home,
    deliveries,
    installs,
    failures,
    privacy,
    zones,
    calendars,
    stories,
    meeting_actions,
    library,
)


def wire_features(
    app: AsyncApp,
    runtime: Runtime,
    senders: Senders,
    settings: Settings,
    *,
    dispatcher: Dispatcher | None = None,
) -> Registry:
    """Every feature registered with one registry, then `/cop` with their subcommands."""
    if dispatcher is None:
        dispatcher = Dispatcher(runtime, senders, SingleWorkspace(app.client))
    registry = Registry(
        app=app,
        cop=CopCommand(runtime.database),
        senders=senders,
        runtime=runtime,
        settings=settings,
        dispatcher=dispatcher,
    )
    for feature in FEATURES:
        feature.register(registry)
    registry.cop.register(app)
    return registry
