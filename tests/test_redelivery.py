"""An event Slack delivers twice is handled once, whichever process receives the copy."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.housekeeping import housekeeping
from fakeslack import FakeSlack
from tests.conftest import ASHA, Cultivate


async def test_a_redelivered_event_is_acked_and_not_handled_again(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    event = {"type": "app_home_opened", "user": ASHA, "tab": "home"}
    first = await cultivate.event(event, event_id="Ev0001")
    again = await cultivate.event(
        event, event_id="Ev0001", retry_num=1, retry_reason="http_timeout"
    )
    assert (first.status, again.status) == (200, 200)
    await slack.wait_for("views.publish")
    await cultivate.event(event, event_id="Ev0002")  # a new event is handled
    await slack.wait_for("views.publish", count=2)
    assert len(slack.calls_to("views.publish")) == 2


async def test_event_ids_are_forgotten_after_a_day(
    cultivate: Cultivate, clock: ManualClock
) -> None:
    event = {"type": "app_home_opened", "user": ASHA, "tab": "home"}
    await cultivate.event(event, event_id="Ev0001")
    await cultivate.settled()  # the event is recorded as it is handled, after its ack
    # What the clock process's heartbeat runs.
    days = cultivate.app.settings.activity_retention_days
    assert (await housekeeping(cultivate.runtime, activity_days=days)).event_ids == 0
    clock.advance(timedelta(days=1, seconds=1))
    assert (await housekeeping(cultivate.runtime, activity_days=days)).event_ids == 1
