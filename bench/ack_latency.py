"""How fast Slack gets its ack: `/cop status` and a stage form's view_submission, at 1, 8 and
32 concurrent requests, against Cultivate's web process and, served the same way, a bare Bolt
app that only acks. Both run as real processes; requests are signed as Slack signs them.

The saves go to the scope forms of 32 communities in turn, as coordinators of different
communities save at the same time. `--only "one form"` measures instead the same form saved
again and again at once (the same person, the same community): most of those saves are refused
as edits made meanwhile, which is what that cell measures.

    python -m bench.ack_latency [--requests 400] [--only view_submission|/cop status|one form]
        [--database-url postgresql://...] [--http]

The URL's scheme chooses PostgreSQL's driver: `postgresql://` is the default one,
`postgresql+psycopg://` or `postgresql+asyncpg://` a particular one (`storage.urls`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bench.common import migrated, options, scheme
from fakeslack import FakeSlack, SlackRequests
from fakeslack.workspace import BOT_USER_ID, Channel
from sandbox.processes import percentile

Request = tuple[str, dict[str, str]]

FORMS = 32  # communities whose scope forms the saves go to, in turn
MEASURED = ("/cop status", "view_submission")  # the cells a whole run measures


async def measure(
    http: aiohttp.ClientSession,
    url: str,
    make: Callable[[int], Request],
    *,
    total: int,
    concurrency: int,
) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            body, headers = make(queue.get_nowait())
            started = time.perf_counter()
            async with http.post(f"{url}/slack/events", data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(
                        f"HTTP {response.status} from {url}: {await response.text()}"
                    )
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def main(total: int, only: str, database_url: str | None, http: bool) -> None:
    async with migrated(database_url, http=http) as bench:
        slack = bench.slack
        cultivate = bench.start(["bot", "web"])
        bare = bench.start(["bench.bare_bolt"])
        requests = bench.requests()
        try:
            await cultivate.healthy()
            await bare.healthy()
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:
                # Communities, and each one's scope form as Slack would hold it.
                forms = [
                    await scope_form(http, cultivate.url, slack, requests, n) for n in range(FORMS)
                ]
                kinds: dict[str, Callable[[int], Request]] = {
                    "/cop status": lambda n: requests.slash_command(text="status"),
                    "view_submission": lambda n: requests.view_submission(
                        forms[n % FORMS], values={"need": {"need": f"answer {n}"}}
                    ),
                    "one form": lambda n: requests.view_submission(
                        forms[0], values={"need": {"need": f"answer {n}"}}
                    ),
                }
                kinds = {k: kinds[k] for k in ((only,) if only else MEASURED)}
                print(
                    f"{total} requests per cell; latency in ms from send to Slack's ack; "
                    f"Slack over {scheme(slack)}"
                )
                print(
                    "Answered: seconds from a cell's first request until Cultivate's last "
                    "answer reached Slack\n(a status is answered after its ack; a form's "
                    "answer is its ack). Each cell starts once the last one is answered.\n"
                )
                print(
                    "| request | concurrency | Cultivate p50 | Cultivate p99 | answered (s) "
                    "| bare Bolt p50 | bare Bolt p99 | p50 ratio |"
                )
                print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
                commands = 0  # /cop commands sent to Cultivate, each answered through respond()
                for name, make in kinds.items():
                    for concurrency in (1, 8, 32):
                        results, answered = {}, 0.0
                        for label, target in (("cultivate", cultivate), ("bare", bare)):
                            answers = total if label == "cultivate" and name == "/cop status" else 0
                            await measure(http, target.url, make, total=20, concurrency=concurrency)
                            commands += answers and 20
                            await all_answered(slack, commands)
                            started = time.perf_counter()
                            results[label] = await measure(
                                http, target.url, make, total=total, concurrency=concurrency
                            )
                            commands += answers
                            await all_answered(slack, commands)
                            if label == "cultivate":
                                answered = time.perf_counter() - started
                        c, b = results["cultivate"], results["bare"]
                        print(
                            f"| {name} | {concurrency} | {percentile(c, 50):.1f} "
                            f"| {percentile(c, 99):.1f} | {answered:.2f} "
                            f"| {percentile(b, 50):.1f} | {percentile(b, 99):.1f} "
                            f"| {percentile(c, 50) / percentile(b, 50):.2f} |"
                        )
        finally:
            cultivate.stop()
            bare.stop()
        slack.problems.clear()


async def scope_form(
    http: aiohttp.ClientSession,
    url: str,
    slack: FakeSlack,
    requests: SlackRequests,
    n: int,
) -> dict[str, Any]:
    """A community started in a channel of its own (the first in the workspace's default
    channel, where `/cop status` is asked), and its scope form opened: the view as Slack holds
    it."""
    channel = "C0HOUSING" if n == 0 else f"C0BENCH{n:03d}"
    if channel not in slack.workspace.channels:
        people = slack.workspace.channels["C0HOUSING"].members
        members = list(dict.fromkeys([BOT_USER_ID, *people]))
        slack.workspace.channels[channel] = Channel(channel, f"bench-{n}", members=members)
    opened = len(slack.calls_to("views.open"))
    await post(http, url, requests.slash_command(text="start", channel_id=channel))
    start_call = (await slack.wait_for("views.open", count=opened + 1))[-1]
    start_view = slack.views[start_call.response["view"]["id"]]
    await post(
        http, url, requests.view_submission(start_view, values={"name": {"name": f"Bench {n}"}})
    )
    await post(http, url, requests.slash_command(text="scope", channel_id=channel))
    scope_call = (await slack.wait_for("views.open", count=opened + 2))[-1]
    return slack.views[scope_call.response["view"]["id"]]


async def all_answered(slack: FakeSlack, commands: int) -> None:
    """Wait until each of the `commands` /cop commands sent to Cultivate so far has had its
    answer (Bolt's respond()), so that one cell's work after the ack is not measured in the
    next cell."""
    await slack.wait_for("response_url", count=commands, timeout=600)


async def post(http: aiohttp.ClientSession, url: str, request: Request) -> None:
    body, headers = request
    async with http.post(f"{url}/slack/events", data=body, headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"setup request failed: HTTP {response.status}")


if __name__ == "__main__":
    given = options(__doc__, requests=400, only="")
    asyncio.run(main(given.requests, given.only, given.database_url, given.http))
