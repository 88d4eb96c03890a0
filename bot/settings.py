"""One settings object, read once from the environment (and `.env`, the real environment winning).

Every problem is collected before we give up, so a person fixing a deployment sees all of them
at once, each on one line naming the variable and the fix.

Two modes: connected to Slack (`load_settings`), or the sandbox, a local stand-in for Slack in a
browser page (`load_sandbox_settings`), chosen only when no Slack credential is set at all: a
half-filled `.env` is a mistake to name, never a reason to fall back.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import ssl
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlsplit

from bot.dispatch import DEFAULT_IN_FLIGHT
from storage.db import POOL_SIZE
from storage.urls import UnsupportedDatabaseURL, async_database_url

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///cultivate.db"
SANDBOX_DATABASE_URL = "sqlite:///sandbox.db"
# Any of these set means "connect to Slack"; the OAuth client id and secret count too.
SLACK_CREDENTIALS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
)
# The sandbox's bot token: its stand-in for Slack accepts any bot token, slack.com none.
SANDBOX_BOT_TOKEN = "xoxb-sandbox"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(Exception):
    """Raised with every problem found, one human-readable line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, kw_only=True)
class _Shared:
    """The settings both modes read the same way (`_common`)."""

    database_url: str
    # Connections each process keeps open to PostgreSQL (SQLite uses one).
    database_pool_size: int = POOL_SIZE
    port: int
    scheduler_tick_seconds: float
    scheduler_lease_seconds: float
    # Attempts at a scheduled send before it is marked failed and the coordinators are told.
    scheduler_attempts: int
    # At most this many scheduled sends in flight per process; Slack's per-channel limit is kept
    # by pacing each channel, so this bounds only the load on Slack and the database.
    scheduler_in_flight: int
    # Everyone who joins a community within this many seconds is greeted in one message.
    welcome_batch_seconds: int
    # Days into a closure's capture period when members who have not answered are reminded.
    capture_reminder_days: tuple[int, ...]
    log_level: str
    log_json: bool
    # A workspace that uninstalls is erased this many days later unless it comes back.
    uninstall_retention_days: int = 30
    # Each person's daily message counts are kept this long, then deleted.
    activity_retention_days: int = 400
    # Where people reach this app from outside (no trailing slash), for the calendar feeds'
    # addresses; None where unset (the sandbox's own address in the sandbox).
    public_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class Settings(_Shared):
    slack_bot_token: str | None  # None when installed through OAuth (many workspaces)
    slack_signing_secret: str | None
    slack_client_id: str | None
    slack_client_secret: str | None
    slack_app_token: str | None
    slack_api_url: str
    # A PEM file of the certificate authorities to trust for SLACK_API_URL instead of the
    # system's: a stand-in for Slack with a certificate of its own (the benchmarks').
    slack_ca_file: str | None = None
    # Fernet keys for the bot tokens stored in the database (OAuth mode): the first encrypts,
    # every one decrypts, so a new key goes first and an old one stays until `rotate-key` ran.
    token_encryption_keys: tuple[str, ...] = ()
    # The sandbox: Slack is a local stand-in whose Web API address is only known once it is
    # started (`slack_api_url` is then set with `dataclasses.replace`).
    sandbox: bool = False

    @property
    def oauth(self) -> bool:
        """Installed per workspace through /slack/install, rather than with one bot token."""
        return self.slack_client_id is not None

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]


def _getter(environ: Mapping[str, str]) -> Callable[[str], str | None]:
    def get(name: str) -> str | None:
        value = environ.get(name, "").strip()
        return value or None

    return get


