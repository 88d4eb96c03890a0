"""The coordinator's journey: a note after each save with the next step as a button, one next
step through the launch and closure on `/cop status` and App Home, a closed community shown
read-only, and a closure that says what it will do before it does it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.catalogue import GOVERNANCE, SCOPE
from bot.services.communities import is_closed
from fakeslack import FakeSlack
from storage.models import Community, ScheduledSend
from tests.conftest import ASHA, BEN, HOUSING, Cultivate, eventually
from tests.steps import (
    as_values,
    close,
    close_values,
    community_with_roles_and_members,  # noqa: F401 (a fixture)
    every_member_invited,
    housing,
    launch,
    open_home,
    open_stage,
    press,
    prompts_in_channel,
    share,
    stored,
)

SCOPE_ANSWERS = {q.key: f"Answer to {q.key}" for q in SCOPE.questions}


def texts(blocks: list[dict[str, Any]]) -> str:
    """Every piece of text in some blocks, sections and contexts alike."""
    found = []
    for b in blocks:
        if "text" in b:
            found.append(b["text"].get("text", ""))
        found += [e.get("text", "") for e in b.get("elements", []) if e.get("type") == "mrkdwn"]
    return "\n".join(found)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [b["accessory"] for b in blocks if b.get("accessory", {}).get("type") == "button"]
    for b in blocks:
        if b["type"] == "actions":
            found += [e for e in b["elements"] if e.get("type") == "button"]
    return found


def next_line(blocks: list[dict[str, Any]]) -> str:
    return next(
        b["elements"][0]["text"]
        for b in blocks
        if b["type"] == "context"
        and b["elements"][0]["text"].startswith(("*Next:*", "*Closing:*", "*Closed*"))
    )


# -- 1. after each save, what was saved and the next step as a button ------------------------


async def test_saving_a_stage_says_what_was_saved_and_offers_the_next_stage_as_a_button(
    community: Cultivate,
    slack: FakeSlack,
) -> None:
    view = await open_stage(community, SCOPE)
    reply = await community.submit(view, as_values(SCOPE_ANSWERS))
    assert reply.body == "", reply.body
    [note] = await slack.wait_for("chat.postEphemeral", lambda c: "Saved" in c.args["text"])
    assert note.args["channel"] == HOUSING and note.args["user"] == ASHA
    assert "Saved *Defining the scope*: 7 of 7 answered." in note.args["text"]
    assert f"`/cop {GOVERNANCE.key}`" in note.args["text"]  # the next stage's first question
    [open_button] = buttons(note.args["blocks"])
    assert open_button["text"]["text"] == "Open"

    # The button opens the governance form, checked again where it is saved.
    await community.click(
        {"action_id": open_button["action_id"], "type": "button", "value": open_button["value"]},
        channel=HOUSING,
        message={"ts": "1.2", "blocks": note.args["blocks"]},
    )
    opened = await community.opened_view("stage_form", count=2)
    assert opened["title"]["text"] == GOVERNANCE.title
    # Pressed by someone who is not a coordinator, it shows the answers, never a form.
    await community.click(
        {"action_id": open_button["action_id"], "type": "button", "value": open_button["value"]},
        user=BEN,
        channel=HOUSING,
        message={"ts": "1.2", "blocks": note.args["blocks"]},
    )
    [summary] = await slack.wait_for(
        "views.open", lambda c: "callback_id" not in c.args["view"], count=1
    )
    assert "submit" not in summary.args["view"]


async def test_a_partial_save_offers_the_same_stage_again(
    community: Cultivate,
    slack: FakeSlack,
) -> None:
    view = await open_stage(community, SCOPE)
    await community.submit(view, as_values({"need": "Yes", "rationale": "Because"}))
    [note] = await slack.wait_for("chat.postEphemeral", lambda c: "Saved" in c.args["text"])
    assert "3 of 7 answered" in note.args["text"]  # the fixture answered `aims`
    assert "What are the core issues" in note.args["text"]
    [open_button] = buttons(note.args["blocks"])
    assert open_button["value"].endswith(":scope")


# -- the next step follows the launch and the closure, on status and Home alike ---------------


async def status_next(cultivate: Cultivate, user: str = ASHA) -> str:
    """The next step as `/cop status` shows it, checked to be the same on App Home."""
    answered = len(cultivate.slack.calls_to("response_url"))
    await cultivate.command("status", user=user)
    status = await cultivate.ephemeral(count=answered + 1)
    on_status = next_line(status["blocks"])
    home = await open_home(cultivate, user)
    assert next_line(home["blocks"]) == on_status  # one function, both surfaces
    return on_status


async def test_the_next_step_follows_the_launch_workshop_and_the_terms(
    community: Cultivate,
    slack: FakeSlack,
) -> None:
    assert "Is there a genuine need" not in await status_next(community)
    message = await launch(community)  # the workshop on 8 Dec, 18:00
    step = await status_next(community)
    assert step.startswith("*Next:* the launch workshop, <!date^")

    community.runtime.clock.advance(timedelta(days=8))
    step = await status_next(community)
    assert "has been held" in step and "*Mark agreed*" in step

    await press(community, message, "terms_mark_agreed")
    await slack.wait_for("chat.postMessage", lambda c: "is launched" in c.args["text"])
    step = await status_next(community)
    assert "launched" in step and "`/cop meeting`" in step
    assert "launch workshop" not in step


async def test_after_closure_status_and_home_say_where_it_stands_not_what_to_set_up(
    community: Cultivate,
    slack: FakeSlack,
) -> None:
    await close(community)
    await every_member_invited(community, slack)
    step = await status_next(community)
    assert step.startswith("*Closing:*") and "Tue 15 Dec 2026" in step
    assert "Is there a genuine need" not in step

    community.runtime.clock.advance(timedelta(days=15))
    await community.tick()
    step = await status_next(community)
    assert step.startswith("*Closed* on Tue 15 Dec 2026")
    assert "|its archive>" in step and "`/cop export`" in step


async def test_a_closed_home_offers_no_edits_and_shows_who_shared_and_the_export(
    community: Cultivate,
    slack: FakeSlack,
) -> None:
    await close(community)
    await every_member_invited(community, slack)
    await community.tick()
    await share(community, BEN, lessons="Start small")
    community.runtime.clock.advance(timedelta(days=16))  # past the closing date
    await community.tick()

    home = await open_home(community, ASHA)
    labels = [b["text"]["text"] for b in buttons(home["blocks"])]
    assert "Edit" not in labels and "Log a guest" not in labels
    assert "Invite people" not in labels
    assert "View" in labels  # its answers can still be read
    assert "Export the record" in labels
    shown = texts(home["blocks"])
    assert "Closing" not in shown  # the date has passed: it is closed
    assert f"Shared what they learned* (1): <@{BEN}>" in shown
    assert "Overdue" not in shown

    # The export button sends the record to whoever pressed it, a coordinator.
    [export] = [b for b in buttons(home["blocks"]) if b["text"]["text"] == "Export the record"]
    await community.click(
        {"action_id": export["action_id"], "type": "button", "value": export["value"]}
    )

    async def exported() -> bool:
        return any(f.filename == "community-record.json" for f in slack.files)

    await eventually(exported)


# -- forms that a closed community would refuse are read-only summaries -----------------------


@pytest.mark.parametrize(
    ("command", "title", "why"),
    [
        ("scope", SCOPE.title, "can no longer be changed"),
        ("governance", GOVERNANCE.title, "can no longer be changed"),
        ("meeting", "Plan a meeting", "cannot be planned or changed"),
        ("perspective", "New perspective", "takes no new settings, perspectives"),
        ("invite", "Invite people", "takes no new settings, perspectives"),
        ("sustain", "Sustaining", "takes no new settings, perspectives"),
        ("welcome", "Welcome message", "welcomes nobody any more"),
        ("launch", "Launch", "can no longer be changed"),
    ],
)
async def test_after_closure_a_form_that_would_be_refused_is_a_read_only_summary(
    community: Cultivate,
    slack: FakeSlack,
    command: str,
    title: str,
    why: str,
) -> None:
    await close(community)
    await community.command(command)
    [opened] = await slack.wait_for(
        "views.open", lambda c: c.args["view"]["title"]["text"] == title
    )
    view = opened.args["view"]
    assert "submit" not in view and "callback_id" not in view
    assert not [b for b in view["blocks"] if b["type"] == "input"]
    assert why in texts(view["blocks"])


async def test_scope_after_closure_shows_the_answers_and_why_they_cannot_change(
    community: Cultivate,
    slack: FakeSlack,
) -> None:
    await close(community)
    await community.command("scope")
    [opened] = await slack.wait_for(
        "views.open", lambda c: c.args["view"]["title"]["text"] == SCOPE.title
    )
    shown = texts(opened.args["view"]["blocks"])
    assert "&lt;!channel&gt;" in shown  # the answer as saved, escaped
    assert "community is closed" in shown


# -- 3. a closure that can't go wrong ---------------------------------------------------------


async def test_the_close_form_says_what_will_happen_and_closes_only_once_confirmed(
    community: Cultivate,
    slack: FakeSlack,
) -> None:
    await community.command("close")
    view = await community.opened_view("closure_form")
    assert (view["close"]["text"], view["submit"]["text"]) == ("Cancel", "Next")
    reply = await community.submit(view, close_values())
    confirm = reply.json["view"]
    assert (confirm["close"]["text"], confirm["submit"]["text"]) == (
        "Cancel",
        "Close the community",
    )
    said = texts(confirm["blocks"])
    assert "cannot be undone" in said
    assert "read-only at once" in said
    assert "pending reminder" in said
    assert "4 members are asked" in said and "within 14 days" in said
    assert "On Tue 15 Dec 2026 the celebration" in said
    assert "Its area of interest has reached a conclusion" in said
    # Nothing has happened yet: the community is open and nothing is scheduled for it.
    assert not is_closed(await housing(community))
    assert prompts_in_channel(slack) == []

    confirmed = await community.submit(slack.views[view["id"]], {})
    assert confirmed.body == ""
    assert is_closed(await housing(community))


async def test_errors_in_the_first_step_are_shown_on_their_fields_and_close_nothing(
    community: Cultivate,
) -> None:
    await community.command("close")
    view = await community.opened_view("closure_form")
    reply = await community.submit(view, close_values(closing_date="2020-01-01"))
    assert reply.json["response_action"] == "errors"
    assert "past" in reply.json["errors"]["closing_date"]
    await community.command("close", user=BEN)
    assert "Only this community's coordinators" in (await community.ephemeral())["text"]


async def test_the_reason_and_note_reach_the_announcement_the_prompts_and_the_celebration(
    community: Cultivate,
    slack: FakeSlack,
) -> None:
    note = "Thank you all <!channel> for three good years"
    await close(community, note=note)
    await every_member_invited(community, slack)
    [announcement] = prompts_in_channel(slack)
    escaped = "Thank you all &lt;!channel&gt; for three good years"
    for text in (announcement["text"], texts(announcement["blocks"])):
        assert "Its area of interest has reached a conclusion" in text
        assert escaped in text and "<!channel>" not in text
    prompt = next(
        c.args
        for c in slack.calls_to("chat.postMessage")
        if c.args["channel"] == BEN and "What did you learn" in c.args["text"]
    )
    assert escaped in prompt["text"] and f"A note from <@{ASHA}>" in prompt["text"]

    community.runtime.clock.advance(timedelta(days=15))
    await community.tick()
    [celebration] = [m for m in slack.messages(HOUSING) if "Celebrating" in m["text"]]
    body = texts(celebration["blocks"])
    assert "Its area of interest has reached a conclusion" in body and escaped in body


async def test_another_reason_is_said_in_the_coordinators_words(
    community: Cultivate,
    slack: FakeSlack,
) -> None:
    await close(community, reason="other", note="The team is merging into Planning")
    await every_member_invited(community, slack)
    [announcement] = prompts_in_channel(slack)
    assert f"*Why, from <@{ASHA}>:* The team is merging into Planning" in announcement["text"]


async def test_dismissing_the_split_step_leaves_the_community_open(
    community: Cultivate,
    slack: FakeSlack,
) -> None:
    view = await close(community, reason="split")
    confirm = slack.views[view["id"]]
    assert confirm["callback_id"] == "closure_confirm"
    assert "sub1_name" in {b.get("block_id") for b in confirm["blocks"]}
    assert "The new communities below start at once" in texts(confirm["blocks"])
    rows_before = await stored(community, ScheduledSend)
    # The person presses Cancel: Slack closes the modal and tells the app nothing.
    await community.settled()
    assert not is_closed(await housing(community))
    assert await stored(community, ScheduledSend) == rows_before
    assert slack.calls_to("conversations.create") == []
    assert prompts_in_channel(slack) == []
    # An empty split is refused on its field, and still nothing has closed.
    reply = await community.submit(confirm, {})
    assert "sub1_name" in reply.json["errors"]
    assert not is_closed(await housing(community))


async def test_closing_with_a_split_in_one_flow_creates_the_sub_communities_and_closes(
    community: Cultivate,
    slack: FakeSlack,
) -> None:
    view = await close(community, reason="split", note="Two teams now")
    reply = await community.submit(
        slack.views[view["id"]],
        as_values({"sub1_name": "Housing Finance", "sub1_members": [BEN]}),
    )
    assert reply.body == "", reply.body
    await slack.wait_for("chat.postMessage", lambda c: "grows out of" in c.args["text"])
    assert is_closed(await housing(community))
    async with community.database.session() as session:
        names = (await session.exec(select(Community.name).order_by(Community.id))).all()
    assert names == ["Housing policy", "Housing Finance"]
    await every_member_invited(community, slack)
    [announcement] = prompts_in_channel(slack)
    assert "It is splitting into sub-communities" in announcement["text"]
    assert "Two teams now" in announcement["text"]
