"""When a workspace uninstalls the app or revokes its bot token."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncBoltContext

from bot.services.workspaces import forget_workspace
from handlers.registry import Registry


async def uninstalled(registry: Registry, context: AsyncBoltContext) -> None:
    await _forget(registry, context)


async def revoked(registry: Registry, event: dict[str, Any], context: AsyncBoltContext) -> None:
    # Revoked user tokens do not concern us: Cultivate only ever holds a bot token.
    tokens = event.get("tokens")
    if isinstance(tokens, dict) and tokens.get("bot"):
        await _forget(registry, context)


async def _forget(registry: Registry, context: AsyncBoltContext) -> None:
    runtime = registry.runtime
    await forget_workspace(
        runtime.database,
        runtime.clock,
        team_id=context.team_id or "",
        retention_days=registry.settings.uninstall_retention_days,
    )


def register(registry: Registry) -> None:
    registry.app.event("app_uninstalled")(partial(uninstalled, registry))
    registry.app.event("tokens_revoked")(partial(revoked, registry))
