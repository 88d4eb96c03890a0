"""When a workspace uninstalls the app or revokes its bot token."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncBoltContext

from bot.services.workspaces import forget_workspace
from handlers.registry import Registry


def register(registry: Registry) -> None:
    app, runtime = registry.app, registry.runtime
    days = registry.settings.uninstall_retention_days

    @app.event("app_uninstalled")
    async def uninstalled(context: AsyncBoltContext) -> None:
        await forget_workspace(
            runtime.database, runtime.clock, team_id=context.team_id or "", retention_days=days
        )

    @app.event("tokens_revoked")
    async def revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        # Revoked user tokens do not concern us: Cultivate only ever holds a bot token.
        tokens = event.get("tokens")
        if isinstance(tokens, dict) and tokens.get("bot"):
            await forget_workspace(
                runtime.database, runtime.clock, team_id=context.team_id or "", retention_days=days
            )
