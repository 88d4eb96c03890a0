"""When a listener crashes: log it (never what was typed) and, where Slack lets us reply, tell
the person it did not work, so nobody is left waiting on a form that will never close or a
button that silently did nothing. `/cop` subcommands are caught by their router (handlers/cop.py).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs
from handlers.registry import Registry

WENT_WRONG = (
    "Sorry, something went wrong and that did not finish. It has been logged so it can be fixed."
)


async def on_error(
    error: Exception,
    body: dict[str, Any],
    response: BoltResponse | None,
    respond: AsyncRespond | None,
    client: AsyncWebClient,
    logger: logging.Logger,
) -> BoltResponse | None:
    """Any listener that raised: logged, and the person told where Slack lets us."""
    kind = body.get("type") or (body.get("event") or {}).get("type") or "request"
    if isinstance(error, SlackApiError):
        # Slack refused a call (a user who left, a channel archived): worth a line, not
        # a traceback.
        logger.warning("Slack refused a call in a %s listener: %s", kind, _slack_error(error))
    else:
        logs.crash(logger, f"a {kind} listener failed", error)
    if kind == "view_submission" and response is not None:
        return _keep_form_open(body.get("view") or {})
    if kind in ("block_actions", "shortcut", "message_action"):
        await _tell(body, respond, client, logger)
    return None


def register(registry: Registry) -> None:
    registry.app.error(on_error)


def _slack_error(error: SlackApiError) -> str:
    """What Slack said when it refused a call (its error code), for the log."""
    return str(error.response.get("error") or getattr(error.response, "status_code", "?"))


def _keep_form_open(view: dict[str, Any]) -> BoltResponse:
    """The submission was not saved and not yet answered: keep the form open with the error on
    its first field, rather than leave it spinning until Slack gives up. A form with no field
    is replaced by a short note."""
    inputs = [b for b in view.get("blocks") or [] if b.get("type") == "input" and b.get("block_id")]
    if inputs:
        answer: dict[str, Any] = {
            "response_action": "errors",
            "errors": {inputs[0]["block_id"]: WENT_WRONG},
        }
    else:
        answer = {
            "response_action": "update",
            "view": {
                "type": "modal",
                "title": view.get("title") or {"type": "plain_text", "text": "Cultivate"},
                "close": {"type": "plain_text", "text": "Close"},
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": WENT_WRONG}}],
            },
        }
    return BoltResponse(
        status=200,
        body=json.dumps(answer),
        headers={"content-type": "application/json;charset=utf-8"},
    )


async def _tell(
    body: dict[str, Any],
    respond: AsyncRespond | None,
    client: AsyncWebClient,
    logger: logging.Logger,
) -> None:
    """Only to the person who clicked: through the message's response_url, or else (a click in
    App Home or a modal) in their direct messages with the app."""
    user = (body.get("user") or {}).get("id")
    try:
        if respond is not None and body.get("response_url"):
            await respond(text=WENT_WRONG, response_type="ephemeral", replace_original=False)
        elif isinstance(user, str):
            await client.chat_postMessage(channel=user, text=WENT_WRONG)
    except Exception as telling:  # Slack is down too: the log has it
        logs.crash(logger, "could not tell the person that their click failed", telling)
