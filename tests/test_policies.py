"""Policy starters: a coordinator starts a policy from its starter, edits it, marks it agreed,
and the terms of reference hold it under its heading; nobody else can; nothing typed pings."""

from __future__ import annotations

import json
from typing import Any

from bot.catalogue import POLICY_AREAS, WAYS_OF_WORKING
from bot.policies import KINDS, POLICIES, STARTERS, TEXT
from bot.services.document import docx_text
from fakeslack import FakeSlack
from tests.conftest import ASHA, BEN, HOUSING, Cultivate
from tests.steps import (
    TYPED,
    buttons,
    inputs_of,
    joined,
    launch,
    markdown_files,
    open_stage,
    revisions,
    welcome_dms,
)

EDITED = "\n\nQuestions about it go to our data protection officer, Dana Okoro."


def row(view: dict[str, Any], label: str) -> str:
    """A policy's line in the ways-of-working form or summary."""
    return next(
        b["text"]["text"]
        for b in view["blocks"]
        if b["type"] == "section" and b["text"]["text"].startswith(f"*{label}* · ")
    )


def texts_of(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"])


async def press(
    cultivate: Cultivate, view: dict[str, Any], action_id: str, *, user: str = ASHA
) -> None:
    """Press a policy's button in the form as Slack holds it (`user` may not be its owner)."""
    element = next(e for e in buttons(view["blocks"]) if e["action_id"] == action_id)
    action = {"action_id": action_id, "type": "button", "value": element["value"]}
    assert (await cultivate.click(action, view=view, user=user)).status == 200


async def policies_saved(cultivate: Cultivate) -> list[dict[str, Any]]:
    saved = await revisions(cultivate, WAYS_OF_WORKING.key)
    return list(saved[-1].answers.get("policies") or []) if saved else []


async def write(
    cultivate: Cultivate, area: str, text: str, *, starter: bool = False
) -> dict[str, Any]:
    """From the ways-of-working form, open a policy's editor and save `text`; returns the form
    as Slack then holds it."""
    form = await open_stage(cultivate, WAYS_OF_WORKING)
    pushes = len(cultivate.slack.calls_to("views.push"))
    updates = len(cultivate.slack.calls_to("views.update"))
    await press(cultivate, form, f"policy_{'starter' if starter else 'edit'}:{area}")
    editor = await cultivate.opened_view("policy_form", method="views.push", count=pushes + 1)
    reply = await cultivate.submit(editor, {TEXT: {TEXT: text}})
    assert reply.body == "", reply.body
    await cultivate.slack.wait_for("views.update", count=updates + 1)
    return cultivate.slack.views[form["id"]]


def test_each_policy_the_checklist_asks_about_has_a_starter_that_fits_its_field() -> None:
    assert [k.area for k in KINDS] == [o.value for o in POLICY_AREAS]
    limit = POLICIES.item_field(TEXT).max_length
    for kind in KINDS:
        assert 200 < len(kind.text) <= limit and kind.guidance.strip()
        assert "\n\n" in kind.text  # short paragraphs, not a wall
    privacy = STARTERS["privacy"].text
    for needed in ("UK GDPR", "Data Protection Act 2018", "lawful basis", "after it closes"):
        assert needed in privacy
    assert "right to see" in privacy and "Information Commissioner" in privacy
    copyright = STARTERS["copyright"].text
    assert "Open Government Licence" in copyright and "CC BY 4.0" in copyright


async def test_a_coordinator_adopts_a_starter_edits_it_marks_it_agreed_and_the_terms_hold_it(
    community: Cultivate, slack: FakeSlack
) -> None:
    form = await open_stage(community, WAYS_OF_WORKING)
    assert row(form, "Privacy").startswith("*Privacy* · _not written yet_\n")
    labels = {e["action_id"]: e["text"]["text"] for e in buttons(form["blocks"])}
    assert labels["policy_starter:privacy"] == "Use a starter"
    assert labels["policy_edit:privacy"] == "Write your own"
    assert "policy_agree:privacy" not in labels  # nothing to agree yet

    # The starter fills the editor; she makes it her own before saving.
    await press(community, form, "policy_starter:privacy")
    editor = await community.opened_view("policy_form", method="views.push")
    starter = inputs_of(editor)[TEXT]["element"]["initial_value"]
    assert starter == STARTERS["privacy"].text
    assert STARTERS["privacy"].guidance in texts_of(editor)
    assert (await community.submit(editor, {TEXT: {TEXT: starter + EDITED}})).body == ""
    assert await policies_saved(community) == [
        {"area": "privacy", TEXT: starter + EDITED, "status": "draft"}
    ]

    # The form beneath shows it drafted, with *Mark agreed*; pressing it agrees it.
    await slack.wait_for("views.update")
    shown = slack.views[form["id"]]
    assert row(shown, "Privacy").startswith("*Privacy* · draft, not agreed yet\n>")
    await press(community, shown, "policy_agree:privacy")
    await slack.wait_for("views.update", count=2)
    assert [p["status"] for p in await policies_saved(community)] == ["agreed"]
    shown = slack.views[form["id"]]
    assert row(shown, "Privacy").startswith("*Privacy* · :white_check_mark: agreed")
    assert "policy_agree:privacy" not in {e["action_id"] for e in buttons(shown["blocks"])}

    # The terms of reference hold it under its heading, as Markdown and as Word.
    await launch(community)
    markdown_file, word = slack.files[:2]
    document = markdown_file.content.decode()
    policies = document.split("## 7. Policies\n", 1)[1].split("\n## ", 1)[0]
    assert policies.startswith("\n### Privacy\n\n")
    assert "Data Protection Act 2018" in policies and "Dana Okoro." in policies
    assert "_Agreed._" in policies
    assert "Policies: Privacy" not in document  # no longer a gap
    assert "- Policies: Code of conduct, not written yet." in document
    paragraphs = docx_text(word.content)
    heading = paragraphs.index(("Heading2", "Privacy"))
    after = [text for _, text in paragraphs[heading + 1 : heading + 7]]
    assert after[0].startswith("[Organisation] is the controller")
    assert any("Dana Okoro" in text for text in after) and "Agreed." in after


async def test_an_agreed_policy_changed_is_a_draft_again_and_emptied_is_removed(
    community: Cultivate, slack: FakeSlack
) -> None:
    shown = await write(community, "code_of_conduct", "Be kind.", starter=True)
    await press(community, shown, "policy_agree:code_of_conduct")
    await slack.wait_for("views.update", count=2)
    # Saved again unchanged, it stays agreed; with new words, it is a draft to agree again.
    await write(community, "code_of_conduct", "Be kind.")
    assert [p["status"] for p in await policies_saved(community)] == ["agreed"]
    editor = await community.opened_view("policy_form", method="views.push", count=2)
    assert "Changing its words makes it a draft again" in texts_of(editor)
    await write(community, "code_of_conduct", "Be kind, and patient.")
    assert [(p[TEXT], p["status"]) for p in await policies_saved(community)] == [
        ("Be kind, and patient.", "draft")
    ]
    await write(community, "code_of_conduct", "")
    assert await policies_saved(community) == []


async def test_a_non_coordinators_forged_mark_agreed_is_refused_and_changes_nothing(
    community: Cultivate, slack: FakeSlack
) -> None:
    form = await write(community, "security", "OFFICIAL only.", starter=True)
    before = await revisions(community, WAYS_OF_WORKING.key)

    # Ben, a member, presses the buttons of Asha's form: each is refused in the one wording.
    await joined(community, BEN)
    await community.settled()
    await press(community, form, "policy_agree:security", user=BEN)
    (told,) = await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == BEN and "Only" in c.args["text"]
    )
    assert told.args["text"] == (
        "Only this community's coordinators can mark its policies agreed. Nothing was saved."
    )
    await press(community, form, "policy_edit:security", user=BEN)
    told = await slack.wait_for(
        "chat.postMessage",
        lambda c: c.args["channel"] == BEN and "Only" in c.args["text"],
        count=2,
    )
    assert told[-1].args["text"] == "Only this community's coordinators can change its policies."
    # Nor can he save the editor's form, forged.
    editor = await community.opened_view("policy_form", method="views.push")
    reply = await community.submit(editor, {TEXT: {TEXT: "Anything goes"}}, user=BEN)
    assert reply.json["response_action"] == "errors"
    assert (
        "Only this community's coordinators can change its policies" in reply.json["errors"][TEXT]
    )
    assert await revisions(community, WAYS_OF_WORKING.key) == before
    assert [p["status"] for p in await policies_saved(community)] == ["draft"]
    assert len(slack.calls_to("views.push")) == 1  # Asha's only

    # He sees each policy's state, and no button.
    summary = await open_stage(community, WAYS_OF_WORKING, user=BEN)
    assert row(summary, "Security") == "*Security* · draft, not agreed yet\n>OFFICIAL only."
    assert buttons(summary["blocks"]) == []


async def test_a_policys_words_never_ping(community: Cultivate, slack: FakeSlack) -> None:
    area = "code_of_conduct"
    shown = await write(community, area, TYPED)
    assert "We need it &lt;!channel&gt; &amp; *now*" in row(shown, "Code of conduct")
    summary = await open_stage(community, WAYS_OF_WORKING, user=BEN)
    assert "&lt;!channel&gt;" in row(summary, "Code of conduct")
    await press(community, slack.views[shown["id"]], f"policy_agree:{area}")
    await slack.wait_for("views.update", count=2)
    await launch(community)
    await joined(community, BEN)  # his welcome carries the code of conduct
    await community.settled()
    await community.tick()
    assert welcome_dms(slack, BEN)
    posted = [c.args for c in slack.calls if c.method in ("chat.postMessage", "views.update")]
    assert posted and "<!channel>" not in json.dumps(posted)
    assert "We need it &lt;!channel&gt;" in json.dumps([c.args for c in welcome_dms(slack, BEN)])
    (terms,) = markdown_files(slack)
    assert "<!channel>" not in terms.content.decode()
    assert all("<!channel>" not in json.dumps(c.document_content) for c in slack.canvases)
    assert slack.messages(HOUSING)
