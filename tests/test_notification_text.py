"""A community's name is typed by a person: in a notification's fallback `text` (what a
phone's banner shows) it is escaped for mrkdwn like everywhere else, so it never pings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.clock import ManualClock
from fakeslack import FakeSlack
from tests.conftest import BEN, Cultivate
from tests.steps import joined, start_community

NAME = "Housing <!here> & co"


async def test_a_community_name_is_escaped_in_every_notification_text(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, name=NAME, timezone="UTC")
    await joined(cultivate, BEN)
    await cultivate.settled()
    await cultivate.tick()  # the welcome DM
    for command in ("status", "health", "invite"):
        await cultivate.command(command)
    view = await cultivate.opened_view("invitation_form")
    await cultivate.submit(view, {"channel": {"channel": "C0DATA"}})
    await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == "C0DATA")
    clock.set(datetime(2027, 3, 2, 9, tzinfo=UTC))  # the digest and the perspective prompt
    await cultivate.tick()
    await cultivate.settled()

    texts = [
        str(c.args.get("text") or "")
        for c in slack.calls
        if c.method in ("chat.postMessage", "chat.postEphemeral", "response_url")
    ]
    mentioning = [t for t in texts if "Housing" in t]
    assert len(mentioning) >= 6, mentioning
    for text in mentioning:
        assert "<!here>" not in text, text
        assert "Housing &lt;!here&gt; &amp; co" in text, text
    # In blocks too, wherever the text is mrkdwn (plain_text and alt text show it as typed).
    for call in slack.calls:
        for text in mrkdwn_in(call.args):
            assert "<!here>" not in text, (call.method, text)


def mrkdwn_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [str(value["text"])] if value.get("type") == "mrkdwn" else []
        return found + [t for v in value.values() for t in mrkdwn_in(v)]
    if isinstance(value, list):
        return [t for v in value for t in mrkdwn_in(v)]
    return []
