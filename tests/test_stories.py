"""Value stories: every quarter each member is asked, once, for their story of the value the
community created (not a forgotten person, not in a closed community, not when a coordinator
chose never); the form keeps one story per person and period, updated when they answer
again; the sponsor report shows the stories that may be shared, named or not, and never a
word of one that may not; its counts by kind of value are `/cop health`'s."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from docx import Document as Word
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.services import sustaining
from bot.value import VALUE_KINDS
from fakeslack import Call, FakeSlack
from storage.models import ScheduledSend, ValueStory
from tests.conftest import ASHA, BEN, CARMEN, NOOR, Cultivate
from tests.steps import (
    LIAM,
    as_values,
    click_in_dm,
    close,
    figure_lines,
    joined,
    report_table,
    save_settings,
    stored,
)

QUARTER_ENDS = datetime(2027, 1, 1, 12, tzinfo=UTC)  # after 09:00 in London on 1 January
NEXT_QUARTER_ENDS = datetime(2027, 4, 1, 12, tzinfo=UTC)
PEOPLE = (ASHA, BEN, CARMEN, NOOR)
THANKS = "Thank you: your story is kept. You can change it this period."
SECRET = "Only for me: the pilot failed and we hid it"


def prompts(slack: FakeSlack, user: str) -> list[Call]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args["channel"] == user and c.args["text"].startswith("Your value story")
    ]


async def open_rounds(cultivate: Cultivate) -> list[ScheduledSend]:
    async with cultivate.database.session() as session:
        result = await session.exec(
            select(ScheduledSend).where(
                ScheduledSend.kind == sustaining.STORIES,
                col(ScheduledSend.state).in_(("pending", "claimed")),
            )
        )
        return list(result.all())


async def with_ben(cultivate: Cultivate) -> None:
    """Asha's community (Asha, Carmen and Noor in its channel from the start), Ben joined."""
    await joined(cultivate, BEN)
    await cultivate.settled()
    await cultivate.tick()


async def quarter_over(cultivate: Cultivate, clock: ManualClock, moment: datetime) -> None:
    clock.set(moment)
    await cultivate.tick()
    await cultivate.settled()
    await cultivate.tick()


async def open_form(cultivate: Cultivate, user: str) -> dict[str, Any]:
    """Press *Tell your story* in the person's latest prompt: the form that opens."""
    opened = [
        c
        for c in cultivate.slack.calls_to("views.open")
        if c.ok and c.args["view"].get("callback_id") == "value_story_form"
    ]
    await click_in_dm(cultivate, prompts(cultivate.slack, user)[-1], "Tell your story", user=user)
    return await cultivate.opened_view("value_story_form", count=len(opened) + 1)


async def answered(
    cultivate: Cultivate, view: dict[str, Any], values: dict[str, Any], *, user: str
) -> dict[str, Any]:
    return (await cultivate.submit(view, values, user=user)).json or {}


async def tell(cultivate: Cultivate, user: str, consent: str | None, **answers: str) -> str:
    """Open the form from the prompt and save these answers; what the form then shows."""
    view = await open_form(cultivate, user)
    values = as_values(answers)
    if consent is not None:
        values["consent"] = {"consent": consent}
    reply = await cultivate.submit(view, values, user=user)
    assert reply.json["response_action"] == "update", reply.body
    return str(reply.json["view"]["blocks"][0]["text"]["text"])


# -- the prompt ---------------------------------------------------------------------------


