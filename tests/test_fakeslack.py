"""FakeSlack driven by real slack_sdk clients: what it stores, refuses, and injects."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from fakeslack import FakeSlack, SlackRequests, Workspace, state_values
from fakeslack.checks import check_blocks, check_view

SECRET = "test-signing-secret"
FIXED_NOW = 1700000000.0001  # 2023-11-14: London on GMT, Sydney on daylight time

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Housing* digest"}}


def button(action_id: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": "Go"},
    }


def modal(*blocks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "new_cop",
        "title": {"type": "plain_text", "text": "New community"},
        "blocks": list(blocks),
        **extra,
    }


def text_input(block_id: str = "name", action_id: str = "value") -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": "Name"},
        "element": {"type": "plain_text_input", "action_id": action_id},
    }


def radio_input(count: int) -> dict[str, Any]:
    options = [
        {"text": {"type": "plain_text", "text": f"Option {i}"}, "value": f"v{i}"}
        for i in range(count)
    ]
    return {
        "type": "input",
        "block_id": "cadence",
        "label": {"type": "plain_text", "text": "Cadence"},
        "element": {"type": "radio_buttons", "action_id": "choice", "options": options},
    }


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(Workspace(clock=lambda: FIXED_NOW)) as running:
        yield running
        # Anything the fake refused must have been expected (and cleared) by the test.
        assert running.problems == []


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.api_url)


@pytest.fixture
async def aclient(fake: FakeSlack) -> AsyncIterator[AsyncWebClient]:
    yield AsyncWebClient(token="xoxb-test", base_url=fake.api_url)


def take_problems(fake: FakeSlack) -> list[str]:
    """Return and forget the recorded problems, for tests that provoke refusals."""
    problems = list(fake.problems)
    fake.problems.clear()
    return problems


# -- messages --------------------------------------------------------------------------


def test_valid_message_is_stored_with_monotonic_ts(fake: FakeSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel="C0HOUSING", text="Digest", blocks=[SECTION])
    second = client.chat_postMessage(channel="C0HOUSING", text="Reply", thread_ts=first["ts"])

    assert first["ts"] == "1700000000.000100"
    assert second["ts"] == "1700000000.000101"
    messages = fake.messages("C0HOUSING")
    assert [m["text"] for m in messages] == ["Digest", "Reply"]
    assert messages[0]["blocks"] == [SECTION]
    assert messages[0]["reply_count"] == 1
    assert messages[1]["thread_ts"] == first["ts"]
    assert fake.calls_to("chat.postMessage")[0].args["blocks"] == [SECTION]
    assert fake.calls_to("chat.postMessage")[0].token == "xoxb-test"


def test_blocks_without_fallback_text_are_refused(fake: FakeSlack, client: WebClient) -> None:
    with (
        pytest.warns(UserWarning, match="top-level `text`"),
        pytest.raises(SlackApiError) as raised,
    ):
        client.chat_postMessage(channel="C0HOUSING", blocks=[SECTION])

    assert raised.value.response["error"] == "invalid_blocks"
    assert fake.messages("C0HOUSING") == []
    problems = take_problems(fake)
    assert len(problems) == 1
    assert problems[0].startswith("chat.postMessage: ")
    assert "fallback `text`" in problems[0]


def test_duplicate_action_id_is_refused(fake: FakeSlack, client: WebClient) -> None:
    blocks = [
        {"type": "actions", "elements": [button("join")]},
        {**SECTION, "accessory": button("join")},
    ]
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0HOUSING", text="Join?", blocks=blocks)

    assert raised.value.response["error"] == "invalid_blocks"
    assert take_problems(fake) == ["chat.postMessage: blocks[1]: duplicate action_id 'join'"]


def test_unknown_argument_name_is_refused(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("chat.postMessage", json={"channel": "C0HOUSING", "txt": "x"})

    assert raised.value.response["error"] == "invalid_arguments"
    assert take_problems(fake) == ["chat.postMessage: unknown argument 'txt' for chat.postMessage"]


def test_unknown_method_is_refused(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("chat.postMessages", params={"channel": "C0HOUSING"})

    assert raised.value.response["error"] == "unknown_method"
    assert len(take_problems(fake)) == 1


def test_update_and_delete(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C0DATA", text="v1")
    updated = client.chat_update(channel="C0DATA", ts=posted["ts"], text="v2")
    assert updated["ts"] == posted["ts"]
    assert fake.messages("C0DATA")[0]["text"] == "v2"

    client.chat_delete(channel="C0DATA", ts=posted["ts"])
    assert fake.messages("C0DATA") == []
    with pytest.raises(SlackApiError) as raised:
        client.chat_delete(channel="C0DATA", ts=posted["ts"])
    assert raised.value.response["error"] == "message_not_found"


def test_ephemeral_needs_a_channel_member(fake: FakeSlack, client: WebClient) -> None:
    answer = client.chat_postEphemeral(channel="C0HOUSING", user="U0ASHA", text="Only you")
    assert answer["message_ts"]
    assert fake.ephemerals[0]["user"] == "U0ASHA"
    with pytest.raises(SlackApiError) as raised:
        client.chat_postEphemeral(channel="C0HOUSING", user="U0BEN", text="Only you")
    assert raised.value.response["error"] == "user_not_in_channel"


# -- views -----------------------------------------------------------------------------


def test_eleven_radio_options_are_refused(fake: FakeSlack, client: WebClient) -> None:
    view = modal(radio_input(11), submit={"type": "plain_text", "text": "Save"})
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id="1.2.abc", view=view)

    assert raised.value.response["error"] == "invalid_arguments"
    assert take_problems(fake) == [
        "views.open: view blocks[0]: radio_buttons has 11 options; at most 10 are allowed"
    ]
    assert fake.views == {}


def test_modal_with_input_needs_submit(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError):
        client.views_open(trigger_id="1.2.abc", view=modal(text_input()))

    assert take_problems(fake) == [
        "views.open: a modal with input blocks must have a `submit` button"
    ]


def test_view_checks_beyond_slack_sdk() -> None:
    long_title = modal(SECTION, title={"type": "plain_text", "text": "x" * 25})
    assert any("`title` is longer than 24" in p for p in check_view(long_title))
    assert check_view(modal(SECTION, private_metadata="m" * 3001))
    assert check_view(modal(SECTION), expected_type="home") == [
        "view type must be 'home' here, got 'modal'"
    ]
    duplicate_block_ids = [{**SECTION, "block_id": "a"}, {**SECTION, "block_id": "a"}]
    assert check_blocks(duplicate_block_ids) == ["blocks[1]: duplicate block_id 'a'"]
    assert check_blocks([{"type": "divider"}] * 51) == ["51 blocks; at most 50 are allowed here"]
    assert check_blocks([{"type": "nonsense"}]) == ["blocks[0]: unknown block type 'nonsense'"]


def test_expired_trigger_is_injected(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("views.open", "expired_trigger_id")
    view = modal(text_input(), submit={"type": "plain_text", "text": "Create"})

    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id="1.2.abc", view=view)
    assert raised.value.response["error"] == "expired_trigger_id"

    opened = client.views_open(trigger_id="1.2.abc", view=view)["view"]
    assert opened["id"] == "V0000001"
    assert fake.views["V0000001"]["callback_id"] == "new_cop"


async def test_view_lifecycle_with_async_client(fake: FakeSlack, aclient: AsyncWebClient) -> None:
    view = modal(SECTION, external_id="cop-42")
    opened = (await aclient.views_open(trigger_id="1.2.abc", view=view))["view"]
    pushed = (await aclient.views_push(trigger_id="1.2.def", view=modal(SECTION)))["view"]
    assert pushed["root_view_id"] == opened["id"]
    assert pushed["previous_view_id"] == opened["id"]

    changed = modal({**SECTION, "text": {"type": "mrkdwn", "text": "Saved"}})
    updated = await aclient.views_update(external_id="cop-42", view=changed, hash=opened["hash"])
    assert updated["view"]["id"] == opened["id"]
    assert updated["view"]["hash"] != opened["hash"]
    assert fake.views[opened["id"]]["blocks"][0]["text"]["text"] == "Saved"

    with pytest.raises(SlackApiError) as raised:
        await aclient.views_update(view_id=opened["id"], view=changed, hash=opened["hash"])
    assert raised.value.response["error"] == "hash_conflict"

    home = {"type": "home", "blocks": [SECTION]}
    await aclient.views_publish(user_id="U0ASHA", view=home)
    assert fake.home("U0ASHA")["blocks"] == [SECTION]
    assert fake.home("U0BEN") is None


# -- users and conversations -----------------------------------------------------------


async def test_users_and_conversations_with_async_client(
    fake: FakeSlack, aclient: AsyncWebClient
) -> None:
    # users.info goes out as a GET with query parameters from the async client.
    asha = (await aclient.users_info(user="U0ASHA"))["user"]
    assert (asha["tz"], asha["tz_offset"], asha["tz_label"]) == (
        "Asia/Kolkata",
        19800,
        "India Standard Time",
    )
    liam = (await aclient.users_info(user="U0LIAM"))["user"]
    assert (liam["tz_offset"], liam["tz_label"]) == (39600, "Australian Eastern Daylight Time")
    everyone = (await aclient.users_list())["members"]
    assert {"U0BOT", "U0ASHA", "U0BEN"} <= {m["id"] for m in everyone}

    info = (await aclient.conversations_info(channel="C0HOUSING", include_num_members=True))[
        "channel"
    ]
    assert (info["name"], info["is_member"], info["num_members"]) == ("housing-policy", True, 4)

    dm = (await aclient.conversations_open(users=["U0BEN"]))["channel"]["id"]
    again = await aclient.conversations_open(users="U0BEN")
    assert dm.startswith("D")
    assert again["channel"]["id"] == dm
    assert again["already_open"] is True

    await aclient.conversations_invite(channel="C0HOUSING", users=["U0BEN"])
    members = (await aclient.conversations_members(channel="C0HOUSING"))["members"]
    assert "U0BEN" in members
    with pytest.raises(SlackApiError) as raised:
        await aclient.conversations_invite(channel="C0HOUSING", users="U0BEN")
    assert raised.value.response["error"] == "already_in_channel"

    created = (await aclient.conversations_create(name="urban-design"))["channel"]
    assert created["is_member"] is True
    with pytest.raises(SlackApiError) as raised:
        await aclient.conversations_create(name="urban-design")
    assert raised.value.response["error"] == "name_taken"
    await aclient.conversations_archive(channel=created["id"])
    with pytest.raises(SlackApiError) as raised:
        await aclient.chat_postMessage(channel=created["id"], text="hello?")
    assert raised.value.response["error"] == "is_archived"


async def test_people_added_to_the_workspace_are_real_users(
    fake: FakeSlack, aclient: AsyncWebClient
) -> None:
    people = fake.workspace.add_people(3)
    (bot,) = fake.workspace.add_people(1, name="helper", is_bot=True)
    assert len(set(people)) == 3 and bot not in people
    first = (await aclient.users_info(user=people[0]))["user"]
    assert (first["is_bot"], first["tz"]) == (False, "Europe/London")
    assert (await aclient.users_info(user=bot))["user"]["is_bot"] is True
    await aclient.conversations_invite(channel="C0HOUSING", users=",".join(people))
    members = (await aclient.conversations_members(channel="C0HOUSING"))["members"]
    assert set(people) <= set(members)
    with pytest.raises(SlackApiError) as raised:
        await aclient.users_info(user="U9NOBODY")
    assert raised.value.response["error"] == "user_not_found"
    fake.workspace.join("C0DATA", people[0])
    assert people[0] in (await aclient.conversations_members(channel="C0DATA"))["members"]
    fake.workspace.leave("C0DATA", people[0])
    assert people[0] not in (await aclient.conversations_members(channel="C0DATA"))["members"]


def test_canvases(fake: FakeSlack, client: WebClient) -> None:
    content = {"type": "markdown", "markdown": "# Charter"}
    channel_canvas = client.conversations_canvases_create(
        channel_id="C0HOUSING", document_content=content
    )
    standalone = client.canvases_create(title="Notes", document_content=content)

    canvases = {c.id: c for c in fake.canvases}
    assert canvases[channel_canvas["canvas_id"]].channel_id == "C0HOUSING"
    assert canvases[standalone["canvas_id"]].document_content == content
    with pytest.raises(SlackApiError) as raised:
        client.conversations_canvases_create(channel_id="C0HOUSING", document_content=content)
    assert raised.value.response["error"] == "channel_canvas_already_exists"


def test_canvas_edit_applies_one_change(fake: FakeSlack, client: WebClient) -> None:
    created = client.conversations_canvases_create(
        channel_id="C0HOUSING", document_content={"type": "markdown", "markdown": "# One"}
    )
    canvas_id = created["canvas_id"]
    replace = {
        "operation": "replace",
        "document_content": {"type": "markdown", "markdown": "# Two"},
    }
    client.canvases_edit(canvas_id=canvas_id, changes=[replace])
    append = {
        "operation": "insert_at_end",
        "document_content": {"type": "markdown", "markdown": "\nMore"},
    }
    client.canvases_edit(canvas_id=canvas_id, changes=[append])
    [canvas] = fake.canvases
    assert canvas.document_content == {"type": "markdown", "markdown": "# Two\nMore"}

    with pytest.raises(SlackApiError) as raised:
        client.canvases_edit(canvas_id=canvas_id, changes=[replace, append])
    assert raised.value.response["error"] == "invalid_arguments"  # Slack takes one at a time
    with pytest.raises(SlackApiError) as raised:
        client.canvases_edit(canvas_id="F0NOPE", changes=[replace])
    assert raised.value.response["error"] == "canvas_not_found"


# -- history ---------------------------------------------------------------------------


def test_history_is_newest_first_top_level_and_metadata_only_when_asked(
    fake: FakeSlack, client: WebClient
) -> None:
    metadata = {"event_type": "sent", "event_payload": {"id": 7}}
    first = client.chat_postMessage(channel="C0HOUSING", text="first", metadata=metadata)
    client.chat_postMessage(channel="C0HOUSING", text="reply", thread_ts=first["ts"])
    client.chat_postMessage(channel="C0HOUSING", text="second")

    plain_history = client.conversations_history(channel="C0HOUSING")
    assert [m["text"] for m in plain_history["messages"]] == ["second", "first"]
    assert all("metadata" not in m for m in plain_history["messages"])
    with_metadata = client.conversations_history(channel="C0HOUSING", include_all_metadata=True)
    assert with_metadata["messages"][1]["metadata"] == metadata

    paged = client.conversations_history(channel="C0HOUSING", limit=1)
    assert paged["has_more"] is True
    rest = client.conversations_history(
        channel="C0HOUSING", limit=1, cursor=paged["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in rest["messages"]] == ["first"]
    assert rest["has_more"] is False

    fake.workspace.channels["C0RANDOM"].members.remove("U0BOT")
    with pytest.raises(SlackApiError) as raised:
        client.conversations_history(channel="C0RANDOM")
    assert raised.value.response["error"] == "not_in_channel"


def test_replies_are_a_thread_parent_first_and_permalinks_name_the_message(
    fake: FakeSlack, client: WebClient
) -> None:
    parent = client.chat_postMessage(channel="C0HOUSING", text="question")["ts"]
    first = client.chat_postMessage(channel="C0HOUSING", text="one", thread_ts=parent)["ts"]
    client.chat_postMessage(channel="C0HOUSING", text="two", thread_ts=parent)
    thread = client.conversations_replies(channel="C0HOUSING", ts=parent)
    assert [m["text"] for m in thread["messages"]] == ["question", "one", "two"]
    # One reply, found as Slack finds it: the parent always comes first.
    one = client.conversations_replies(
        channel="C0HOUSING", ts=parent, oldest=first, latest=first, inclusive=True
    )
    assert [m["text"] for m in one["messages"]] == ["question", "one"]
    with pytest.raises(SlackApiError) as raised:
        client.conversations_replies(channel="C0HOUSING", ts=first)  # a reply is no thread
    assert raised.value.response["error"] == "thread_not_found"

    link = client.chat_getPermalink(channel="C0HOUSING", message_ts=parent)["permalink"]
    assert (
        link == f"https://cultivate-sandbox.slack.com/archives/C0HOUSING/p{parent.replace('.', '')}"
    )
    reply = client.chat_getPermalink(channel="C0HOUSING", message_ts=first)["permalink"]
    assert reply.endswith(f"?thread_ts={parent}&cid=C0HOUSING")
    with pytest.raises(SlackApiError) as raised:
        client.chat_getPermalink(channel="C0HOUSING", message_ts="1.000001")
    assert raised.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as raised:
        client.chat_getPermalink(channel="C0NOWHERE", message_ts=parent)
    assert raised.value.response["error"] == "channel_not_found"


def test_people_can_be_added_to_the_workspace(fake: FakeSlack, client: WebClient) -> None:
    added = fake.workspace.add_people(3, channels=["C0HOUSING"])
    assert len(set(added)) == 3
    assert client.users_info(user=added[0])["user"]["tz"] == "Europe/London"
    members = client.conversations_members(channel="C0HOUSING")["members"]
    assert set(added) <= set(members)


# -- files -----------------------------------------------------------------------------


def test_files_upload_v2_end_to_end(fake: FakeSlack, client: WebClient) -> None:
    answer = client.files_upload_v2(
        channel="C0HOUSING", content="# hi", filename="x.md", title="X", initial_comment="Notes"
    )

    [stored] = fake.files
    assert (stored.content, stored.filename, stored.title, stored.channel) == (
        b"# hi",
        "x.md",
        "X",
        "C0HOUSING",
    )
    assert answer["file"]["id"] == stored.id
    assert client.files_info(file=stored.id)["file"]["title"] == "X"
    shared = fake.messages("C0HOUSING")[-1]
    assert (shared["text"], shared["files"][0]["id"]) == ("Notes", stored.id)


async def test_files_upload_v2_with_async_client(fake: FakeSlack, aclient: AsyncWebClient) -> None:
    await aclient.files_upload_v2(channel="C0DATA", content=b"a,b\n1,2\n", filename="d.csv")

    [stored] = fake.files
    assert (stored.content, stored.channel) == (b"a,b\n1,2\n", "C0DATA")


def test_the_app_joins_a_public_channel_but_must_be_invited_to_a_private_one(
    fake: FakeSlack, client: WebClient
) -> None:
    public = client.conversations_create(name="outreach")["channel"]["id"]
    private = client.conversations_create(name="secret", is_private=True)["channel"]["id"]
    for channel_id in (public, private):
        fake.workspace.leave(channel_id, "U0BOT")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=public, text="hi")
    assert raised.value.response["error"] == "not_in_channel"
    assert client.conversations_join(channel=public)["channel"]["is_member"] is True
    client.chat_postMessage(channel=public, text="hi")
    assert client.conversations_join(channel=public)["warning"] == "already_in_channel"
    with pytest.raises(SlackApiError) as raised:
        client.conversations_join(channel=private)
    assert raised.value.response["error"] == "method_not_supported_for_channel_type"


def image(reference: dict[str, Any]) -> dict[str, Any]:
    return {"type": "image", "slack_file": reference, "alt_text": "A chart"}


PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


def test_an_image_keeps_its_alt_text_and_can_be_shown_in_blocks_by_id_or_url(
    fake: FakeSlack, client: WebClient
) -> None:
    answer = client.files_upload_v2(
        channel="C0HOUSING", content=PNG, filename="chart.png", alt_txt="Members rose from 3 to 8"
    )
    file = answer["file"]
    [stored] = fake.files
    assert stored.alt_txt == "Members rose from 3 to 8"
    info = client.files_info(file=file["id"])["file"]
    assert (info["alt_txt"], info["mimetype"]) == ("Members rose from 3 to 8", "image/png")
    assert len(file["id"]) >= 9  # F and at least eight more, as Slack's ids are

    client.chat_postMessage(channel="C0HOUSING", text="chart", blocks=[image({"id": file["id"]})])
    client.chat_postMessage(
        channel="C0HOUSING", text="chart", blocks=[image({"url": info["url_private"]})]
    )
    client.views_publish(
        user_id="U0ASHA", view={"type": "home", "blocks": [image({"id": file["id"]})]}
    )
    assert fake.problems == []


def test_an_image_block_naming_a_file_slack_cannot_show_is_refused(
    fake: FakeSlack, client: WebClient
) -> None:
    text_file = client.files_upload_v2(channel="C0HOUSING", content="notes", filename="n.md")
    picture = client.files_upload_v2(channel="C0HOUSING", content=PNG, filename="c.png")
    refused = {
        "missing": {"id": "F0123456789"},
        "malformed": {"id": "F12"},
        "not an image": {"id": text_file["file"]["id"]},
        "both": {"id": picture["file"]["id"], "url": picture["file"]["url_private"]},
        "neither": {},
    }
    for why, reference in refused.items():
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel="C0HOUSING", text="x", blocks=[image(reference)])
        assert raised.value.response["error"] == "invalid_blocks", why
    with pytest.raises(SlackApiError) as raised:
        client.views_publish(
            user_id="U0ASHA", view={"type": "home", "blocks": [image({"id": "F0123456789"})]}
        )
    assert raised.value.response["error"] == "invalid_arguments"
    assert len(fake.problems) == len(refused) + 1
    assert all("invalid slack file" in p for p in fake.problems)
    fake.problems.clear()


# -- fault injection -------------------------------------------------------------------


def test_429_is_retried_by_rate_limit_handler(fake: FakeSlack) -> None:
    client = WebClient(
        token="xoxb-test",
        base_url=fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.inject_http("chat.postMessage", 429, retry_after=1)

    answer = client.chat_postMessage(channel="C0RANDOM", text="eventually")

    assert answer["ok"] is True
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]
    assert [m["text"] for m in fake.messages("C0RANDOM")] == ["eventually"]


async def test_429_is_retried_by_async_rate_limit_handler(fake: FakeSlack) -> None:
    aclient = AsyncWebClient(
        token="xoxb-test",
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.inject_http("views.publish", 429, retry_after=1)

    await aclient.views_publish(user_id="U0BEN", view={"type": "home", "blocks": [SECTION]})

    assert [c.status for c in fake.calls_to("views.publish")] == [429, 200]


def test_server_error_is_injected(fake: FakeSlack, client: WebClient) -> None:
    fake.inject_http("auth.test", 503)
    with pytest.raises(SlackApiError) as raised:
        client.auth_test()
    assert raised.value.response.status_code == 503
    assert client.auth_test()["user_id"] == "U0BOT"


def test_rate_limit_per_channel(fake: FakeSlack, client: WebClient) -> None:
    fake.rate_limit_per_channel(1.0)
    client.chat_postMessage(channel="C0RANDOM", text="one")
    client.chat_postMessage(channel="C0DATA", text="other channel is fine")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0RANDOM", text="two")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"
    assert [m["text"] for m in fake.messages("C0RANDOM")] == ["one"]


async def test_latency_delays_answers(fake: FakeSlack, aclient: AsyncWebClient) -> None:
    fake.latency = 0.2
    started = time.monotonic()
    await aclient.auth_test()
    assert time.monotonic() - started >= 0.2


# -- waiting for calls -----------------------------------------------------------------


async def test_wait_for_sees_calls_made_in_the_background(
    fake: FakeSlack, aclient: AsyncWebClient
) -> None:
    async def post_later() -> None:
        await asyncio.sleep(0.05)
        await aclient.chat_postMessage(channel="C0DATA", text="late")

    task = asyncio.create_task(post_later())
    calls = await fake.wait_for("chat.postMessage", lambda c: c.args["text"] == "late", timeout=2.0)
    await task
    assert calls[0].response["channel"] == "C0DATA"


async def test_wait_for_timeout_lists_recent_calls(
    fake: FakeSlack, aclient: AsyncWebClient
) -> None:
    await aclient.auth_test()
    with pytest.raises(AssertionError, match=r"(?s)views\.open.*auth\.test -> ok"):
        await fake.wait_for("views.open", timeout=0.1)


# -- inbound requests ------------------------------------------------------------------


def test_signatures_verify() -> None:
    requests = SlackRequests(SECRET, clock=time.time)
    verifier = SignatureVerifier(SECRET)
    for body, headers in [
        requests.slash_command(text="new Housing"),
        requests.event_callback({"type": "app_mention", "text": "hi", "user": "U0ASHA"}),
        requests.url_verification("challenge-123"),
    ]:
        timestamp = headers["X-Slack-Request-Timestamp"]
        assert verifier.is_valid(body, timestamp, headers["X-Slack-Signature"])
        assert not verifier.is_valid(body + "x", timestamp, headers["X-Slack-Signature"])
    assert not SignatureVerifier("other-secret").is_valid(
        body, timestamp, headers["X-Slack-Signature"]
    )


def test_slash_command_carries_slack_fields() -> None:
    requests = SlackRequests(SECRET, workspace=Workspace())
    body, headers = requests.slash_command(text="list", user_id="U0BEN", channel_id="C0DATA")

    fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert fields["command"] == "/cop"
    assert (fields["user_name"], fields["channel_name"]) == ("ben.okafor", "data-engineering")
    assert fields["team_id"] == "T0CULTIV8"
    assert fields["trigger_id"].count(".") == 2


def test_event_retry_headers() -> None:
    body, headers = SlackRequests(SECRET).event_callback(
        {"type": "message", "text": "x"}, event_id="Ev1", retry_num=2, retry_reason="timeout"
    )
    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("2", "timeout")
    assert json.loads(body)["event_id"] == "Ev1"


def test_state_values_follow_the_view() -> None:
    view = modal(
        text_input("name", "value"),
        radio_input(3),
        submit={"type": "plain_text", "text": "Save"},
    )
    values = state_values({"cadence": {"choice": "v2"}}, view)

    assert values["name"]["value"] == {"type": "plain_text_input", "value": None}
    chosen = values["cadence"]["choice"]["selected_option"]
    assert chosen == {"text": {"type": "plain_text", "text": "Option 2"}, "value": "v2"}


async def test_bolt_accepts_the_requests(fake: FakeSlack) -> None:
    """The payloads are shaped well enough for Bolt's real parsing and verification."""
    app = AsyncApp(
        token="xoxb-test",
        signing_secret=SECRET,
        client=AsyncWebClient(token="xoxb-test", base_url=fake.api_url),
    )
    requests = SlackRequests(SECRET, response_url_base=fake.response_url_base)
    view = modal(text_input(), submit={"type": "plain_text", "text": "Create"})
    submitted: list[dict[str, Any]] = []

    @app.command("/cop")
    async def open_modal(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=view)
        await respond("Opening the form…")

    @app.view("new_cop")
    async def save(ack: AsyncAck, view: dict[str, Any]) -> None:
        await ack()
        submitted.append(view["state"]["values"])

    body, headers = requests.slash_command(text="new")
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 200

    [opened] = await fake.wait_for("views.open")
    [responded] = await fake.wait_for("response_url")
    assert responded.args["text"] == "Opening the form…"
    body, headers = requests.view_submission(
        fake.views[opened.response["view"]["id"]], values={"name": {"value": "Housing"}}
    )
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 200
    assert submitted == [{"name": {"value": {"type": "plain_text_input", "value": "Housing"}}}]

    tampered = body.replace("Housing", "Hacked")
    response = await app.async_dispatch(AsyncBoltRequest(body=tampered, headers=headers))
    assert response.status == 401


