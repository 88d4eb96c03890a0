"""The app against a stand-in for Slack that speaks HTTPS, as Slack does (the benchmarks' fake):
its clients trust the stand-in's certificate through SLACK_CA_FILE, and so do Bolt's answers
to a command's response_url. The other tests speak plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakeslack import FakeSlack
from tests.conftest import HOUSING, Cultivate
from tests.steps import start_community


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(tls=True) as fake:
        yield fake
        assert fake.problems == [], "Slack would have refused these calls"


async def test_the_app_posts_and_answers_through_an_https_slack(cultivate: Cultivate) -> None:
    assert cultivate.slack.api_url.startswith("https://")
    await start_community(cultivate)  # a modal opened, then the channel told: two Web API calls
    [announcement] = [
        c for c in cultivate.slack.calls_to("chat.postMessage") if c.args["channel"] == HOUSING
    ]
    assert announcement.ok

    assert (await cultivate.command("status")).status == 200
    answer = await cultivate.ephemeral()  # Bolt's respond(), to the fake's https response_url
    assert "Housing policy" in str(answer)
