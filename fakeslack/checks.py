"""The refusals Slack would make, so bad payloads fail in tests instead of in production.

Two layers: slack_sdk's own model validation (``View``/``Block`` ``to_dict()``), plus the
limits Slack enforces server-side that slack_sdk does not check. Every function returns a
list of human-readable problems; an empty list means Slack would accept the payload.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_CHOICE_OPTIONS = 10  # radio_buttons and checkboxes
MAX_VIEW_TEXT = 24  # modal title, submit and close labels
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255

# Accepted by every method without being in its signature: `token` (slack_sdk moves it to
# the Authorization header, hand-made calls may send it as a field) and `team_id` (added
# to every call via WebClient's default_params; Bolt sets it, org-wide apps need it).
ALWAYS_ALLOWED_ARGS = frozenset({"token", "team_id"})

MESSAGE_METHODS = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage"}
)
VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})

# slack_sdk logs (rather than raises) on unknown block types and keys; silence that chatter
# because unknown block types are reported as problems below.
logging.getLogger("slack_sdk.models").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Refusal:
    """Why Slack would refuse a call: the error code it would answer with, and the details."""

    error: str
    problems: list[str]


# -- method and argument names ---------------------------------------------------------


@cache
def allowed_args(method: str) -> frozenset[str] | None:
    """Named parameters of the WebClient method for an API method; None if there is none."""
    function = getattr(WebClient, method.replace(".", "_"), None)
    if function is None or not callable(function) or method.startswith("_"):
        return None
    parameters = inspect.signature(function).parameters.values()
    named = {
        p.name
        for p in parameters
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }
    return frozenset(named)


def check_method(method: str, args: dict[str, Any]) -> list[str]:
    """The method must exist and every argument must be a named parameter of it.

    ``**kwargs`` is deliberately not treated as "anything goes": a typo like ``txt`` would
    otherwise be silently dropped by Slack and only noticed by a human.
    """
    allowed = allowed_args(method)
    if allowed is None:
        return [f"unknown method {method!r} (no WebClient.{method.replace('.', '_')})"]
    unknown = sorted(set(args) - allowed - ALWAYS_ALLOWED_ARGS)
    return [f"unknown argument {name!r} for {method}" for name in unknown]


# -- blocks ----------------------------------------------------------------------------


def _elements(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The interactive elements of a block: accessory, input element, actions elements."""
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            yield block[key]
    if block.get("type") in ("actions", "context_actions"):
        yield from (e for e in block.get("elements") or [] if isinstance(e, dict))


def check_blocks(blocks: Any, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """Validate a block list as a surface (message or view) would carry it."""
    if not isinstance(blocks, list):
        return [f"blocks must be a JSON array, got {type(blocks).__name__}"]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks; at most {max_blocks} are allowed here")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        if not isinstance(block, dict):
            problems.append(f"{where} is not an object")
            continue
        try:
            parsed = Block.parse(block)
            if parsed is None:
                problems.append(f"{where}: unknown block type {block.get('type')!r}")
            else:
                parsed.to_dict()
        except (SlackObjectFormationError, TypeError, ValueError, AttributeError, KeyError) as e:
            problems.append(f"{where} ({block.get('type')}): {e}")
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                problems.append(f"{where}: duplicate block_id {block_id!r}")
            block_ids.add(block_id)
        for element in _elements(block):
            action_id = element.get("action_id")
            if action_id is not None:
                if action_id in action_ids:
                    problems.append(f"{where}: duplicate action_id {action_id!r}")
                action_ids.add(action_id)
            if element.get("type") in ("radio_buttons", "checkboxes"):
                count = len(element.get("options") or [])
                if count > MAX_CHOICE_OPTIONS:
                    problems.append(
                        f"{where}: {element['type']} has {count} options; "
                        f"at most {MAX_CHOICE_OPTIONS} are allowed"
                    )
    return problems


def check_message(args: dict[str, Any]) -> list[str]:
    """Blocks of a message, plus the fallback text notifications and screen readers need."""
    if "blocks" not in args:
        return []
    problems = check_blocks(args["blocks"], MAX_MESSAGE_BLOCKS)
    text = args.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append("a message with blocks must also carry a non-empty fallback `text`")
    return problems


# -- views -----------------------------------------------------------------------------


def _label(view: dict[str, Any], key: str) -> str:
    value = view.get(key)
    if isinstance(value, dict):
        return str(value.get("text", ""))
    return "" if value is None else str(value)


def check_view(view: Any, expected_type: str | None = None) -> list[str]:
    """Validate a modal or Home tab view."""
    if not isinstance(view, dict):
        return [f"view must be a JSON object, got {type(view).__name__}"]
    problems: list[str] = []
    try:
        View(**view).to_dict()
    except (SlackObjectFormationError, TypeError, ValueError, AttributeError, KeyError) as e:
        problems.append(f"view: {e}")
    view_type = view.get("type")
    if expected_type is not None and view_type != expected_type:
        problems.append(f"view type must be {expected_type!r} here, got {view_type!r}")
    blocks = view.get("blocks")
    if blocks is None:
        problems.append("view must have `blocks`")
    else:
        problems.extend(f"view {p}" for p in check_blocks(blocks, MAX_VIEW_BLOCKS))
    # slack_sdk checks some of these too, but stops at its first failure; these name
    # every offending field at once.
    if view_type == "modal":
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and not view.get("submit"):
            problems.append("a modal with input blocks must have a `submit` button")
        if not _label(view, "title"):
            problems.append("a modal must have a `title`")
        for key in ("title", "submit", "close"):
            if len(_label(view, key)) > MAX_VIEW_TEXT:
                problems.append(f"modal `{key}` is longer than {MAX_VIEW_TEXT} characters")
    if len(str(view.get("private_metadata") or "")) > MAX_PRIVATE_METADATA:
        problems.append(f"`private_metadata` is longer than {MAX_PRIVATE_METADATA} characters")
    if len(str(view.get("callback_id") or "")) > MAX_CALLBACK_ID:
        problems.append(f"`callback_id` is longer than {MAX_CALLBACK_ID} characters")
    return problems


# -- everything a call must pass -------------------------------------------------------


def check_call(method: str, args: dict[str, Any]) -> Refusal | None:
    """Run every applicable check; the first failing layer decides Slack's error code."""
    problems = check_method(method, args)
    if problems:
        unknown_method = allowed_args(method) is None
        return Refusal("unknown_method" if unknown_method else "invalid_arguments", problems)
    if method in MESSAGE_METHODS:
        problems = check_message(args)
        if problems:
            return Refusal("invalid_blocks", problems)
    if method in VIEW_METHODS and "view" in args:
        # views.update may target a modal or a Home tab, so it accepts either type.
        expected = {"views.publish": "home", "views.update": None}.get(method, "modal")
        problems = check_view(args["view"], expected)
        if problems:
            return Refusal("invalid_arguments", problems)
    return None
