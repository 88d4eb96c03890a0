"""The five setup stages: modals built from the catalogue, saved as versions, guarded."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from bot.catalogue import GOVERNANCE, ROLES, SCOPE, SETUP_STAGES, Kind, Question, Stage
from bot.clock import ManualClock
from bot.services.communities import start_community
from bot.services.errors import EditConflict
from bot.services.stages import save_answers
from fakeslack import FakeSlack
from storage.db import Database
from tests.conftest import ASHA, BEN, NOOR, TEAM, Cultivate
from tests.steps import as_values, click_in, inputs_of, open_stage, revisions


def sample_answer(question: Question) -> Any:
    match question.kind:
        case Kind.TEXT | Kind.LINE:
            return f"Our answer to {question.key}, with <!here> & <@U0NOOR> typed in"
        case Kind.CHOICE:
            return question.options[-1].value
        case Kind.CHOICES:
            return [o.value for o in question.options[:2]]
        case Kind.USER:
            return NOOR
        case Kind.USERS:
            return [ASHA, NOOR]
        case Kind.DATE:
            return "2027-01-15"
    raise AssertionError(question.kind)


def sample_answers(stage: Stage) -> dict[str, Any]:
    return {q.key: sample_answer(q) for q in stage.inputs}


def initial(block: dict[str, Any]) -> Any:
    element = block["element"]
    if "initial_option" in element:
        return element["initial_option"]["value"]
    if "initial_options" in element:
        return [o["value"] for o in element["initial_options"]]
    for key in ("initial_value", "initial_user", "initial_users", "initial_date"):
        if key in element:
            return element[key]
    return None


@pytest.mark.parametrize("stage", SETUP_STAGES, ids=lambda s: s.key)
async def test_each_stage_opens_saves_and_reopens_prefilled(
    community: Cultivate, stage: Stage
) -> None:
    view = await open_stage(community, stage)
    assert view["callback_id"] == "stage_form"
    assert view["submit"]["text"] == "Save"
    labels = {b["block_id"]: b["label"]["text"] for b in view["blocks"] if b["type"] == "input"}
    for question in stage.inputs:
        assert labels[question.key] == question.label
    shown = " ".join(b.get("text", {}).get("text", "") for b in view["blocks"])
    for question in stage.lists:
        assert question.label in shown

    answers = sample_answers(stage)
    if stage is ROLES:
        answers["coordinators"] = [ASHA, NOOR]
    reply = await community.submit(view, as_values(answers))
    assert reply.status == 200 and reply.body == "", reply.body

    saved = (await revisions(community, stage.key))[-1]
    assert saved.answers == answers
    assert saved.edited_by == ASHA

    reopened = inputs_of(await open_stage(community, stage))
    assert {key: initial(reopened[key]) for key in answers} == answers


async def test_a_20000_character_answer_is_refused_inline_and_nothing_is_saved(
    community: Cultivate,
) -> None:
    view = await open_stage(community, SCOPE)
    reply = await community.submit(view, as_values({"need": "x" * 20_000, "aims": "Share"}))
    assert reply.json["response_action"] == "errors"
    assert "3,000 characters" in reply.json["errors"]["need"]
    assert await revisions(community, "scope") == []


async def test_a_non_coordinator_sees_a_read_only_summary(community: Cultivate) -> None:
    view = await open_stage(community, SCOPE)
    await community.submit(view, as_values({"need": "Yes <!channel>, badly"}))
    summary = await open_stage(community, SCOPE, user=BEN)
    assert not summary.get("submit")
    assert not [b for b in summary["blocks"] if b["type"] == "input"]
    text = "\n".join(b.get("text", {}).get("text", "") for b in summary["blocks"])
    assert "Yes &lt;!channel&gt;, badly" in text
    assert "<!channel>" not in text


async def test_a_forged_submission_from_a_non_coordinator_changes_nothing(
    community: Cultivate,
) -> None:
    view = await open_stage(community, SCOPE)  # the coordinator's editable form
    reply = await community.submit(view, as_values({"need": "Hijacked"}), user=BEN)
    assert reply.json["response_action"] == "errors"
    assert "coordinators" in reply.json["errors"]["need"]
    assert await revisions(community, "scope") == []

    roles_view = await open_stage(community, ROLES)
    reply = await community.submit(roles_view, as_values({"coordinators": [BEN]}), user=BEN)
    assert reply.json["response_action"] == "errors"
    assert [r.answers for r in await revisions(community, "roles")] == [{"coordinators": [ASHA]}]


async def test_a_co_coordinator_added_in_roles_can_edit(community: Cultivate) -> None:
    assert not (await open_stage(community, SCOPE, user=BEN)).get("submit")
    view = await open_stage(community, ROLES)
    reply = await community.submit(view, as_values({"coordinators": [ASHA, BEN]}))
    assert reply.status == 200 and reply.body == ""
    ben_view = await open_stage(community, SCOPE, user=BEN)
    assert ben_view["submit"]["text"] == "Save"
    assert (await community.submit(ben_view, as_values({"aims": "Learn"}), user=BEN)).body == ""
    assert (await revisions(community, "scope"))[-1].edited_by == BEN


async def test_the_last_coordinator_cannot_be_removed(community: Cultivate) -> None:
    view = await open_stage(community, ROLES)
    reply = await community.submit(view, as_values({"coordinators": []}))
    assert reply.json["response_action"] == "errors"
    assert "coordinators" in reply.json["errors"]
    assert len(await revisions(community, "roles")) == 1


async def test_saving_over_a_co_coordinators_newer_answers_is_refused(
    community: Cultivate,
) -> None:
    roles = await open_stage(community, ROLES)
    await community.submit(roles, as_values({"coordinators": [ASHA, BEN]}))
    asha_form = await open_stage(community, SCOPE)
    ben_form = await open_stage(community, SCOPE, user=BEN)
    assert (
        await community.submit(ben_form, as_values({"aims": "Ben's aims"}), user=BEN)
    ).body == ""
    reply = await community.submit(asha_form, as_values({"aims": "Asha's aims"}))
    assert reply.json["response_action"] == "errors"
    assert "Someone else saved" in reply.json["errors"]["need"]
    assert [r.answers.get("aims") for r in await revisions(community, "scope")] == ["Ben's aims"]
    # Each save is kept as a version with who made it.
    assert await community.submit(await open_stage(community, SCOPE), as_values({"aims": "Both"}))
    history = await revisions(community, "scope")
    assert [(r.version, r.edited_by, r.answers["aims"]) for r in history] == [
        (1, BEN, "Ben's aims"),
        (2, ASHA, "Both"),
    ]


async def test_milestones_are_added_edited_and_removed_from_a_pushed_modal(
    community: Cultivate, slack: FakeSlack
) -> None:
    form = await open_stage(community, GOVERNANCE)
    await click_in(community, form, "list_add:milestones")
    pushed = await community.opened_view("stage_list_item", method="views.push")
    assert [b["block_id"] for b in pushed["blocks"]] == [
        "title",
        "due",
        "owner",
        "done",
        "done_when",
    ]

    # A milestone with no title is refused, naming the field.
    reply = await community.submit(pushed, {"due": {"due": "2027-03-01"}})
    assert reply.json["errors"].keys() == {"title"}
    assert await revisions(community, "governance") == []

    values = {
        "title": {"title": "Pilot <!everyone>"},
        "due": {"due": "2027-03-01"},
        "owner": {"owner": BEN},
    }
    assert (await community.submit(pushed, values)).body == ""
    saved = (await revisions(community, "governance"))[-1].answers
    assert saved == {
        "milestones": [{"title": "Pilot <!everyone>", "due": "2027-03-01", "owner": BEN}]
    }

    # The stage form comes back showing the saved milestone, escaped.
    update = (await slack.wait_for("views.update"))[-1]
    assert update.args["view_id"] == form["id"]
    listing = next(
        b for b in update.args["view"]["blocks"] if b.get("block_id") == "list.milestones"
    )
    assert "Pilot &lt;!everyone&gt;" in listing["text"]["text"]
    assert "Mon 1 Mar 2027" in listing["text"]["text"]

    refreshed = slack.views[form["id"]]
    await click_in(community, refreshed, "list_edit:milestones", selected_option={"value": "0"})
    edit = await community.opened_view("stage_list_item", method="views.push", count=2)
    assert initial(inputs_of(edit)["title"]) == "Pilot <!everyone>"
    await community.submit(edit, {"title": {"title": "Pilot"}})
    assert (await revisions(community, "governance"))[-1].answers["milestones"][0][
        "title"
    ] == "Pilot"

    await click_in(
        community, slack.views[form["id"]], "list_edit:milestones", selected_option={"value": "0"}
    )
    remove = await community.opened_view("stage_list_item", method="views.push", count=3)
    await community.submit(remove, {"remove": {"remove": ["remove"]}})
    assert (await revisions(community, "governance"))[-1].answers == {}


async def test_list_edits_by_a_non_coordinator_are_refused(community: Cultivate) -> None:
    form = await open_stage(community, GOVERNANCE)
    await click_in(community, form, "list_add:stakeholders")
    pushed = await community.opened_view("stage_list_item", method="views.push")
    reply = await community.submit(pushed, {"name": {"name": "Council"}}, user=BEN)
    assert reply.json["response_action"] == "errors"
    assert await revisions(community, "governance") == []


async def test_status_shows_progress_last_editor_and_next_step(community: Cultivate) -> None:
    view = await open_stage(community, SCOPE)
    await community.submit(view, as_values({"need": "Yes", "rationale": "Because"}))
    await community.command("status", user=BEN)
    answer = await community.ephemeral()
    text = "\n".join(b.get("text", {}).get("text", "") for b in answer["blocks"] if "text" in b)
    assert "*1. Defining the scope* — 2/7 answered" in text
    assert "Last edited by <@U0ASHA>, <!date^" in text
    assert "*4. Roles* — 1/4 answered" in text
    # Features' sections follow the progress, so find the next step by what it says.
    context = next(
        b["elements"][0]["text"]
        for b in answer["blocks"]
        if b["type"] == "context" and b["elements"][0]["text"].startswith("*Next:*")
    )
    assert "What are the core issues which need to be addressed?" in context
    assert "`/cop scope`" in context
    buttons = [
        b["accessory"]["text"]["text"]
        for b in answer["blocks"]
        if b.get("accessory", {}).get("action_id", "").startswith("open_stage:")
    ]
    assert buttons == ["View"] * 5  # Ben is not a coordinator


async def test_status_button_opens_the_stage(community: Cultivate, slack: FakeSlack) -> None:
    await community.command("status")
    answer = await community.ephemeral()
    button = next(b["accessory"] for b in answer["blocks"] if "accessory" in b)
    assert button["text"]["text"] == "Edit"
    await community.click(
        {"action_id": button["action_id"], "type": "button", "value": button["value"]},
        channel="C0HOUSING",
        message={"ts": "1.2", "blocks": answer["blocks"]},
    )
    opened = await community.opened_view("stage_form")
    assert opened["title"]["text"] == "Defining the scope"


async def test_a_stage_save_is_one_read_and_one_write(
    database: Database, clock: ManualClock
) -> None:
    """The version check is inside the insert: a save costs two statements (plus BEGIN and
    COMMIT), however many versions the stage has; who saved meanwhile is only looked up when a
    save is refused."""
    community = await start_community(
        database,
        clock,
        team_id=TEAM,
        channel_id="C0SAVES",
        name="Saves",
        domain="",
        timezone="UTC",
        starter=ASHA,
    )
    assert community.id is not None
    await save_answers(
        database,
        clock,
        team_id=TEAM,
        community_id=community.id,
        stage=ROLES,
        user_id=ASHA,
        submitted={"coordinators": [ASHA, BEN]},
        base_version=1,
    )
    statements: list[str] = []
    event.listen(
        database.engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_: statements.append(statement),
    )

    async def save(user: str, base_version: int, aims: str) -> None:
        await save_answers(
            database,
            clock,
            team_id=TEAM,
            community_id=community.id,  # type: ignore[arg-type]
            stage=SCOPE,
            user_id=user,
            submitted={"aims": aims},
            base_version=base_version,
        )

    for n in range(3):
        statements.clear()
        await save(ASHA, n, f"aims {n}")
        assert len(statements) == 2
    # Someone else's form, opened before those saves: refused, naming who saved meanwhile.
    statements.clear()
    with pytest.raises(EditConflict) as refused:
        await save(BEN, 0, "Ben's aims")
    assert refused.value.edited_by == ASHA
    assert len(statements) == 3
