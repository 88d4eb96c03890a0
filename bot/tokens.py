"""Bot tokens at rest: encrypted with Fernet (AES-128-CBC with an HMAC-SHA256 tag), keys from
TOKEN_ENCRYPTION_KEYS. The first key encrypts; every key decrypts, so a key is rotated by
putting a new one first, running `python -m bot rotate-key`, then dropping the old one.

cryptography is imported when a cipher is made: only OAuth mode stores tokens, and loading it
costs every other process about 7 MiB resident (bench/memory.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from storage.db import Database
from storage.repositories import installations


class TokenKeyError(Exception):
    """A stored token none of the configured keys opens: a key was dropped too soon."""


class TokenCipher:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        from cryptography.fernet import Fernet, MultiFernet

        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if is_plaintext(stored):
            return stored  # stored before encryption came in; sealed at the next start
        return self._open(self._fernet.decrypt, stored)

    def rotate(self, stored: str) -> str:
        """The same token, encrypted with the first key."""
        if is_plaintext(stored):
            return self.encrypt(stored)
        return self._open(self._fernet.rotate, stored)

    @staticmethod
    def _open(step: Callable[[bytes], bytes], stored: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return step(stored.encode()).decode()
        except InvalidToken:
            raise TokenKeyError(
                "a stored bot token opens with none of TOKEN_ENCRYPTION_KEYS; put back the key "
                "it was encrypted with (after the new one) and run python -m bot rotate-key"
            ) from None


def is_plaintext(stored: str) -> bool:
    """A Slack token in the clear (every Slack token starts "xox"); a Fernet token never does."""
    return stored.startswith("xox")


def new_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


async def rotate_keys(
    database: Database, cipher: TokenCipher, *, plaintext_only: bool = False
) -> int:
    """Re-encrypt every stored token with the first key, in one unit of work: a token that
    no key opens changes nothing. With `plaintext_only`, only encrypt tokens stored before
    encryption came in (what every start does). Returns how many were written."""
    async with database.session() as session:
        rows = await installations.all_installations(session)
        if plaintext_only:
            rows = [row for row in rows if is_plaintext(row.bot_token)]
        for row in rows:
            row.bot_token = cipher.rotate(row.bot_token)
            session.add(row)
        await session.flush()
        return len(rows)