# -- where answers land: response_url, command replies, triggers -------------------------


def respond(fake: FakeSlack, response_url: str, message: dict[str, Any]) -> None:
    """POST to a response_url the way Bolt's respond() does."""
    path = response_url.removeprefix(fake.base_url)
    answer = fake.handle_response_url(path, json.dumps(message).encode())
    assert answer.status == 200


def test_response_url_answers_land_where_slack_shows_them(fake: FakeSlack) -> None:
    requests = SlackRequests(
        SECRET, workspace=fake.workspace, response_url_base=fake.response_url_base
    )
    fields = parse_qs(requests.slash_command(text="status", user_id="U0ASHA")[0])
    respond(fake, fields["response_url"][0], {"text": "Only Asha sees this"})
    respond(fake, fields["response_url"][0], {"text": "Everyone", "response_type": "in_channel"})

    [ephemeral] = fake.ephemerals
    assert (ephemeral["channel"], ephemeral["user"]) == ("C0HOUSING", "U0ASHA")
    assert ephemeral["text"] == "Only Asha sees this"
    assert [m["text"] for m in fake.messages("C0HOUSING")] == ["Everyone"]
    # A response_url the fake did not make is still recorded, just shown nowhere.
    respond(fake, f"{fake.response_url_base}/T0CULTIV8/999/fakeslack", {"text": "lost"})
    assert len(fake.calls_to("response_url")) == 3
    assert len(fake.ephemerals) == 1


