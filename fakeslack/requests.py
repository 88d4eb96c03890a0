"""Build the signed HTTP requests Slack sends *to* the app.

Each builder returns ``(body, headers)`` ready to POST to Bolt's request handler, shaped
like Slack's real payloads (https://docs.slack.dev/interactivity) and signed with the
app's signing secret, so the app's signature verification runs for real in tests.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from fakeslack.workspace import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    ResponseTarget,
    Workspace,
)

Headers = dict[str, str]
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# The deprecated verification token Slack still puts in payloads; Bolt ignores it.
VERIFICATION_TOKEN = "fakeslack-verification-token"

# Which key an input element's answer lives under in view.state.values.
_SINGLE_OPTION = {"static_select", "external_select", "radio_buttons"}
_MULTI_OPTION = {"checkboxes", "multi_static_select", "multi_external_select"}
_SELECTED_KEY = {
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}


def _input_elements(view: Mapping[str, Any] | None) -> dict[tuple[str, str], dict[str, Any]]:
    """(block_id, action_id) -> element, for every input block of a view."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for block in (view or {}).get("blocks") or []:
        element = block.get("element")
        if block.get("type") == "input" and isinstance(element, dict):
            found[(block.get("block_id", ""), element.get("action_id", ""))] = element
    return found


def _find_option(element: Mapping[str, Any], value: str) -> dict[str, Any]:
    """The option object Slack would echo back for a chosen value."""
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    for option in options:
        if option.get("value") == value:
            return copy.deepcopy(option)
    return {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}


def _state_value(element: Mapping[str, Any], answer: Any) -> dict[str, Any]:
    """One element's entry in state.values; ``answer`` None means left empty."""
    element_type = str(element.get("type", "plain_text_input"))
    if element_type in _SINGLE_OPTION:
        option = None if answer is None else _find_option(element, str(answer))
        return {"type": element_type, "selected_option": option}
    if element_type in _MULTI_OPTION:
        chosen = [_find_option(element, str(v)) for v in answer or []]
        return {"type": element_type, "selected_options": chosen}
    if element_type in _SELECTED_KEY:
        return {"type": element_type, _SELECTED_KEY[element_type]: answer}
    if element_type == "rich_text_input":
        rich = None
        if answer is not None:
            text = {"type": "text", "text": str(answer)}
            section = {"type": "rich_text_section", "elements": [text]}
            rich = {"type": "rich_text", "elements": [section]}
        return {"type": element_type, "rich_text_value": rich}
    if element_type == "number_input" and answer is not None:
        _check_number(element, str(answer))
    # plain_text_input, number_input, email_text_input, url_text_input: strings, like Slack.
    return {"type": element_type, "value": None if answer is None else str(answer)}


class NotSubmittable(ValueError):
    """Slack's client would not let a person submit this answer."""


def _check_number(element: Mapping[str, Any], answer: str) -> None:
    """Slack checks a number_input in the client: a number (whole unless decimals are
    allowed) within its min_value and max_value, or the form cannot be submitted. A forged
    submission can still carry anything: pass a complete value dict to send one."""
    try:
        number = float(answer) if element.get("is_decimal_allowed") else int(answer)
    except ValueError:
        raise NotSubmittable(f"{answer!r} is not a number Slack would submit") from None
    low, high = element.get("min_value"), element.get("max_value")
    if (low is not None and number < float(low)) or (high is not None and number > float(high)):
        raise NotSubmittable(f"{answer!r} is outside {low}..{high}")


_INITIAL_KEYS = (
    "initial_value",
    "initial_user",
    "initial_users",
    "initial_conversation",
    "initial_conversations",
    "initial_channel",
    "initial_channels",
    "initial_date",
    "initial_time",
    "initial_date_time",
)


def _initial(element: Mapping[str, Any]) -> Any:
    """What an untouched element submits: its initial value, in the answer's terms."""
    if element.get("initial_option"):
        return element["initial_option"].get("value")
    if element.get("initial_options"):
        return [o.get("value") for o in element["initial_options"]]
    return next((element[k] for k in _INITIAL_KEYS if k in element), None)


def element_action(element: Mapping[str, Any], block_id: str, answer: Any = None) -> dict[str, Any]:
    """The entry of a block_actions payload's ``actions`` for a person using ``element``:
    a button's text and value, or the option, person, date… chosen (``answer``, in the terms
    of :func:`state_values`)."""
    element_type = str(element.get("type", "button"))
    action: dict[str, Any] = {
        "type": element_type,
        "action_id": element.get("action_id", ""),
        "block_id": block_id,
    }
    if element_type == "button":
        action["text"] = copy.deepcopy(element.get("text"))
        for key in ("value", "style"):
            if key in element:
                action[key] = element[key]
    elif element_type == "overflow":
        action["selected_option"] = _find_option(element, str(answer))
    else:
        action |= _state_value(element, answer)
    return action


