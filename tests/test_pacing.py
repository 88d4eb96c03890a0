"""Posts to one channel reach Slack at least a second apart; other channels are not held up."""

from __future__ import annotations

import asyncio
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.pacing import ChannelPacer, PacedWebClient
from fakeslack import FakeSlack


class FakeTime:
    """A monotonic timer that moves only when told to, or when a task sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


async def test_posts_to_one_channel_go_one_at_a_time_an_interval_after_each_answer() -> None:
    time = FakeTime()
    pacer = ChannelPacer(1.0, monotonic=time.monotonic, sleep=time.sleep)
    posts: list[tuple[str, float, float]] = []  # channel, sent, answered

    async def post(channel: str) -> None:
        async with pacer.turn(channel):
            sent = time.now
            await asyncio.sleep(0)  # another post may ask for its turn meanwhile
            time.now += 0.2  # Slack answers 200 ms later
            posts.append((channel, sent, time.now))

    await asyncio.gather(post("C1"), post("C1"), post("C2"), post("C1"))
    one = [(sent, answered) for channel, sent, answered in posts if channel == "C1"]
    assert len(one) == 3
    # Each C1 post went a second or more after the one before it was answered...
    assert all(later[0] - earlier[1] >= 1.0 for earlier, later in pairwise(one))
    # ...and C2 did not wait for C1.
    assert [sent for channel, sent, _ in posts if channel == "C2"] == [100.0]
    waits = len(time.slept)
    time.now += 5
    async with pacer.turn("C1"):
        pass
    assert len(time.slept) == waits  # after a quiet spell, no wait


@settings(max_examples=200, deadline=None)
@given(
    trips=st.lists(
        st.tuples(st.floats(0, 0.8), st.floats(0, 0.8)),  # (on its way, answer on its way back)
        min_size=2,
        max_size=12,
    )
)
def test_slack_sees_posts_to_a_channel_an_interval_apart_however_they_travel(
    trips: list[tuple[float, float]],
) -> None:
    """The gap Slack sees is what its limit counts. A post delayed on its way and the next one
    not delayed must still arrive a whole interval apart, or Slack answers 429."""
    time = FakeTime()
    pacer = ChannelPacer(1.0, monotonic=time.monotonic, sleep=time.sleep)
    arrived: list[float] = []

    async def post(on_its_way: float, back: float) -> None:
        async with pacer.turn("C1"):
            time.now += on_its_way
            arrived.append(time.now)
            time.now += back

    async def all_posts() -> None:
        await asyncio.gather(*(post(*trip) for trip in trips))

    asyncio.run(all_posts())
    gaps = [later - earlier for earlier, later in pairwise(arrived)]
    assert all(gap >= 1.0 - 1e-9 for gap in gaps), gaps


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


async def test_a_channel_remembered_only_while_it_matters() -> None:
    """A process posting to many channels keeps no memory of those gone quiet."""
    time = FakeTime()
    pacer = ChannelPacer(1.0, monotonic=time.monotonic, sleep=time.sleep)
    for n in range(10_000):
        async with pacer.turn(f"C{n}"):
            pass
    time.now += 2
    async with pacer.turn("C1"):  # remembered: no new channel yet
        pass
    async with pacer.turn("Cnew"):  # the first new channel past the bound forgets quiet ones
        pass
    assert set(pacer._channels) == {"C1", "Cnew"}  # C1 was posted to within its interval
    assert time.slept == []