def test_replace_and_delete_original_from_a_click(fake: FakeSlack, client: WebClient) -> None:
    requests = SlackRequests(
        SECRET, workspace=fake.workspace, response_url_base=fake.response_url_base
    )
    posted = client.chat_postMessage(channel="C0DATA", text="Vote", blocks=[SECTION])["message"]
    payload = json.loads(
        parse_qs(
            requests.block_actions("U0BEN", [button("vote")], channel_id="C0DATA", message=posted)[
                0
            ]
        )["payload"][0]
    )
    respond(fake, payload["response_url"], {"text": "Thanks", "replace_original": True})
    [replaced] = fake.messages("C0DATA")
    assert (replaced["ts"], replaced["text"], "blocks" in replaced) == (
        posted["ts"],
        "Thanks",
        False,
    )
    respond(fake, payload["response_url"], {"delete_original": True})
    assert fake.messages("C0DATA") == []


def test_a_command_reply_is_shown_to_the_person_who_typed_it(fake: FakeSlack) -> None:
    fake.answer_command("C0HOUSING", "U0NOOR", json.dumps({"text": "Try `/cop help`"}))
    fake.answer_command("C0HOUSING", "U0NOOR", "plain words")
    fake.answer_command("C0HOUSING", "U0NOOR", "")  # an empty ack shows nothing
    assert [(e["user"], e["text"]) for e in fake.ephemerals] == [
        ("U0NOOR", "Try `/cop help`"),
        ("U0NOOR", "plain words"),
    ]
    fake.answer_command("C0HOUSING", "U0NOOR", json.dumps({"blocks": [SECTION]}))
    assert len(take_problems(fake)) == 1  # blocks without fallback text: Slack refuses
    assert len(fake.ephemerals) == 2


