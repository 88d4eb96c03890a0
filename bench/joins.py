"""500 people join a community's channel within 10 seconds: how fast each event is acked, and
how long until everyone has their welcome, with the fake Slack limiting each channel to one
message a second (429 with Retry-After beyond that) and answering after 50 ms.

A web process takes the events; a clock process sends the welcomes. Both are real processes.

    python -m bench.joins [--people 500] [--seconds 10] [--database-url postgresql://...] [--http]
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from bench.common import migrated, options, scheme
from fakeslack import FakeSlack
from sandbox.processes import percentile

CHANNEL = "C0HOUSING"


async def main(people: int, seconds: float, database_url: str | None, http: bool) -> None:
    async with migrated(database_url, http=http, SCHEDULER_TICK_SECONDS="1") as bench:
        slack = bench.slack
        web = bench.start(["bot", "web"])
        clock = bench.start(["bot", "clock"])
        requests = bench.requests()
        newcomers = slack.workspace.add_people(people)
        try:
            await web.healthy()
            await clock.healthy()
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as http:

                async def send(request: tuple[str, dict[str, str]]) -> float:
                    body, headers = request
                    started = time.perf_counter()
                    async with http.post(
                        f"{web.url}/slack/events", data=body, headers=headers
                    ) as r:
                        await r.read()
                        if r.status != 200:
                            raise RuntimeError(f"HTTP {r.status}")
                    return (time.perf_counter() - started) * 1000

                # The community, started as a person would.
                await send(requests.slash_command(text="start", channel_id=CHANNEL))
                [opened] = await slack.wait_for("views.open")
                await send(
                    requests.view_submission(
                        slack.views[opened.response["view"]["id"]],
                        values={"name": {"name": "Housing"}},
                    )
                )
                slack.latency = 0.05
                slack.rate_limit_per_channel(1.0)

                began = time.perf_counter()
                tasks = []
                for n, person in enumerate(newcomers):
                    # Spread evenly over the window, as a burst of real joins would arrive.
                    delay = began + n * seconds / people - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    event = {
                        "type": "member_joined_channel",
                        "user": person,
                        "channel": CHANNEL,
                        "channel_type": "C",
                        "team": requests.team_id,
                    }
                    tasks.append(asyncio.create_task(send(requests.event_callback(event))))
                acks = await asyncio.gather(*tasks)
                posted = time.perf_counter() - began

                welcomed: set[str] = set()
                while len(welcomed) < people and time.perf_counter() - began < 600:
                    welcomed = {p for p in newcomers if _has_dm(slack, p)}
                    await asyncio.sleep(0.5)
                done = time.perf_counter() - began
                greetings = [
                    c
                    for c in slack.calls_to("chat.postMessage")
                    if c.ok and c.args.get("channel") == CHANNEL
                ]
                limited = sum(1 for c in slack.calls_to("chat.postMessage") if c.status == 429)
        finally:
            web.stop()
            clock.stop()
        slack.problems.clear()
        print(
            f"{people} joins posted over {posted:.1f}s to one web process; one clock process; "
            f"Slack over {scheme(slack)}\n"
        )
        print("| figure | value |")
        print("| --- | ---: |")
        print(f"| ack p50 (ms) | {percentile(acks, 50):.1f} |")
        print(f"| ack p99 (ms) | {percentile(acks, 99):.1f} |")
        print(f"| slowest ack (ms) | {max(acks):.1f} |")
        print(f"| people welcomed by DM | {len(welcomed)} of {people} |")
        print(f"| time from first join until all welcomed (s) | {done:.1f} |")
        print(f"| greeting messages in the channel | {len(greetings)} |")
        print(f"| 429s from the channel limit (retried) | {limited} |")


def _has_dm(slack: FakeSlack, user_id: str) -> bool:
    dm = slack.workspace.open_dm([user_id])[0]
    return bool(slack.messages(dm.id))


if __name__ == "__main__":
    given = options(__doc__, people=500, seconds=10.0)
    asyncio.run(main(given.people, given.seconds, given.database_url, given.http))
