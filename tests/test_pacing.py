"""Posts to one channel are spaced a second apart; other channels are not held up."""

from __future__ import annotations

import asyncio

from bot.pacing import ChannelPacer, PacedWebClient
from fakeslack import FakeSlack


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))


async def test_concurrent_posts_to_one_channel_queue_one_interval_apart() -> None:
    time = FakeTime()
    pacer = ChannelPacer(1.0, monotonic=time.monotonic, sleep=time.sleep)
    await asyncio.gather(*(pacer.wait_turn("C1") for _ in range(3)), pacer.wait_turn("C2"))
    assert sorted(time.slept) == [1.0, 2.0]  # the first post to C1 and C2 go at once
    time.now += 5
    await pacer.wait_turn("C1")
    assert sorted(time.slept) == [1.0, 2.0]  # after a quiet spell, no wait


async def test_the_paced_client_paces_channel_posts_only(slack: FakeSlack) -> None:
    time = FakeTime()
    client = PacedWebClient(
        token="xoxb-test",
        base_url=slack.api_url,
        pacer=ChannelPacer(1.0, monotonic=time.monotonic, sleep=time.sleep),
    )
    await client.chat_postMessage(channel="C0HOUSING", text="one")
    await client.chat_postMessage(channel="C0HOUSING", text="two")
    await client.users_info(user="U0ASHA")
    assert time.slept == [1.0]
    assert [m["text"] for m in slack.messages("C0HOUSING")][-2:] == ["one", "two"]
