"""Log lines: JSON when asked, with context ids, and never a Slack token."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot import logs
from tests.conftest import BEN, Cultivate
from tests.steps import said, start_community


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure() replaces the root handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def capture(json_lines: bool) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logs.configure(logging.INFO, json_lines=json_lines)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    return logging.getLogger("cultivate.test"), stream


def test_json_lines_carry_the_context_ids() -> None:
    log, stream = capture(json_lines=True)
    token = logs.team_id.set("T1")
    try:
        log.info("sent %d reminders", 3)
    finally:
        logs.team_id.reset(token)
    entry = json.loads(stream.getvalue())
    assert (entry["message"], entry["team_id"], entry["level"]) == (
        "sent 3 reminders",
        "T1",
        "INFO",
    )
    assert "community_id" not in entry


def test_a_token_in_a_message_is_redacted() -> None:
    log, stream = capture(json_lines=False)
    log.warning("request failed with headers %s", {"Authorization": "Bearer xoxb-123-456-abc"})
    assert "xoxb-123" not in stream.getvalue()
    assert "(redacted)" in stream.getvalue()


async def test_no_message_text_is_logged_even_at_debug(cultivate: Cultivate) -> None:
    stream = io.StringIO()
    logs.configure(logging.DEBUG, json_lines=False)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    await start_community(cultivate, name="Quokka circle")
    await said(cultivate, BEN, "the zebra crossing is unsafe")
    await cultivate.settled()
    written = stream.getvalue()
    assert "DEBUG" in written  # debug lines were written…
    assert "Quokka" not in written and "zebra" not in written  # …but no one's words
