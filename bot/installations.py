"""Installing Cultivate in many workspaces: slack_sdk's OAuth store interfaces, backed by our
own tables (so every row is scoped by team and Alembic owns the schema), and a bot client per
team for work done outside a request."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation as SlackInstallation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.pacing import ChannelPacer
from bot.slack_client import SlackSession, make_client
from bot.tokens import TokenCipher
from storage.db import Database
from storage.models import Installation
from storage.repositories import departures, installations

log = logging.getLogger(__name__)

# The bot scopes Cultivate asks for when a workspace installs it. manifest.yml lists the same;
# tests/test_manifest.py fails if they differ.
BOT_SCOPES = (
    "commands",
    "chat:write",
    "users:read",
    "channels:read",
    "groups:read",
    "channels:join",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "channels:manage",
    "groups:write",
    "im:write",
    "mpim:write",
    "files:write",
    "canvases:write",
)


class DatabaseInstallationStore(AsyncInstallationStore):
    """Bot installations, one per team. Cultivate asks for no user tokens."""

    def __init__(self, database: Database, clock: Clock, cipher: TokenCipher) -> None:
        self.database = database
        self.clock = clock
        self.cipher = cipher  # tokens are stored encrypted, never in the clear

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: SlackInstallation) -> None:
        if not installation.team_id or not installation.bot_token:
            raise ValueError("only workspace installations with a bot token are supported")
        row = Installation(
            team_id=installation.team_id,
            team_name=installation.team_name,
            enterprise_id=installation.enterprise_id,
            app_id=installation.app_id,
            bot_token=self.cipher.encrypt(installation.bot_token),
            bot_id=installation.bot_id or "",
            bot_user_id=installation.bot_user_id or "",
            bot_scopes=",".join(installation.bot_scopes or []),
            installer_user_id=installation.user_id,
            installed_at=self.clock.now(),
        )
        async with self.database.session() as session:
            await installations.save_installation(session, installation=row)
            # Back within the retention period: nothing of the team is erased after all.
            kept = await departures.cancel_departure(session, team_id=installation.team_id)
        log.info("installed in team %s", installation.team_id)  # never the token
        if kept:
            log.info("team %s came back: its data is kept", installation.team_id)

    async def async_save_bot(self, bot: Bot) -> None:
        raise NotImplementedError("bots are saved with their installation")

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        installation = await self.async_find_installation(
            enterprise_id=enterprise_id, team_id=team_id
        )
        # One mapping from our row: the bot is the installation's bot part, as slack_sdk has it.
        return installation.to_bot() if installation is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> SlackInstallation | None:
        row = await self._row(team_id)
        if row is None:
            return None
        return SlackInstallation(
            app_id=row.app_id,
            enterprise_id=row.enterprise_id,
            team_id=row.team_id,
            team_name=row.team_name,
            bot_token=self.cipher.decrypt(row.bot_token),
            bot_id=row.bot_id,
            bot_user_id=row.bot_user_id,
            bot_scopes=row.bot_scopes,
            user_id=row.installer_user_id or "",
            installed_at=row.installed_at.timestamp(),
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._delete(team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self._delete(team_id)

    async def _row(self, team_id: str | None) -> Installation | None:
        if not team_id:
            return None
        async with self.database.session() as session:
            return await installations.installation_for_team(session, team_id=team_id)

    async def _delete(self, team_id: str | None) -> None:
        if team_id:
            async with self.database.session() as session:
                await installations.delete_installation(session, team_id=team_id)


class DatabaseOAuthStateStore(AsyncOAuthStateStore):
    def __init__(self, database: Database, *, expiration_seconds: int = 600) -> None:
        self.database = database
        self.expiration = timedelta(seconds=expiration_seconds)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        async with self.database.session() as session:
            # Real time, not the injected clock: the browser and Slack live in real time.
            await installations.add_state(
                session, state=state, expires_at=datetime.now(UTC) + self.expiration
            )
        return state

    async def async_consume(self, state: str) -> bool:
        async with self.database.session() as session:
            return await installations.consume_state(session, state=state, now=datetime.now(UTC))


class InstalledWorkspaces:
    """The bot's client for each team that installed the app (SlackClients for OAuth mode)."""

    def __init__(
        self,
        store: DatabaseInstallationStore,
        *,
        base_url: str,
        pacer: ChannelPacer,
        session: SlackSession,
        ca_file: str | None = None,
    ) -> None:
        self.store = store
        self.base_url = base_url
        self.ca_file = ca_file
        self.pacer = pacer  # shared: pacing is per channel, whichever team's client posts
        self.session = session  # shared too: every team's calls go to the same Slack

    async def for_team(self, team_id: str) -> AsyncWebClient | None:
        bot = await self.store.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None:
            return None
        return make_client(
            token=bot.bot_token,
            base_url=self.base_url,
            pacer=self.pacer,
            session=self.session,
            ca_file=self.ca_file,
        )