async def test_each_member_is_asked_once_a_quarter(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await with_ben(community)
    (planned,) = await open_rounds(community)
    assert planned.due_at == datetime(2027, 1, 1, 9, tzinfo=UTC)  # 09:00 in London, in winter
    clock.set(datetime(2027, 1, 1, 8, 59, tzinfo=UTC))
    await community.tick()
    assert all(prompts(slack, person) == [] for person in PEOPLE)

    await quarter_over(community, clock, QUARTER_ENDS)
    for person in PEOPLE:
        (prompt,) = prompts(slack, person)
        shown = json.dumps(prompt.args["blocks"])
        assert "Thu 1 Oct 2026 to Thu 31 Dec 2026" in shown and "Tell your story" in shown
    assert prompts(slack, LIAM) == []  # not a member
    clock.advance(timedelta(days=3))  # however often the heartbeat beats, once a quarter
    await community.tick()
    assert [len(prompts(slack, p)) for p in PEOPLE] == [1, 1, 1, 1]

    await quarter_over(community, clock, NEXT_QUARTER_ENDS)
    assert [len(prompts(slack, p)) for p in PEOPLE] == [2, 2, 2, 2]
    assert "Fri 1 Jan 2027 to Wed 31 Mar 2027" in json.dumps(prompts(slack, NOOR)[-1].args)
    (planned,) = await open_rounds(community)
    assert planned.due_at == datetime(2027, 7, 1, 8, tzinfo=UTC)  # 09:00 in London, in summer


async def test_a_forgotten_person_is_not_asked(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await with_ben(community)
    await community.command("forget", user=NOOR)
    view = await community.opened_view("forget_form")
    reply = await community.submit(
        view, {"forget_knowledge": {"forget_knowledge": "remove"}}, user=NOOR
    )
    assert reply.json["response_action"] == "update"

    await quarter_over(community, clock, QUARTER_ENDS)
    assert prompts(slack, NOOR) == []
    assert [len(prompts(slack, p)) for p in (ASHA, BEN, CARMEN)] == [1, 1, 1]
    sent = json.dumps([c.args for c in slack.calls_to("chat.postMessage")])
    assert "erased-" not in sent  # nor is their stand-in, as a channel or anywhere


async def test_a_closed_community_asks_no_one(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await with_ben(community)
    await close(community)
    await quarter_over(community, clock, QUARTER_ENDS)
    assert all(prompts(slack, person) == [] for person in PEOPLE)
    assert await open_rounds(community) == []


async def test_a_community_that_chose_never_asks_no_one(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await with_ben(community)
    await community.command("sustain")
    form = await community.opened_view("sustaining_settings")
    (field,) = [b for b in form["blocks"] if b.get("block_id") == "stories_period"]
    assert field["element"]["initial_option"]["value"] == "quarterly"  # on by default
    assert [o["text"]["text"] for o in field["element"]["options"]] == [
        "Every quarter",
        "Every six months",
        "Never",
    ]
    forged = await save_settings(
        community,
        count=2,
        digest_period="monthly",
        perspective_weeks="13",
        report_period="never",
        stories_period="weekly",
    )
    assert set(forged["errors"]) == {"stories_period"}
    saved = await save_settings(
        community,
        count=3,
        digest_period="monthly",
        perspective_weeks="13",
        report_period="never",
        stories_period="never",
    )
    assert saved == {}
    assert await open_rounds(community) == []
    await quarter_over(community, clock, QUARTER_ENDS)
    assert all(prompts(slack, person) == [] for person in PEOPLE)

    # Every six months: the year's second half is over on 1 January too.
    await save_settings(
        community,
        count=4,
        digest_period="monthly",
        perspective_weeks="13",
        report_period="never",
        stories_period="half-yearly",
    )
    (planned,) = await open_rounds(community)
    assert planned.due_at == datetime(2027, 7, 1, 8, tzinfo=UTC)
    assert planned.payload["period"] == "2027-H1"


# -- the form -----------------------------------------------------------------------------


async def test_the_form_keeps_one_story_a_period_and_answering_again_updates_it(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await with_ben(community)
    await quarter_over(community, clock, QUARTER_ENDS)
    view = await open_form(community, NOOR)
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels == [*(k.question for k in VALUE_KINDS), "May we share your story?"]

    nothing = await answered(community, view, {"consent": {"consent": "named"}}, user=NOOR)
    assert nothing["response_action"] == "errors"
    assert nothing["errors"] == {
        "immediate": "Please answer at least one question: any one will do."
    }
    no_consent = await answered(
        community, view, as_values({"applied": "A new checklist"}), user=NOOR
    )
    assert set(no_consent["errors"]) == {"consent"}
    forged = await answered(
        community, view, as_values({"applied": "x", "consent": "everyone"}), user=NOOR
    )
    assert set(forged["errors"]) == {"consent"}
    # Someone who is not a member, with the form's metadata, is refused where it is saved.
    outsider = await answered(
        community, view, as_values({"applied": "x", "consent": "named"}), user=LIAM
    )
    assert "Only the community's members" in outsider["errors"]["immediate"]
    assert await stored(community, ValueStory) == []
    # Nor does the form open for them from a button: they are told why, privately.
    await community.click(
        {"action_id": "value_story_tell", "type": "button", "value": "1"}, user=LIAM
    )
    (told,) = await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == LIAM)
    assert told.args["text"] == "Only the community's members can tell its value story."

    saved = await answered(
        community, view, as_values({"applied": "A new checklist", "consent": "named"}), user=NOOR
    )
    assert saved["response_action"] == "update"
    (story,) = await stored(community, ValueStory)
    assert (story.user_id, story.period, story.answers, story.consent) == (
        NOOR,
        "2026-Q4",
        {"applied": "A new checklist"},
        "named",
    )

    clock.advance(timedelta(days=20))
    again = await open_form(community, NOOR)
    shown = {b["block_id"]: b["element"] for b in again["blocks"] if b["type"] == "input"}
    assert shown["applied"]["initial_value"] == "A new checklist"  # the story so far
    assert shown["consent"]["initial_option"]["value"] == "named"
    reply = await community.submit(
        again,
        as_values({"realised": "Two weeks saved", "consent": "unnamed"}),
        user=NOOR,
    )
    assert reply.json["response_action"] == "update"
    (story,) = await stored(community, ValueStory)  # updated, not a second
    assert (story.answers, story.consent, story.answered_at) == (
        {"applied": "A new checklist", "realised": "Two weeks saved"},  # as the form held it
        "unnamed",
        QUARTER_ENDS + timedelta(days=20),
    )


# -- the report and /cop health -----------------------------------------------------------


async def test_the_report_shares_what_may_be_shared_and_health_counts_alike(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await with_ben(community)
    await quarter_over(community, clock, QUARTER_ENDS)
    assert (
        await tell(
            community,
            NOOR,
            "named",
            immediate="The <!channel> tenancy clinic",
            applied="We *rewrote* our [letters](http://x.example)",
        )
        == THANKS
    )
    assert (
        await tell(community, CARMEN, "unnamed", potential="Contacts in three councils") == THANKS
    )
    assert await tell(community, BEN, "private", immediate=SECRET, reframing=SECRET) == THANKS

    clock.advance(timedelta(hours=1))
    await community.settled()
    slack.clear()
    await community.command("health")
    health = figure_lines((await community.ephemeral())["blocks"])
    assert health["Value stories"].startswith("3 arrived (")
    assert health["Value stories"].endswith("), 3 in all")
    await slack.wait_for("files.completeUploadExternal")
    await community.command("report")
    await slack.wait_for("files.completeUploadExternal", count=2)
    (report,) = [f for f in slack.files if f.filename.endswith("-report-2027-01-01.md")]
    markdown = report.content.decode()
    word = next(f for f in slack.files if f.filename.endswith("-report-2027-01-01.docx"))
    paragraphs = "\n".join(p.text for p in Word(io.BytesIO(word.content)).paragraphs)

    # Named: by name; unnamed: "a member"; escaped; the private story not a word of it.
    assert "From Noor Haddad, Fri 1 Jan 2027:" in markdown
    assert "From a member, Fri 1 Jan 2027:" in markdown
    assert "> **Immediate value**: The &lt;!channel&gt; tenancy clinic" in markdown
    assert "We \\*rewrote\\* our \\[letters\\](http://x.example)" in markdown
    assert "<!channel>" not in markdown
    assert "The <!channel> tenancy clinic" in paragraphs  # Word has no markup to fear
    assert "Carmen" not in markdown and "Okafor" not in markdown
    for document in (markdown, paragraphs):
        assert SECRET not in document and "pilot failed" not in document

    # The counts by kind of value: the report's table and /cop health's line agree.
    table = report_table(markdown)
    in_report = {k.label: table[k.label] for k in VALUE_KINDS}
    assert in_report == {
        "Immediate value": "2",
        "Potential value": "1",
        "Applied value": "1",
        "Realised value": "0",
        "Reframing value": "1",
    }
    in_health = dict(
        part.rsplit(" ", 1) for part in health["Stories by kind of value"].split(" · ")
    )
    assert in_health == in_report
    assert "3 value stories arrived" in markdown and "2 to share; 3 in all" in markdown


async def test_forgetting_deletes_a_persons_stories(
    community: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await with_ben(community)
    await quarter_over(community, clock, QUARTER_ENDS)
    assert await tell(community, NOOR, "named", immediate="The tenancy clinic") == THANKS
    assert await tell(community, CARMEN, "named", applied="New letters") == THANKS

    await community.command("forget", user=NOOR)
    view = await community.opened_view("forget_form")
    assert "your value stories: 1" in json.dumps(view["blocks"])
    # Keeping what she shared at a closure does not keep her stories: they are her words.
    reply = await community.submit(
        view, {"forget_knowledge": {"forget_knowledge": "keep"}}, user=NOOR
    )
    assert reply.json["response_action"] == "update"
    assert [s.user_id for s in await stored(community, ValueStory)] == [CARMEN]
