"""Settings: every problem on one line naming the variable and the fix; exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import (
    SettingsError,
    has_slack_credentials,
    load_sandbox_settings,
    load_settings,
)
from fakeslack.tls import self_signed

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "secret"}
KEY = "0Hk0VJAR7G8KmDzVXBvdmvxQhbFMbl3AwHuK-WkzyQA="  # a Fernet key, for tests only
OAUTH = {"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c"}


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as raised:
        load_settings(env)
    return raised.value.problems


def test_defaults() -> None:
    settings = load_settings(GOOD)
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///cultivate.db"
    assert settings.port == 3000
    assert settings.scheduler_tick_seconds == 15
    assert settings.welcome_batch_seconds == 60
    assert settings.scheduler_lease_seconds == 20
    assert settings.scheduler_attempts == 5
    assert settings.log_level == "INFO"
    assert not settings.socket_mode


def test_govslack_url_gets_its_trailing_slash() -> None:
    settings = load_settings({**GOOD, "SLACK_API_URL": "https://slack-gov.com/api"})
    assert settings.slack_api_url == "https://slack-gov.com/api/"


def test_a_ca_file_is_trusted_for_slack_instead_of_the_systems(tmp_path: Path) -> None:
    certificate, _ = self_signed(tmp_path)
    settings = load_settings({**GOOD, "SLACK_CA_FILE": str(certificate)})
    assert settings.slack_ca_file == str(certificate)
    assert load_settings(GOOD).slack_ca_file is None


def test_heroku_postgres_url_is_accepted_as_given() -> None:
    url = "postgres://user:pw@db.example.com:5432/cultivate"
    assert load_settings({**GOOD, "DATABASE_URL": url}).database_url == url


def test_many_workspaces_install_with_client_id_and_secret_instead_of_a_token() -> None:
    settings = load_settings({**OAUTH, "TOKEN_ENCRYPTION_KEYS": KEY})
    assert settings.oauth and settings.slack_bot_token is None
    assert settings.token_encryption_keys == (KEY,)


def test_database_pool_size_has_a_default() -> None:
    assert load_settings(GOOD).database_pool_size == 10
    assert load_settings({**GOOD, "DATABASE_POOL_SIZE": "4"}).database_pool_size == 4


def test_retention_periods_have_defaults() -> None:
    settings = load_settings(GOOD)
    assert (settings.uninstall_retention_days, settings.activity_retention_days) == (30, 400)


def test_socket_mode_needs_no_signing_secret() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert settings.socket_mode


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({**GOOD, "SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({**GOOD, "SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
        ({**GOOD, "SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({**GOOD, "SLACK_CA_FILE": "/no/such/ca.pem"}, "SLACK_CA_FILE"),
        ({**GOOD, "SLACK_CA_FILE": __file__}, "SLACK_CA_FILE"),  # a file, but no certificate
        ({**GOOD, "DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({**GOOD, "DATABASE_POOL_SIZE": "0"}, "DATABASE_POOL_SIZE"),
        ({**GOOD, "SCHEDULER_IN_FLIGHT": "0"}, "SCHEDULER_IN_FLIGHT"),
        ({**GOOD, "SCHEDULER_IN_FLIGHT": "many"}, "SCHEDULER_IN_FLIGHT"),
        ({**GOOD, "PORT": "eighty"}, "PORT"),
        ({**GOOD, "PORT": "70000"}, "PORT"),
        ({**GOOD, "SCHEDULER_TICK_SECONDS": "0"}, "SCHEDULER_TICK_SECONDS"),
        ({**GOOD, "WELCOME_BATCH_SECONDS": "a minute"}, "WELCOME_BATCH_SECONDS"),
        ({**GOOD, "WELCOME_BATCH_SECONDS": "0"}, "WELCOME_BATCH_SECONDS"),
        ({**GOOD, "SCHEDULER_TICK_SECONDS": "nan"}, "SCHEDULER_TICK_SECONDS"),
        ({**GOOD, "SCHEDULER_LEASE_SECONDS": "-5"}, "SCHEDULER_LEASE_SECONDS"),
        ({**GOOD, "SCHEDULER_ATTEMPTS": "0"}, "SCHEDULER_ATTEMPTS"),
        ({**GOOD, "SCHEDULER_ATTEMPTS": "lots"}, "SCHEDULER_ATTEMPTS"),
        ({**GOOD, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({**GOOD, "CAPTURE_REMINDER_DAYS": "3,7,10"}, "CAPTURE_REMINDER_DAYS"),
        ({**GOOD, "CAPTURE_REMINDER_DAYS": "0"}, "CAPTURE_REMINDER_DAYS"),
        ({**GOOD, "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET"),
        ({"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_SECRET": "s"}, "SLACK_CLIENT_ID"),
        (OAUTH, "TOKEN_ENCRYPTION_KEYS"),
        ({**OAUTH, "TOKEN_ENCRYPTION_KEYS": f"{KEY},not-a-key"}, "TOKEN_ENCRYPTION_KEYS"),
        ({**GOOD, "UNINSTALL_RETENTION_DAYS": "a month"}, "UNINSTALL_RETENTION_DAYS"),
        ({**GOOD, "ACTIVITY_RETENTION_DAYS": "0"}, "ACTIVITY_RETENTION_DAYS"),
        ({**GOOD, "PUBLIC_URL": "cultivate.example.org"}, "PUBLIC_URL"),
        ({**GOOD, "PUBLIC_URL": "https://x.example.org/?a=1"}, "PUBLIC_URL"),
    ],
)
def test_each_bad_setting_is_named(env: dict[str, str], variable: str) -> None:
    found = problems(env)
    assert len(found) == 1
    assert found[0].startswith(f"{variable}: ")


def test_a_database_password_is_never_echoed() -> None:
    [line] = problems({**GOOD, "DATABASE_URL": "oracle://admin:hunter2@db/x"})
    assert "hunter2" not in line


def run_bot(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env |= {"PYTHONPATH": str(ROOT), **variables}
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_slack_credential_at_all_means_the_sandbox() -> None:
    assert not has_slack_credentials({"PORT": "3000", "SLACK_BOT_TOKEN": "  "})
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        assert has_slack_credentials({name: "anything"})
    settings = load_sandbox_settings({})
    assert settings.sandbox
    assert settings.database_url == "sqlite:///sandbox.db"
    assert settings.log_level == "WARNING"
    assert len(settings.slack_signing_secret or "") == 64
    assert not load_settings(GOOD).sandbox
    assert load_sandbox_settings({"DATABASE_URL": "postgres://h/db"}).database_url == (
        "postgres://h/db"
    )


def test_the_sandbox_names_its_own_bad_settings() -> None:
    with pytest.raises(SettingsError) as raised:
        load_sandbox_settings({"PORT": "x", "DATABASE_URL": "mysql://x/y"})
    assert [p.split(":")[0] for p in raised.value.problems] == ["DATABASE_URL", "PORT"]


def test_a_half_set_slack_setup_is_an_error_never_the_sandbox(tmp_path: Path) -> None:
    result = run_bot(tmp_path, SLACK_BOT_TOKEN="xoxb-real", PORT="1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "cultivate: SLACK_SIGNING_SECRET: not set; copy the Signing Secret from "
        "Basic Information > App Credentials into .env"
    ]
    assert result.stdout == ""
    assert not (tmp_path / "sandbox.db").exists()


def test_python_m_bot_prints_one_line_per_problem_and_exits_2(tmp_path: Path) -> None:
    result = run_bot(tmp_path, PORT="x", SLACK_BOT_TOKEN="xoxp-user")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[1].strip() for line in lines] == [
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "PORT",
    ]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_capture_reminders_default_to_days_three_and_seven() -> None:
    assert load_settings(GOOD).capture_reminder_days == (3, 7)
    assert load_settings({**GOOD, "CAPTURE_REMINDER_DAYS": "5"}).capture_reminder_days == (5,)
    assert load_settings({**GOOD, "CAPTURE_REMINDER_DAYS": "none"}).capture_reminder_days == ()
