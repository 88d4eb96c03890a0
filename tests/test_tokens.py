"""Bot tokens at rest: encrypted in the database, readable with any configured key, and
re-encrypted with the newest by `python -m bot rotate-key`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlmodel import select

from bot.app import create_app
from bot.clock import ManualClock
from bot.installations import InstalledWorkspaces
from bot.pacing import ChannelPacer
from bot.runtime import Runtime
from bot.settings import load_settings
from bot.tokens import TokenCipher, TokenKeyError, rotate_keys
from fakeslack import FakeSlack
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Installation
from tests.conftest import SIGNING_SECRET
from tests.installs import KEY, SECOND, TOKEN, Installable, installable_app  # noqa: F401 (a fixture)
from tests.steps import an_installation, run_main

THIRD = "T0THIRD"
NEW_KEY = "yjM8yVJxLqv2pX0bzNHIVH2yvZJpFfKDaYm7qOe1W9c="  # another Fernet key, for tests only


def oauth_settings(slack: FakeSlack, database_url: str, keys: str):  # type: ignore[no-untyped-def]
    return load_settings(
        {
            "SLACK_CLIENT_ID": "fake-client-id",
            "SLACK_CLIENT_SECRET": "fake-client-secret",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database_url,
            "TOKEN_ENCRYPTION_KEYS": keys,
        }
    )


async def stored_tokens(database: Database) -> list[str]:
    """The token column as the database holds it, read past the models."""
    async with database.engine.connect() as connection:
        rows = await connection.execute(text("SELECT bot_token FROM installations ORDER BY id"))
        return [str(r[0]) for r in rows]


async def token_for(
    slack: FakeSlack, database_url: str, runtime: Runtime, keys: str, team_id: str
) -> str | None:
    app = create_app(oauth_settings(slack, database_url, keys), runtime, pacer=ChannelPacer(0))
    assert isinstance(app.clients, InstalledWorkspaces)
    client = await app.clients.for_team(team_id)
    return client.token if client is not None else None


async def test_a_stored_token_is_encrypted_and_rotating_keys_keeps_every_install_working(
    installable: tuple[Installable, Runtime],
    slack: FakeSlack,
    database_url: str,
) -> None:
    app, runtime = installable
    assert await app.install(SECOND, "code-1") == 200
    assert await app.install(THIRD, "code-2") == 200
    third_token = f"xoxb-{THIRD.lower()}-fake-token"

    before = await stored_tokens(runtime.database)
    assert len(before) == 2
    for stored in before:
        assert "xoxb" not in stored and TOKEN not in stored and third_token not in stored
    async with runtime.database.session() as session:
        rows = (await session.exec(select(Installation))).all()
    assert all("xox" not in str(row.model_dump()) for row in rows)

    # A new key goes first; the old one stays until every token is re-encrypted.
    both = TokenCipher([NEW_KEY, KEY])
    assert await rotate_keys(runtime.database, both) == 2
    after = await stored_tokens(runtime.database)
    assert after != before
    with pytest.raises(TokenKeyError):
        TokenCipher([KEY]).decrypt(after[0])  # the old key alone opens nothing now

    # With only the new key configured, every workspace is served with its own token.
    assert await token_for(slack, database_url, runtime, NEW_KEY, SECOND) == TOKEN
    assert await token_for(slack, database_url, runtime, NEW_KEY, THIRD) == third_token


async def test_a_token_stored_before_encryption_is_sealed_and_still_works(
    database: Database, clock: ManualClock
) -> None:
    async with database.session() as session:
        session.add(an_installation(SECOND, TOKEN))
    cipher = TokenCipher([KEY])
    assert cipher.decrypt(TOKEN) == TOKEN  # still usable before the start seals it
    assert await rotate_keys(database, cipher, plaintext_only=True) == 1
    [stored] = await stored_tokens(database)
    assert TOKEN not in stored and cipher.decrypt(stored) == TOKEN
    assert await rotate_keys(database, cipher, plaintext_only=True) == 0


def test_rotate_key_on_the_command_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'cultivate.db'}")

    async def installed() -> None:
        await upgrade(database)
        async with database.session() as session:
            session.add(an_installation(SECOND, TokenCipher([KEY]).encrypt(TOKEN)))
        await database.dispose()

    asyncio.run(installed())
    keys = f"{NEW_KEY},{KEY}"
    assert run_main(monkeypatch, tmp_path, "rotate-key", TOKEN_ENCRYPTION_KEYS=keys) == 0
    out = capsys.readouterr()
    assert out.out.strip().splitlines() == [
        "re-encrypted 1 bot tokens with the first key of TOKEN_ENCRYPTION_KEYS"
    ]
    [stored] = asyncio.run(stored_tokens(database))
    assert TokenCipher([NEW_KEY]).decrypt(stored) == TOKEN

    # Only the old key: the stored token opens with none of them; one line says what to do.
    assert run_main(monkeypatch, tmp_path, "rotate-key", TOKEN_ENCRYPTION_KEYS=KEY) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("cultivate: rotate-key: ") and "TOKEN_ENCRYPTION_KEYS" in line


def test_oauth_without_a_key_stops_at_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(monkeypatch, tmp_path, "web", TOKEN_ENCRYPTION_KEYS="") == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("cultivate: TOKEN_ENCRYPTION_KEYS: not set")


def test_new_key_prints_a_fernet_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(monkeypatch, tmp_path, "new-key") == 0
    Fernet(capsys.readouterr().out.strip().encode())