async def test_a_push_lands_on_the_modal_of_the_person_who_clicked(
    fake: FakeSlack, aclient: AsyncWebClient
) -> None:
    requests = SlackRequests(SECRET, workspace=fake.workspace)
    asha = await aclient.views_open(trigger_id=requests.trigger_id("U0ASHA"), view=modal(SECTION))
    ben = await aclient.views_open(trigger_id=requests.trigger_id("U0BEN"), view=modal(SECTION))
    pushed = await aclient.views_push(trigger_id=requests.trigger_id("U0ASHA"), view=modal(SECTION))
    assert pushed["view"]["root_view_id"] == asha["view"]["id"]
    assert fake.workspace.modal_owners[ben["view"]["id"]] == "U0BEN"

    fake.close_view(pushed["view"]["id"])  # Cancel on a pushed view goes back one
    assert [asha["view"]["id"]] in fake.workspace.view_stacks
    fake.close_view(ben["view"]["id"], whole_stack=True)
    assert fake.workspace.view_stacks == [[asha["view"]["id"]]]


def test_joining(fake: FakeSlack, client: WebClient) -> None:
    quiet = Workspace(clock=lambda: FIXED_NOW)
    quiet.channels["C0QUIET"] = quiet.channels.pop("C0RANDOM")
    quiet.channels["C0QUIET"].id = "C0QUIET"
    quiet.channels["C0QUIET"].members.remove("U0BOT")
    with FakeSlack(quiet) as other:
        other_client = WebClient(token="xoxb-test", base_url=other.api_url)
        joined = other_client.conversations_join(channel="C0QUIET")
        assert joined["channel"]["is_member"] is True
        again = other_client.conversations_join(channel="C0QUIET")
        assert again["warning"] == "already_in_channel"
        assert other.problems == []

    message = fake.workspace.add_member("C0HOUSING", "U0BEN")
    assert message is not None and message["subtype"] == "channel_join"
    assert fake.workspace.add_member("C0HOUSING", "U0BEN") is None
    assert fake.messages("C0HOUSING")[-1]["text"] == "<@U0BEN> has joined the channel"


# -- HTTPS (the benchmarks' fake) ------------------------------------------------------


async def test_over_https_a_client_trusting_its_certificate_keeps_one_connection() -> None:
    with FakeSlack(tls=True) as fake:
        assert fake.api_url.startswith("https://") and fake.ca_file is not None
        trusting = ssl.create_default_context(cafile=fake.ca_file)
        async with aiohttp.ClientSession() as session:
            client = AsyncWebClient(
                token="xoxb-test", base_url=fake.api_url, ssl=trusting, session=session
            )
            for _ in range(3):
                assert (await client.auth_test())["ok"]
        assert fake.connections == 1  # kept alive: one handshake for three calls
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await AsyncWebClient(token="xoxb-test", base_url=fake.api_url).auth_test()
        assert len(fake.calls_to("auth.test")) == 3
    assert fake.ca_file is None  # the certificate goes when the fake stops
