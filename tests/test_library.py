"""The community's library: *Save to knowledge* keeps a message (checked against a
forged channel, another team's community and outsiders of a private one), its author is told
and can remove it and nobody else can; `/cop library` finds entries, escaped; every member is
asked "What did we learn this month?" once a month (not after `/cop forget`, not once closed)
and the answers join the library; the archive and the export hold it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from bot.clock import ManualClock
from bot.services.communities import community_in_channel
from bot.services.communities import start_community as start_in_database
from bot.stand_ins import is_erased
from fakeslack import FakeSlack
from fakeslack.workspace import BOT_USER_ID, Channel
from handlers.library import LEARNED_FORM, save_view
from storage.models import LibraryEntry
from tests.conftest import ASHA, BEN, CARMEN, HOUSING, NOOR, TEAM, Cultivate
from tests.steps import (
    SAVE_FORM,
    SAVE_SHORTCUT,
    buttons,
    click_in_dm,
    close,
    closure_id,
    housing,
    posted,
    prompts_in_channel,
    save_settings,
    save_to_library,
    saving_forms,
    start_community,
)

SECRET = "C0SECRET"
TYPED = "Councils share a &lt;!channel&gt; template &amp; it *works*\nSecond line"


async def entries(cultivate: Cultivate) -> list[LibraryEntry]:
    async with cultivate.database.session() as session:
        return list((await session.exec(select(LibraryEntry))).all())


async def told(slack: FakeSlack, user: str, words: str) -> str:
    calls = await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == user and words in c.args["text"]
    )
    return str(calls[-1].args["text"])


async def library_says(cultivate: Cultivate, words: str = "", *, count: int = 1) -> str:
    await cultivate.command(f"library {words}".strip())
    answer = await cultivate.ephemeral(count=count)
    return json.dumps(answer.get("blocks") or answer["text"], ensure_ascii=False)


# -- saving ---------------------------------------------------------------------------------


async def test_a_member_saves_a_message_its_author_is_told_and_only_they_may_remove_it(
    community: Cultivate, slack: FakeSlack
) -> None:
    message = posted(slack, NOOR, TYPED)
    await community.shortcut(message, SAVE_SHORTCUT, user=CARMEN)
    view = await community.opened_view(SAVE_FORM)
    title = next(b for b in view["blocks"] if b.get("block_id") == "title")
    # The title starts from the message's first line, as a reader sees it.
    assert title["element"]["initial_value"] == "Councils share a <!channel> template & it *works*"
    reply = await community.submit(
        view,
        {"title": {"title": "Shared templates"}, "tags": {"tags": "councils, Templates"}},
        user=CARMEN,
    )
    assert reply.json["response_action"] == "update", reply.body

    [entry] = await entries(community)
    assert (entry.author, entry.saved_by, entry.text) == (NOOR, CARMEN, TYPED)
    assert (entry.title, entry.tags) == ("Shared templates", ["councils", "Templates"])
    assert entry.permalink and entry.permalink.startswith("https://") and HOUSING in entry.permalink

    # Noor is told who kept it, with *Remove*; the text she wrote pings nobody.
    calls = await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == NOOR)
    dm = calls[-1]
    shown = json.dumps(dm.args["blocks"])
    assert f"<@{CARMEN}>" in shown and "Shared templates" in shown and "<!channel>" not in shown
    assert [b["text"]["text"] for b in buttons(dm.args["blocks"])] == ["Remove"]

    # Ben (not the author, not who saved it, not a coordinator) cannot remove it.
    await click_in_dm(community, dm, "Remove", user=BEN)
    assert "Only its author" in await told(slack, BEN, "remove")
    assert len(await entries(community)) == 1

    await click_in_dm(community, dm, "Remove", user=NOOR)
    assert "Removed" in await told(slack, NOOR, "Removed")
    assert await entries(community) == []
    # Pressed again, it is gone.
    await click_in_dm(community, dm, "Remove", user=NOOR)
    assert "no longer in the community's library" in await told(slack, NOOR, "no longer")


async def test_the_same_message_saved_twice_is_one_entry(
    community: Cultivate, slack: FakeSlack
) -> None:
    message = posted(slack, NOOR, "Use the shared template")
    assert (await save_to_library(community, message, user=CARMEN)).json[
        "response_action"
    ] == "update"
    # Whoever saved it may change its title and tags: still one entry.
    reply = await save_to_library(community, message, user=CARMEN, title="Templates", tags="a, b")
    assert reply.json["response_action"] == "update"
    [entry] = await entries(community)
    assert (entry.title, entry.tags) == ("Templates", ["a", "b"])
    # Anyone else is told it is there already.
    reply = await save_to_library(community, message, user=ASHA, title="Mine")
    assert reply.json["response_action"] == "errors"
    assert "already in the community's library, as “Templates”" in reply.json["errors"]["title"]
    assert len(await entries(community)) == 1
    # The author saving their own message is not told about it.
    own = posted(slack, CARMEN, "My own note")
    await save_to_library(community, own, user=CARMEN)
    await community.settled()
    assert not [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == CARMEN]


async def test_a_thread_reply_is_saved_with_its_link(
    community: Cultivate, slack: FakeSlack
) -> None:
    parent = posted(slack, NOOR, "A question")
    with slack.workspace.lock:
        reply_message = {
            "type": "message",
            "user": ASHA,
            "text": "The answer",
            "ts": slack.workspace.next_ts(),
            "thread_ts": parent["ts"],
        }
        slack.workspace.add_message(HOUSING, reply_message)
    reply = await save_to_library(community, dict(reply_message), user=CARMEN)
    assert reply.json["response_action"] == "update", reply.body
    [entry] = await entries(community)
    assert (entry.text, entry.author) == ("The answer", ASHA)
    assert entry.permalink and f"thread_ts={parent['ts']}" in entry.permalink


async def test_the_shortcut_refuses_outsiders_forged_channels_and_other_teams(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    slack.workspace.channels[SECRET] = Channel(
        SECRET, "board-matters", is_private=True, members=[BOT_USER_ID, NOOR, CARMEN]
    )
    await start_community(community, name="Board matters", user=NOOR, channel=SECRET)
    other = await start_in_database(
        community.database,
        clock,
        team_id="T0ELSEWHERE",
        channel_id="C0THEIRS",
        name="Theirs",
        domain="",
        timezone="UTC",
        starter="U0THEM",
    )
    public = (await housing(community)).community.id or 0
    secret_message = posted(slack, NOOR, "Board only", channel=SECRET)
    slack.clear()

    # Not a community's channel; a private community Asha is not in: no form, one answer.
    random = posted(slack, BEN, "Lunch?", channel="C0RANDOM")
    await community.shortcut(random, SAVE_SHORTCUT, user=ASHA, channel="C0RANDOM")
    assert "a community you can see" in await told(slack, ASHA, "community")
    await community.shortcut(secret_message, SAVE_SHORTCUT, user=ASHA, channel=SECRET)
    await told(slack, ASHA, "community")
    # Ben can read #housing-policy but is not a member of its community.
    housing_message = posted(slack, NOOR, "Public knowledge")
    await community.shortcut(housing_message, SAVE_SHORTCUT, user=BEN)
    assert "Only the community's members" in await told(slack, BEN, "members")
    await community.settled()
    assert saving_forms(slack) == 0

    # Forged forms: each is refused where it is saved, and nothing is kept.
    forged = [
        # Asha, outside the private community, naming it and its message.
        (ASHA, save_view(await secret_id(community), SECRET, secret_message["ts"], None, "x")),
        # Noor, a member of both, passing the private channel's message off as #housing's.
        (NOOR, save_view(public, SECRET, secret_message["ts"], None, "x")),
        # Another workspace's community.
        (ASHA, save_view(other.id or 0, "C0THEIRS", housing_message["ts"], None, "x")),
        # #housing's community, but a message from elsewhere.
        (ASHA, save_view(public, "C0RANDOM", random["ts"], None, "x")),
    ]
    for user, view in forged:
        reply = await community.submit(view, {"title": {"title": "Stolen"}}, user=user)
        assert reply.json["response_action"] == "errors", (user, view["private_metadata"])
    assert await entries(community) == []


async def secret_id(cultivate: Cultivate) -> int:
    found = await community_in_channel(cultivate.database, team_id=TEAM, channel_id=SECRET)
    assert found is not None
    return found.community.id or 0


# -- finding --------------------------------------------------------------------------------


async def test_cop_library_finds_entries_newest_first_escaped(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    assert "The library is empty" in await library_says(community)
    first = posted(slack, NOOR, TYPED)
    await save_to_library(
        community, first, user=CARMEN, title="<!channel> Templates", tags="Councils"
    )
    clock.advance(timedelta(hours=1))
    # A real `@here` and a mention in the message: shown as words and as the person.
    second = posted(slack, ASHA, f"Procurement rules changed in March <!here> ask <@{BEN}>")
    await save_to_library(community, second, user=NOOR, title="Procurement", tags="rules")

    latest = await library_says(community, count=2)
    assert latest.index("Procurement") < latest.index("Templates")  # newest first
    found = await library_says(community, "template COUNCILS", count=3)
    assert "Templates" in found and "Procurement" not in found
    assert "&lt;!channel&gt; Templates" in found and "<!channel>" not in found
    assert f"<@{NOOR}>" in found  # who wrote it
    assert "https://" in found  # its link
    assert "Nothing in the library holds" in await library_says(community, "nowhere", count=4)
    by_text = await library_says(community, "march", count=5)
    assert "Procurement" in by_text and "Templates" not in by_text
    assert "@here" in by_text and "<!here>" not in by_text and f"<@{BEN}>" in by_text


# -- the monthly prompt -------------------------------------------------------------------


def learning_prompts(slack: FakeSlack, user: str) -> list[Any]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args["channel"] == user and "What did we learn" in c.args["text"]
    ]


async def test_members_are_asked_monthly_once_each_and_answers_join_the_library(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")  # 1 Dec 2026; Asha, Carmen, Noor
    clock.set(datetime(2026, 12, 31, 23, tzinfo=UTC))
    await cultivate.tick()
    assert learning_prompts(slack, NOOR) == []

    clock.set(datetime(2027, 1, 1, 9, tzinfo=UTC))
    await cultivate.tick()
    await cultivate.tick()
    for person in (ASHA, CARMEN, NOOR):
        assert len(learning_prompts(slack, person)) == 1, person
    assert learning_prompts(slack, BEN) == []  # not a member

    # Noor answers from the DM's button: the answer is an entry of hers, escaped.
    [prompt] = learning_prompts(slack, NOOR)
    await click_in_dm(cultivate, prompt, "Share", user=NOOR)
    view = await cultivate.opened_view(LEARNED_FORM)
    reply = await cultivate.submit(
        view,
        {"learned": {"learned": "Ask <!channel> early\nThen wait"}, "tags": {"tags": "a"}},
        user=NOOR,
    )
    assert reply.json["response_action"] == "update", reply.body
    [entry] = await entries(cultivate)
    assert (entry.author, entry.saved_by, entry.period) == (NOOR, NOOR, "2026-12")
    assert entry.text == "Ask &lt;!channel&gt; early\nThen wait"
    assert entry.title == "Ask <!channel> early"
    # Answering again changes her entry for that month.
    reply = await cultivate.submit(view, {"learned": {"learned": "Ask early"}}, user=NOOR)
    assert [e.text for e in await entries(cultivate)] == ["Ask early"]

    # Carmen is forgotten; the next month, the others are asked again and she is not.
    await cultivate.command("forget", user=CARMEN, channel="C0RANDOM")
    forget = await cultivate.opened_view("forget_form")
    await cultivate.submit(forget, {"forget_knowledge": {"forget_knowledge": "keep"}}, user=CARMEN)
    clock.set(datetime(2027, 2, 1, 9, tzinfo=UTC))
    await cultivate.tick()
    assert len(learning_prompts(slack, ASHA)) == len(learning_prompts(slack, NOOR)) == 2
    assert len(learning_prompts(slack, CARMEN)) == 1


async def test_no_monthly_prompt_when_turned_off(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    await cultivate.command("sustain")
    view = await cultivate.opened_view("sustaining_settings")
    ticked = next(b for b in view["blocks"] if b.get("block_id") == "learning_monthly")
    assert ticked["element"]["initial_options"]  # on by default
    assert await save_settings(cultivate, count=2, learning_monthly=[]) == {}
    clock.set(datetime(2027, 1, 1, 9, tzinfo=UTC))
    await cultivate.tick()
    assert learning_prompts(slack, NOOR) == []
    assert await save_settings(cultivate, count=3, learning_monthly=["learning_monthly"]) == {}
    clock.set(datetime(2027, 2, 1, 9, tzinfo=UTC))
    await cultivate.tick()
    assert len(learning_prompts(slack, NOOR)) == 1


async def test_a_closed_community_asks_nothing(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    await close(cultivate, closing_date="2026-12-20")
    clock.set(datetime(2027, 1, 1, 9, tzinfo=UTC))
    await cultivate.tick()
    clock.set(datetime(2027, 2, 1, 9, tzinfo=UTC))
    await cultivate.tick()
    for person in (ASHA, CARMEN, NOOR):
        assert learning_prompts(slack, person) == []


# -- the record -----------------------------------------------------------------------------


async def test_the_archive_and_the_export_hold_the_library(
    community: Cultivate, slack: FakeSlack
) -> None:
    message = posted(slack, NOOR, TYPED)
    await save_to_library(
        community, message, user=CARMEN, title="Templates [see] <!here>", tags="councils"
    )
    await community.command("archive")
    await slack.wait_for("files.completeUploadExternal")
    [file] = [f for f in slack.files if f.filename == "community-archive.md"]
    document = file.content.decode()
    assert "## The community's library" in document
    assert "Templates \\[see\\] &lt;!here&gt;" in document
    assert "Councils share a &lt;!channel&gt; template &amp; it \\*works\\*" in document
    assert "Noor Haddad" in document and "Carmen Díaz" in document
    assert "<!channel>" not in document and "<!here>" not in document and "<@U" not in document

    await community.command("export")
    await slack.wait_for("files.completeUploadExternal", count=2)
    record = next(f for f in slack.files if f.filename == "community-record.json")
    [kept] = json.loads(record.content)["library"]
    assert (kept["author"], kept["saved_by"], kept["tags"]) == (NOOR, CARMEN, ["councils"])


async def test_forget_deletes_their_words_and_keeps_what_they_saved_unnamed(
    community: Cultivate, slack: FakeSlack
) -> None:
    theirs = posted(slack, CARMEN, f"Ask <@{NOOR}> about it")
    await save_to_library(community, theirs, user=NOOR, title="Carmen's tip")
    others = posted(slack, ASHA, f"Thanks <@{CARMEN}>, that worked")
    await save_to_library(community, others, user=CARMEN, title="Asha's thanks")
    await community.command("forget", user=CARMEN, channel="C0RANDOM")
    forget = await community.opened_view("forget_form")
    shown = json.dumps(forget["blocks"], ensure_ascii=False)
    assert "your words in a community's library: 1" in shown
    assert "messages you saved to a library: 1" in shown
    await community.submit(forget, {"forget_knowledge": {"forget_knowledge": "keep"}}, user=CARMEN)

    [kept] = await entries(community)
    assert kept.title == "Asha's thanks" and kept.author == ASHA and is_erased(kept.saved_by)
    assert CARMEN not in kept.text and "a former member" in kept.text
    listing = await library_says(community)
    assert CARMEN not in listing and "<@erased-" not in listing


async def test_the_closures_capture_starts_from_the_library(
    community: Cultivate, slack: FakeSlack
) -> None:
    message = posted(slack, NOOR, "Ventilation first, insulation second")
    await save_to_library(community, message, user=CARMEN, title="Ventilation <first>")
    await close(community)
    await slack.wait_for(
        "chat.postMessage", lambda c: "please share what you learned" in c.args["text"]
    )
    [prompt] = prompts_in_channel(slack)
    shown = json.dumps(prompt["blocks"], ensure_ascii=False)
    assert "library already holds 1 entry" in shown and "Ventilation &lt;first&gt;" in shown
    await community.click(
        {"action_id": "capture_share", "type": "button", "value": await closure_id(community)},
        user=NOOR,
    )
    form = await community.opened_view("capture_form")
    assert "library already holds 1 entry" in json.dumps(form["blocks"])