def has_slack_credentials(environ: Mapping[str, str]) -> bool:
    """Whether any Slack credential is set: then the app connects to Slack, or says what is
    missing; with none at all, `python -m bot` opens the sandbox instead."""
    get = _getter(environ)
    return any(get(name) is not None for name in SLACK_CREDENTIALS)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build settings from `environ`, or raise SettingsError listing every problem."""
    problems: list[str] = []
    get = _getter(environ)

    app_token = get("SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        problems.append(
            "SLACK_APP_TOKEN: expected an app-level token starting with 'xapp-' "
            "(Basic Information > App-Level Tokens), or leave it unset to serve HTTP"
        )

    bot_token = get("SLACK_BOT_TOKEN")
    client_id, client_secret = get("SLACK_CLIENT_ID"), get("SLACK_CLIENT_SECRET")
    if (client_id is None) != (client_secret is None):
        missing = "SLACK_CLIENT_SECRET" if client_secret is None else "SLACK_CLIENT_ID"
        problems.append(
            f"{missing}: not set; installing in many workspaces needs both SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET (Basic Information > App Credentials)"
        )
    if client_id is not None and bot_token is not None:
        problems.append(
            "SLACK_BOT_TOKEN: set together with SLACK_CLIENT_ID; use the bot token for one "
            "workspace or the client id and secret for many, not both"
        )
    elif client_id is not None and app_token is not None:
        problems.append(
            "SLACK_APP_TOKEN: Socket Mode serves one workspace; unset it to install in many "
            "workspaces through /slack/install"
        )
    if bot_token is None and client_id is None and client_secret is None:
        problems.append(
            "SLACK_BOT_TOKEN: not set; copy the Bot User OAuth Token (xoxb-...) "
            "from OAuth & Permissions into .env"
        )
    elif bot_token is not None and not bot_token.startswith("xoxb-"):
        problems.append(
            "SLACK_BOT_TOKEN: expected a bot token starting with 'xoxb-' "
            "(OAuth & Permissions > Bot User OAuth Token)"
        )

    signing_secret = get("SLACK_SIGNING_SECRET")
    # Socket Mode receives requests over an authenticated socket, so nothing is signed.
    if signing_secret is None and app_token is None:
        problems.append(
            "SLACK_SIGNING_SECRET: not set; copy the Signing Secret from "
            "Basic Information > App Credentials into .env"
        )

    api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(
            f"SLACK_API_URL: {api_url!r} is not an http(s) URL; use {DEFAULT_SLACK_API_URL} "
            "(or https://slack-gov.com/api/ for GovSlack)"
        )
    elif not api_url.endswith("/"):
        api_url += "/"  # slack_sdk joins method names onto the base URL

    ca_file = get("SLACK_CA_FILE")
    if ca_file is not None:
        try:
            ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError):
            problems.append(
                f"SLACK_CA_FILE: {ca_file!r} is not a readable PEM file of certificates; give "
                "the certificate of the authority SLACK_API_URL's server uses, or leave it unset "
                "to trust the system's"
            )

    common = _common(get, problems, database=DEFAULT_DATABASE_URL, log_level="INFO", tick="15")
    keys = _fernet_keys(get("TOKEN_ENCRYPTION_KEYS"), problems)
    if client_id is not None and client_secret is not None and bot_token is None and not keys:
        problems.append(
            "TOKEN_ENCRYPTION_KEYS: not set; installing in many workspaces stores each one's bot "
            "token encrypted: make a key with python -m bot new-key and set it here"
        )

    if problems:
        raise SettingsError(problems)
    return Settings(
        slack_bot_token=bot_token,
        slack_signing_secret=signing_secret,
        slack_client_id=client_id,
        slack_client_secret=client_secret,
        slack_app_token=app_token,
        slack_api_url=api_url,
        slack_ca_file=ca_file,
        token_encryption_keys=keys,
        **asdict(common),
    )


def load_sandbox_settings(environ: Mapping[str, str]) -> Settings:
    """Settings for the sandbox: its own database file unless DATABASE_URL says otherwise, a
    signing secret made fresh for this run (the sandbox signs what its page sends with it, and
    the app verifies it as it would Slack's), and quiet logs unless LOG_LEVEL asks for more.
    Slack credentials in `environ` are not used."""
    problems: list[str] = []
    # A quick heartbeat, so what a feature schedules for "now" shows in the page at once.
    common = _common(
        _getter(environ), problems, database=SANDBOX_DATABASE_URL, log_level="WARNING", tick="2"
    )
    if problems:
        raise SettingsError(problems)
    if common.public_url is None:  # calendar addresses point at the sandbox's own page
        common = replace(common, public_url=f"http://127.0.0.1:{common.port}")
    return Settings(
        slack_bot_token=SANDBOX_BOT_TOKEN,
        slack_signing_secret=secrets.token_hex(32),
        slack_client_id=None,
        slack_client_secret=None,
        slack_app_token=None,
        slack_api_url="",  # the stand-in's address, set when it starts
        sandbox=True,
        **asdict(common),
    )


def _common(
    get: Callable[[str], str | None],
    problems: list[str],
    *,
    database: str,
    log_level: str,
    tick: str,
) -> _Shared:
    """The settings both modes share."""
    database_url = get("DATABASE_URL") or database
    try:
        async_database_url(database_url)
    except UnsupportedDatabaseURL as error:
        problems.append(f"DATABASE_URL: {error}")

    pool_size = _integer(
        get("DATABASE_POOL_SIZE") or str(POOL_SIZE), "DATABASE_POOL_SIZE", 1, 100, problems
    )
    port = _integer(get("PORT") or "3000", "PORT", 1, 65535, problems)
    seconds = _positive_number(
        get("SCHEDULER_TICK_SECONDS") or tick, "SCHEDULER_TICK_SECONDS", problems
    )
    lease = _positive_number(
        get("SCHEDULER_LEASE_SECONDS") or "20", "SCHEDULER_LEASE_SECONDS", problems
    )
    attempts = _integer(get("SCHEDULER_ATTEMPTS") or "5", "SCHEDULER_ATTEMPTS", 1, 20, problems)
    in_flight = _integer(
        get("SCHEDULER_IN_FLIGHT") or str(DEFAULT_IN_FLIGHT),
        "SCHEDULER_IN_FLIGHT",
        1,
        500,
        problems,
    )
    batch = _integer(
        get("WELCOME_BATCH_SECONDS") or "60", "WELCOME_BATCH_SECONDS", 1, 86400, problems
    )
    reminder_days = _days(get("CAPTURE_REMINDER_DAYS") or "3,7", "CAPTURE_REMINDER_DAYS", problems)

    uninstall_days = _integer(
        get("UNINSTALL_RETENTION_DAYS") or "30", "UNINSTALL_RETENTION_DAYS", 0, 3650, problems
    )
    activity_days = _integer(
        get("ACTIVITY_RETENTION_DAYS") or "400", "ACTIVITY_RETENTION_DAYS", 1, 3650, problems
    )

    public_url = _public_url(get("PUBLIC_URL"), problems)

    level = (get("LOG_LEVEL") or log_level).upper()
    if level not in LOG_LEVELS:
        problems.append(f"LOG_LEVEL: {level!r} is not one of {', '.join(LOG_LEVELS)}")
    log_format = (get("LOG_FORMAT") or "plain").lower()
    if log_format not in ("plain", "json"):
        problems.append(f"LOG_FORMAT: {log_format!r} is not plain or json")
    return _Shared(
        database_url=database_url,
        database_pool_size=pool_size,
        port=port,
        scheduler_tick_seconds=seconds,
        scheduler_lease_seconds=lease,
        scheduler_attempts=attempts,
        scheduler_in_flight=in_flight,
        welcome_batch_seconds=batch,
        capture_reminder_days=reminder_days,
        log_level=level,
        log_json=log_format == "json",
        uninstall_retention_days=uninstall_days,
        activity_retention_days=activity_days,
        public_url=public_url,
    )


def _public_url(raw: str | None, problems: list[str]) -> str | None:
    """The app's address from outside: http(s), a host, no query or fragment."""
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        problems.append(
            f"PUBLIC_URL: {raw!r} is not an http(s) address; give the address people reach "
            "Cultivate at, e.g. https://cultivate.example.org"
        )
        return None
    return raw.rstrip("/")


def _fernet_keys(raw: str | None, problems: list[str]) -> tuple[str, ...]:
    """Comma-separated Fernet keys (32 url-safe base64 bytes each), checked here so a mistyped
    key stops the start rather than the first install."""
    if raw is None:
        return ()
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    for number, key in enumerate(keys, start=1):
        try:
            valid = len(base64.urlsafe_b64decode(key.encode())) == 32
        except (ValueError, binascii.Error):
            valid = False
        if not valid:
            problems.append(
                f"TOKEN_ENCRYPTION_KEYS: key {number} is not a Fernet key (44 characters of "
                "url-safe base64); make one with python -m bot new-key"
            )
    return keys


def _days(raw: str, name: str, problems: list[str]) -> tuple[int, ...]:
    """At most two days, e.g. "3,7"; none ("none") turns reminders off."""
    if raw.strip().lower() == "none":
        return ()
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) > 2 or not all(p.isdigit() and 1 <= int(p) <= 90 for p in parts):
        problems.append(f"{name}: {raw!r} is not one or two days from 1 to 90, e.g. 3,7")
        return (3, 7)
    return tuple(sorted(int(p) for p in parts))


def _integer(raw: str, name: str, low: int, high: int, problems: list[str]) -> int:
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name}: {raw!r} is not a whole number; use one from {low} to {high}")
        return low
    if not low <= value <= high:
        problems.append(f"{name}: {value} is out of range; use one from {low} to {high}")
    return value


def _positive_number(raw: str, name: str, problems: list[str]) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        problems.append(f"{name}: {raw!r} is not a positive number of seconds, e.g. 15")
        return 1.0
    return value
