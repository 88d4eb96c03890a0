"""manifest.yml is valid for Slack and declares exactly what the app listens for and calls."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.dispatch import Senders
from bot.installations import BOT_SCOPES
from bot.runtime import Runtime
from bot.settings import load_settings
from handlers import wire_features
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(__file__).parent / "data" / "slack" / "manifest.schema.1.0.0.json"

# The bot scope each Web API method needs (https://docs.slack.dev/reference/methods).
# A method missing here fails the test: add it with its scope, and the scope to manifest.yml.
METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "chat.postMessage": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.delete": {"chat:write"},
    # A message's link, kept with it in the community's library: Slack asks no scope for it.
    "chat.getPermalink": set(),
    "conversations.info": {"channels:read", "groups:read"},
    "conversations.join": {"channels:join"},
    "conversations.members": {"channels:read", "groups:read"},
    "conversations.list": {"channels:read", "groups:read"},
    # im:write for a DM, mpim:write for a group DM (pairing a newcomer with a member).
    "conversations.open": {"im:write", "mpim:write"},
    "conversations.invite": {"channels:manage", "groups:write"},
    "conversations.create": {"channels:manage", "groups:write"},
    "conversations.archive": {"channels:manage", "groups:write"},
    "conversations.canvases.create": {"canvases:write"},
    # A scheduled row's retry looks for its earlier post in channels and DMs alike (bot/once.py).
    "conversations.history": {"channels:history", "groups:history", "im:history", "mpim:history"},
    "conversations.replies": {"channels:history", "groups:history", "im:history", "mpim:history"},
    "canvases.edit": {"canvases:write"},
    "canvases.create": {"canvases:write"},
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
    # slack_sdk's files_upload_v2 helper calls the two methods above.
    "files.uploadV2": {"files:write"},
    "users.info": {"users:read"},
    "users.list": {"users:read"},
    "views.open": set(),
    "views.push": set(),
    "views.update": set(),
    "views.publish": set(),
}
# slack_sdk helpers that are not one Web API method, and the name METHOD_SCOPES knows them by.
CLIENT_HELPERS = {"files_upload_v2": "files.uploadV2"}
# Scopes that no Web API call needs but a feature does.
FEATURE_SCOPES = {"commands"}
# The bot scope each subscribed event needs (https://docs.slack.dev/reference/events).
EVENT_SCOPES: dict[str, set[str]] = {
    "app_home_opened": set(),
    "app_uninstalled": set(),
    "tokens_revoked": set(),
    "member_joined_channel": {"channels:read", "groups:read"},
    "member_left_channel": {"channels:read", "groups:read"},
    "channel_rename": {"channels:read"},
    "group_rename": {"groups:read"},
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "message.im": {"im:history"},
    "message.mpim": {"mpim:history"},
    "channel_deleted": {"channels:read"},
    "channel_archive": {"channels:read"},
    "group_deleted": {"groups:read"},
    "group_archive": {"groups:read"},
    "user_change": {"users:read"},
}


def event_type(subscription: str) -> str:
    """The `type` of the events a subscription delivers. Slack subscribes to messages per kind
    of conversation (`message.channels`, `message.groups`…) but delivers them all as `message`
    events, which is what Bolt listeners match; every other subscription is its own type."""
    return subscription.partition(".")[0]


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


class RecordingApp:
    """Stands in for AsyncApp to record what each feature registers."""

    def __init__(self) -> None:
        self.registered: dict[str, list[Any]] = {}

    def __getattr__(self, kind: str) -> Callable[..., Callable[[Any], Any]]:
        def register(*args: Any, **_: Any) -> Callable[[Any], Any]:
            self.registered.setdefault(kind, []).append(args[0] if args else None)
            return lambda listener: listener

        return register


@pytest.fixture(scope="module")
def registered() -> tuple[dict[str, list[Any]], list[str]]:
    app = RecordingApp()
    runtime = Runtime(database=Database("sqlite://"))
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "test"})
    cop = wire_features(app, runtime, Senders(), settings).cop  # type: ignore[arg-type]
    return app.registered, cop.names


def test_manifest_is_valid_for_slack(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(manifest)


def test_manifest_declares_exactly_the_commands_and_events_the_app_listens_for(
    manifest: dict[str, Any], registered: tuple[dict[str, list[Any]], list[str]]
) -> None:
    listeners, subcommands = registered
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert sorted(commands) == sorted(listeners.get("command", []))
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    # `app.message(...)` listens for `message` events too.
    # A listener may match on more than the type (`{"type": "message", "subtype": …}`).
    listened = {e["type"] if isinstance(e, dict) else e for e in listeners.get("event", [])} | (
        {"message"} if listeners.get("message") else set()
    )
    assert {event_type(e) for e in events} == listened
    if listeners.get("action") or listeners.get("view"):
        assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] == (
        "app_home_opened" in listeners.get("event", [])
    )
    # Shortcuts (in a message's menu) are declared with the callback ids the app listens for.
    shortcuts = [s["callback_id"] for s in manifest["features"].get("shortcuts", [])]
    assert sorted(shortcuts) == sorted(listeners.get("message_shortcut", []))
    if shortcuts:
        assert "commands" in manifest["oauth_config"]["scopes"]["bot"]
    hint = manifest["features"]["slash_commands"][0]["usage_hint"]
    assert sorted(hint.replace(" ", "").split("|")) == sorted(subcommands)


def web_api_methods() -> set[str]:
    """Every Web API method the app's code calls through a client."""
    found = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]:
        if "fakeslack" in path.parts:
            continue
        for name in re.findall(r"client\.([a-z]+_[A-Za-z_0-9]+)\(", path.read_text()):
            if name in CLIENT_HELPERS:
                found.add(CLIENT_HELPERS[name])
                continue
            family, _, method = name.partition("_")
            found.add(f"{family}.{method.replace('_', '.')}")
    found.add("auth.test")  # Bolt calls it to authorise each request
    return found


def test_manifest_asks_for_exactly_the_scopes_the_code_needs(manifest: dict[str, Any]) -> None:
    methods = web_api_methods()
    unknown = methods - METHOD_SCOPES.keys()
    assert not unknown, f"add these methods and their scopes to METHOD_SCOPES: {unknown}"
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    unknown_events = set(events) - EVENT_SCOPES.keys()
    assert not unknown_events, (
        f"add these events and their scopes to EVENT_SCOPES: {unknown_events}"
    )
    needed = set().union(*(METHOD_SCOPES[m] for m in methods), *(EVENT_SCOPES[e] for e in events))
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed | FEATURE_SCOPES
    # What a workspace is asked for when it installs through OAuth is the same list.
    assert sorted(BOT_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])
