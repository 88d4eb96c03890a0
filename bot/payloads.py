"""Does a request body have the shape Slack gives it?

Bolt trusts the shape of what it parses: a `block_actions` payload whose `actions` is a string
crashes its matchers with a 500. Slack never sends such a thing, so anything that is not
shaped like Slack's own payloads is refused with a 400 before it reaches a listener.
"""

from __future__ import annotations

from typing import Any


def is_well_formed(body: dict[str, Any]) -> bool:
    if not isinstance(body, dict) or not body:
        return False
    if "command" in body:  # a slash command, form-encoded
        return _strings(body, "command", "user_id", "team_id")
    kind = body.get("type")
    if kind == "url_verification":
        return isinstance(body.get("challenge"), str)
    if kind == "ssl_check":
        return True
    if kind == "event_callback":
        event = body.get("event")
        return _strings(body, "team_id") and isinstance(event, dict) and _strings(event, "type")
    if kind in ("app_rate_limited",):
        return True
    user = body.get("user")
    team = body.get("team")
    if not (isinstance(user, dict) and _strings(user, "id")):
        return False
    if team is not None and not (isinstance(team, dict) and _strings(team, "id")):
        return False
    if "view" in body and not _is_view(body["view"]):
        return False  # Bolt reads a view it is given, even to log a request nobody handles
    if kind == "block_actions":
        actions = body.get("actions")
        return (
            isinstance(actions, list)
            and bool(actions)
            and all(isinstance(a, dict) and _strings(a, "action_id") for a in actions)
        )
    if kind in ("view_submission", "view_closed"):
        return _is_view(body.get("view"))
    if kind == "block_suggestion":  # an external select asking for its options
        return _strings(body, "action_id", "value")
    if kind in ("shortcut", "message_action"):
        return _strings(body, "callback_id")
    return False


def _strings(mapping: dict[str, Any], *keys: str) -> bool:
    return all(isinstance(mapping.get(k), str) for k in keys)


def _is_view(view: Any) -> bool:
    # Bolt reads a view's type and callback_id before any listener runs.
    return isinstance(view, dict) and _strings(view, "id", "type", "callback_id")