def state_values(
    answers: Mapping[str, Mapping[str, Any]], view: Mapping[str, Any] | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """Build ``view.state.values`` from ``{block_id: {action_id: answer}}``.

    An answer may be a complete value dict (has ``"type"``, used as is) or a plain value
    (a string, a list for multi-selects) shaped using the element found in ``view``.
    Like Slack, every input block of ``view`` appears; one the person did not touch holds
    its initial value (empty if it had none).
    """
    elements = _input_elements(view)
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for (block_id, action_id), element in elements.items():
        values.setdefault(block_id, {})[action_id] = _state_value(element, _initial(element))
    for block_id, actions in answers.items():
        for action_id, answer in actions.items():
            if isinstance(answer, Mapping) and "type" in answer:
                value = dict(answer)
            else:
                element = elements.get((block_id, action_id), {"type": "plain_text_input"})
                value = _state_value(element, answer)
            values.setdefault(block_id, {})[action_id] = value
    return values


class SlackRequests:
    """Signed requests from Slack to the app, for one workspace and signing secret."""

    def __init__(
        self,
        signing_secret: str,
        team_id: str = TEAM_ID,
        clock: Callable[[], float] = time.time,
        *,
        team_domain: str = TEAM_DOMAIN,
        api_app_id: str = APP_ID,
        workspace: Workspace | None = None,
        response_url_base: str = "https://hooks.slack.com/commands",
    ) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.team_id = team_id
        self.team_domain = team_domain
        self.api_app_id = api_app_id
        self.clock = clock
        self.workspace = workspace  # optional: real user/channel names in payloads
        self.response_url_base = response_url_base  # FakeSlack.response_url_base keeps it local
        self._counter = itertools.count(1)

    # -- signing -------------------------------------------------------------------------

    def sign(self, body: str, timestamp: int | None = None) -> Headers:
        """Slack's v0 request signature headers for this body."""
        stamp = str(int(self.clock()) if timestamp is None else timestamp)
        signature = self.verifier.generate_signature(timestamp=stamp, body=body)
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}

    def _signed(self, body: str, content_type: str) -> tuple[str, Headers]:
        return body, {"Content-Type": content_type, **self.sign(body)}

    def _payload(self, payload: dict[str, Any]) -> tuple[str, Headers]:
        return self._signed(urlencode({"payload": json.dumps(payload)}), FORM)

    # -- identity helpers ----------------------------------------------------------------

    def _n(self) -> int:
        return next(self._counter)

    def _unique(self) -> str:
        """A token unique in the workspace (several builders may share one), else per builder."""
        return self.workspace.next_id("R") if self.workspace else str(self._n())

    def trigger_id(self, user_id: str | None = None) -> str:
        """A fresh trigger id in Slack's "<n>.<n>.<hex>" shape, remembered as `user_id`'s."""
        token = self._unique()
        digest = hashlib.sha1(f"trigger-{token}".encode()).hexdigest()[:32]
        trigger = f"{1000000000 + self._n()}.{int(self.clock())}.{digest}"
        if self.workspace is not None and user_id is not None:
            with self.workspace.lock:
                self.workspace.triggers[trigger] = user_id
        return trigger

    def response_url(
        self,
        channel_id: str | None = None,
        user_id: str | None = None,
        *,
        message_ts: str | None = None,
        ephemeral: bool = False,
    ) -> str:
        """A response_url; with a workspace, one that knows where its messages belong."""
        token = self._unique()
        if self.workspace is not None and channel_id and user_id:
            with self.workspace.lock:
                self.workspace.response_targets[token] = ResponseTarget(
                    channel_id, user_id, message_ts, ephemeral
                )
        return f"{self.response_url_base}/{self.team_id}/{token}/fakeslack"

    def _user_name(self, user_id: str) -> str:
        person = self.workspace.person(user_id) if self.workspace else None
        return person.name if person else user_id.lower()

    def _channel_name(self, channel_id: str) -> str:
        channel = self.workspace.channel(channel_id) if self.workspace else None
        if channel is None:
            return channel_id.lower()
        return "directmessage" if channel.is_im else channel.name

    def _team(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": self.team_domain}

    def _user(self, user_id: str) -> dict[str, Any]:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _interaction(self, kind: str, user_id: str, trigger_id: str | None) -> dict[str, Any]:
        return {
            "type": kind,
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": trigger_id or self.trigger_id(user_id),
            "enterprise": None,
            "is_enterprise_install": False,
        }

    # -- requests ------------------------------------------------------------------------

    def slash_command(
        self,
        command: str = "/cop",
        text: str = "",
        user_id: str = "U0ASHA",
        channel_id: str = "C0HOUSING",
        trigger_id: str | None = None,
    ) -> tuple[str, Headers]:
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": self._user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self.response_url(channel_id, user_id),
            "trigger_id": trigger_id or self.trigger_id(user_id),
        }
        return self._signed(urlencode(fields), FORM)

    def view_submission(
        self,
        view: Mapping[str, Any],
        user_id: str = "U0ASHA",
        values: Mapping[str, Mapping[str, Any]] | None = None,
        trigger_id: str | None = None,
    ) -> tuple[str, Headers]:
        """``view`` as the app opened it (e.g. from ``fake.views``); ``values`` as for
        :func:`state_values`."""
        view_id = view.get("id") or f"V{self._n():07d}"
        submitted = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "hash": f"{int(self.clock())}.fakeslack",
            "title": None,
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.api_app_id,
            "external_id": "",
            "app_installed_team_id": self.team_id,
            "bot_id": BOT_ID,
            **copy.deepcopy(dict(view)),
            "state": {"values": state_values(values or {}, view)},
        }
        payload = self._interaction("view_submission", user_id, trigger_id)
        payload |= {"view": submitted, "response_urls": []}
        return self._payload(payload)

    def block_actions(
        self,
        user_id: str,
        actions: Iterable[Mapping[str, Any]],
        channel_id: str | None = None,
        message: Mapping[str, Any] | None = None,
        view: Mapping[str, Any] | None = None,
        trigger_id: str | None = None,
        *,
        ephemeral: bool = False,
    ) -> tuple[str, Headers]:
        """A button click/select in a message (pass ``channel_id`` + ``message``, and
        ``ephemeral`` for one only its reader sees) or a view."""
        action_ts = f"{self.clock():.6f}"
        payload = self._interaction("block_actions", user_id, trigger_id)
        payload["actions"] = [{"action_ts": action_ts, **a} for a in actions]
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = copy.deepcopy(dict(view))
        elif message is not None:
            payload["container"] = {
                "type": "message",
                "message_ts": message.get("ts"),
                "channel_id": channel_id,
                "is_ephemeral": ephemeral,
            }
            payload["message"] = copy.deepcopy(dict(message))
            payload["state"] = {"values": {}}
            payload["response_url"] = self.response_url(
                channel_id, user_id, message_ts=message.get("ts"), ephemeral=ephemeral
            )
        if channel_id is not None:
            payload["channel"] = {"id": channel_id, "name": self._channel_name(channel_id)}
        return self._payload(payload)

    def message_action(
        self,
        user_id: str,
        channel_id: str,
        message: Mapping[str, Any],
        callback_id: str,
        trigger_id: str | None = None,
    ) -> tuple[str, Headers]:
        """A message shortcut chosen from a message's menu (``message`` as Slack has it)."""
        payload = self._interaction("message_action", user_id, trigger_id)
        payload |= {
            "callback_id": callback_id,
            "action_ts": f"{self.clock():.6f}",
            "message_ts": message.get("ts"),
            "message": copy.deepcopy(dict(message)),
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
            "response_url": self.response_url(channel_id, user_id),
        }
        return self._payload(payload)

    def block_suggestion(
        self,
        view: Mapping[str, Any],
        user_id: str,
        *,
        block_id: str,
        action_id: str,
        value: str,
    ) -> tuple[str, Headers]:
        """What Slack sends while a person types into an external_select in ``view``: the app
        answers with the options to show."""
        elements = _input_elements(view)
        element = elements.get((block_id, action_id))
        if element is None or element.get("type") not in (
            "external_select",
            "multi_external_select",
        ):
            raise ValueError(f"{block_id}/{action_id} is not an external select in this view")
        if len(value) < int(element.get("min_query_length", 3)):
            raise ValueError("Slack asks only once min_query_length characters are typed")
        payload = {
            "type": "block_suggestion",
            "user": self._user(user_id),
            "container": {"type": "view", "view_id": view.get("id")},
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": copy.deepcopy(dict(view)),
        }
        return self._payload(payload)

    def view_closed(
        self, view: Mapping[str, Any], user_id: str, *, is_cleared: bool = False
    ) -> tuple[str, Headers]:
        """Sent when a person closes a modal the app opened with ``notify_on_close``."""
        payload = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
            "view": copy.deepcopy(dict(view)),
            "is_cleared": is_cleared,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._payload(payload)

    def event_callback(
        self,
        event: Mapping[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> tuple[str, Headers]:
        """An Events API delivery; ``retry_num`` marks it as Slack's redelivery."""
        now = self.clock()
        body = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": {"event_ts": f"{now:.6f}", **event},
            "type": "event_callback",
            "event_id": event_id or f"Ev{self._n():09d}",
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        text, headers = self._signed(json.dumps(body), JSON)
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        return text, headers

    def url_verification(self, challenge: str) -> tuple[str, Headers]:
        body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self._signed(json.dumps(body), JSON)
