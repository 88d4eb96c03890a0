"""Logging: plain lines for a terminal, JSON lines (LOG_FORMAT=json) for a log service.

Every line carries the Slack team, the community and the request it belongs to, when known,
from context variables set where work starts (an incoming request, a scheduled send).
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime

team_id: ContextVar[str | None] = ContextVar("team_id", default=None)
community_id: ContextVar[int | None] = ContextVar("community_id", default=None)
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Slack tokens have these shapes; a line that somehow carries one is redacted before output.
TOKEN = re.compile(r"xox[abpre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")


def crash(logger: logging.Logger, what: str, error: BaseException) -> None:
    """Log a bug: where it happened (the exception's type and the frames it passed through),
    not its message, which may quote what a person typed or stored."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    logger.error("%s: %s\nTraceback (message left out):\n%s", what, type(error).__name__, frames)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.team_id = team_id.get()
        record.community_id = community_id.get()
        record.request_id = request_id.get()
        return True


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if TOKEN.search(message):
            record.msg, record.args = TOKEN.sub("xox…(redacted)", message), None
        return True


# Bolt's own debug lines that print a request's or response's body (so message text).
_BODY_LINES = ("Responding with status", "Received the following", "Sending a request")


# Our own loggers: module names, and "cultivate". Their lines name ids and counts, never text.
_OURS = ("cultivate", "bot", "handlers", "storage", "bench")


class NoMessageText(logging.Filter):
    """What people write is never logged, at any level. Libraries print whole bodies and
    query parameters at DEBUG (Slack's SDK a message's text, aiosqlite an INSERT's values),
    so only our own debug lines are written, and not Bolt's lines that print a body."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO:
            return True
        if record.name.split(".")[0].split(":")[0] not in _OURS:
            return False
        return not str(record.msg).startswith(_BODY_LINES)


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("team_id", "community_id", "request_id"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s%(where)s")

    def format(self, record: logging.LogRecord) -> str:
        where = [f"{k}={getattr(record, k)}" for k in ("team_id", "community_id", "request_id")]
        record.where = " [" + " ".join(w for w in where if not w.endswith("=None")) + "]"
        if record.where == " []":
            record.where = ""
        return super().format(record)


def configure(level: int, *, json_lines: bool) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactTokens())
    handler.addFilter(NoMessageText())
    handler.setFormatter(JSONFormatter() if json_lines else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # A heartbeat still running when the next tick comes is skipped on purpose (one at a time);
    # APScheduler warns about each skip, which would flood the log under load.
    logging.getLogger("apscheduler").setLevel(max(level, logging.ERROR))
