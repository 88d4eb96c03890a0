"""Fuzzed Slack payloads through the signed endpoint: never a 5xx, never a crash, and nothing
stored from a refused request."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import create_app, serving
from bot.clock import SystemClock
from bot.pacing import ChannelPacer
from bot.runtime import Runtime
from bot.server import EVENTS_PATH, after_acks
from bot.services.communities import start_community
from fakeslack import FakeSlack, SlackRequests
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Community, ScheduledSend, StageRevision
from tests.conftest import ASHA, HOUSING, SIGNING_SECRET, TEAM, settings_for


class Failures(logging.Handler):
    """Collects errors logged anywhere in the app: a listener that crashed after its ack."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Served:
    url: str
    requests: SlackRequests
    loop: asyncio.AbstractEventLoop
    database: Database
    failures: Failures

    def post(self, body: str, headers: dict[str, str]) -> tuple[int, str]:
        request = urllib.request.Request(self.url, data=body.encode(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def stored(self) -> tuple[int, int, int]:
        async def count() -> tuple[int, int, int]:
            counts = []
            async with self.database.session() as session:
                for table in (Community, StageRevision, ScheduledSend):
                    result = await session.exec(select(func.count()).select_from(table))
                    counts.append(result.one()[0])
            return counts[0], counts[1], counts[2]

        return asyncio.run_coroutine_threadsafe(count(), self.loop).result(10)

    def settle(self) -> None:
        """Wait for the work earlier requests started after their acks: what an accepted
        request stores later must not be counted against the next one."""

        asyncio.run_coroutine_threadsafe(after_acks(), self.loop).result(60)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The real app on a port, in a thread of its own, so hypothesis can drive it synchronously."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'fuzz.db'}"
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def start() -> None:
        database = Database(url)
        await upgrade(database)
        await start_community(
            database,
            SystemClock(),
            team_id=TEAM,
            channel_id=HOUSING,
            name="Housing",
            domain="",
            timezone="UTC",
            starter=ASHA,
        )
        app = create_app(
            settings_for(state["slack"], url),
            Runtime(database=database),
            pacer=ChannelPacer(0),
            scheduler=False,
        )
        served = AsyncExitStack()
        port = await served.enter_async_context(serving(app, host="127.0.0.1", port=0))
        state.update(served=served, database=database, port=port)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    failures = Failures()
    logging.getLogger().addHandler(failures)
    with FakeSlack() as slack:
        state["slack"] = slack
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        assert ready.wait(30)
        yield Served(
            url=f"http://127.0.0.1:{state['port']}{EVENTS_PATH}",
            requests=SlackRequests(SIGNING_SECRET, response_url_base=slack.response_url_base),
            loop=loop,
            database=state["database"],
            failures=failures,
        )
        asyncio.run_coroutine_threadsafe(state["served"].aclose(), loop).result(10)
        asyncio.run_coroutine_threadsafe(state["database"].dispose(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        slack.problems.clear()  # fuzzed input may make the app send odd things; we judge replies
    logging.getLogger().removeHandler(failures)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
ids = st.sampled_from([ASHA, "U0BEN", "", "U" * 40, "not an id"]) | st.text(max_size=12)
callback_ids = st.sampled_from(["stage_form", "stage_list_item", "community_start", "x"])
metadata = st.one_of(
    st.text(max_size=40),
    st.fixed_dictionaries(
        {
            "community": st.one_of(st.integers(-5, 5), st.text(max_size=5), st.none()),
            "stage": st.sampled_from(["scope", "roles", "launch", "nope"]),
            "version": st.one_of(st.integers(-3, 5), st.text(max_size=3)),
        }
    ).map(json.dumps),
)
state_values = st.dictionaries(
    st.sampled_from(["need", "aims", "coordinators", "membership", "title", "name", "timezone"]),
    st.dictionaries(
        st.text(max_size=12),
        st.dictionaries(st.text(max_size=15), json_values, max_size=3),
        max_size=2,
    ),
    max_size=4,
)


@st.composite
def slack_requests(draw: st.DrawFn, requests: SlackRequests) -> tuple[str, dict[str, str]]:
    kind = draw(
        st.sampled_from(["command", "view", "action", "event", "shaped", "raw_json", "raw_form"])
    )
    if kind == "command":
        text = draw(st.text(max_size=60) | st.sampled_from(["start", "scope", "status", "roles x"]))
        return requests.slash_command(text=text, user_id=draw(ids), channel_id=draw(ids))
    if kind == "view":
        view = {
            "id": "V1",
            "callback_id": draw(callback_ids),
            "private_metadata": draw(metadata),
        }
        body, _ = requests.view_submission(view, user_id=draw(ids))
        payload = json.loads(urllib.parse.parse_qs(body)["payload"][0])
        payload["view"]["state"] = {"values": draw(state_values)}
        body = urlencode({"payload": json.dumps(payload)})
        return body, {"Content-Type": "application/x-www-form-urlencoded", **requests.sign(body)}
    if kind == "action":
        action = {
            "action_id": draw(
                st.sampled_from(
                    ["open_stage:1:scope", "list_add:milestones", "list_edit:risks", "zzz"]
                )
            ),
            "value": draw(st.text(max_size=20)),
            "selected_option": draw(
                st.none() | st.fixed_dictionaries({"value": st.text(max_size=4)})
            ),
        }
        view = draw(
            st.none() | st.fixed_dictionaries({"id": st.just("V1"), "private_metadata": metadata})
        )
        return requests.block_actions(draw(ids), [action], view=view)
    if kind == "event":
        event = draw(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(
                        ["app_home_opened", "app_uninstalled", "tokens_revoked", "x"]
                    )
                },
                optional={
                    "user": ids,
                    "tab": st.sampled_from(["home", "messages"]),
                    "tokens": json_values,
                },
            )
        )
        return requests.event_callback(event)
    if kind == "shaped":  # Slack's envelope, with anything inside it
        payload = draw(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(
                        ["block_actions", "view_submission", "view_closed", "shortcut"]
                    )
                },
                optional={
                    "user": json_values | st.fixed_dictionaries({"id": ids}),
                    "team": json_values | st.fixed_dictionaries({"id": st.just(TEAM)}),
                    "actions": json_values
                    | st.lists(st.dictionaries(st.just("action_id"), json_values)),
                    "view": json_values
                    | st.fixed_dictionaries(
                        {"id": st.text(max_size=3), "callback_id": callback_ids}
                    ),
                    "trigger_id": json_values,
                    "callback_id": json_values,
                },
            )
        )
        body = urlencode({"payload": json.dumps(payload)})
        return body, {"Content-Type": "application/x-www-form-urlencoded", **requests.sign(body)}
    if kind == "raw_json":
        body = json.dumps(draw(json_values))
        return body, {"Content-Type": "application/json", **requests.sign(body)}
    body = urlencode({"payload": draw(st.text(max_size=80))})
    return body, {"Content-Type": "application/x-www-form-urlencoded", **requests.sign(body)}


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_payloads_never_get_a_5xx_and_refusals_store_nothing(
    served: Served, data: st.DataObject
) -> None:
    served.settle()
    before = served.stored()
    body, headers = data.draw(slack_requests(served.requests))
    status, reply = served.post(body, headers)
    assert status < 500, (status, reply, body[:300])
    refused = status >= 400 or '"response_action": "errors"' in reply
    # Work after the ack runs on: let it finish, then nothing may have crashed.
    served.settle()
    if refused:
        assert served.stored() == before
    crashes = [r.getMessage() for r in served.failures.records if r.exc_info]
    served.failures.records.clear()
    assert crashes == [], body[:300]
