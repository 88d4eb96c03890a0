"""How a setup stage looks in Slack: its form for coordinators, a read-only summary for anyone
else, the list editors pushed from the form, the note after a save, and the button that opens
a stage (shared by the stages feature, `/cop status` and App Home)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.answers import is_answered, progress
from bot.catalogue import STAGES, Kind, Question, Stage, find_stage
from bot.policies import POLICIES
from bot.services.communities import CLOSED, CommunityRecord, StageRecord, is_closed
from bot.services.journey import NextStep
from bot.text import escape, mention, slack_time
from handlers.blocks import (
    Block,
    actions,
    as_int,
    button,
    context,
    metadata_of,
    modal,
    plain,
    section,
)
from handlers.forms import describe, describe_item, input_block, item_label
from handlers.policy_views import policy_blocks

STAGE_FORM = "stage_form"
LIST_ITEM = "stage_list_item"
OPEN_STAGE = "open_stage"
REMOVE = "remove"


@dataclass(frozen=True)
class FormContext:
    """What a stage form (or a list editor pushed from it) carries in private_metadata."""

    community_id: int
    stage: Stage
    version: int  # the stage version the form was opened from
    question: Question | None = None  # list editors: the list being edited
    index: int | None = None  # list editors: the item, or None when adding
    parent: str | None = None  # list editors: the stage form's view id

    def metadata(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "community": self.community_id,
            "stage": self.stage.key,
            "version": self.version,
        }
        if self.question is not None:
            data |= {"question": self.question.key, "index": self.index, "parent": self.parent}
        return data

    @classmethod
    def of(cls, view: dict[str, Any]) -> FormContext | None:
        """Read it back; None for anything we did not write (stale, forged or malformed)."""
        meta = metadata_of(view)
        stage = find_stage(str(meta.get("stage")))
        community_id, version = as_int(meta.get("community")), as_int(meta.get("version"))
        if stage is None or not stage.has_form or community_id is None or version is None:
            return None
        question = None
        if "question" in meta:
            question = next((q for q in stage.lists if q.key == meta["question"]), None)
            if question is None:
                return None
        index = as_int(meta.get("index"))
        parent = meta.get("parent")
        return cls(
            community_id=community_id,
            stage=stage,
            version=version,
            question=question,
            index=index,
            parent=parent if isinstance(parent, str) else None,
        )


def open_stage_button(community_id: int, stage: Stage, *, label: str | None = None) -> Block:
    """A button that opens a stage's modal, for status messages and App Home."""
    return button(
        label or stage.title,
        action_id=f"{OPEN_STAGE}:{community_id}:{stage.key}",
        value=f"{community_id}:{stage.key}",
    )


def stage_view(record: CommunityRecord, stage: Stage, user_id: str) -> dict[str, Any]:
    """The stage's form for its coordinators; a read-only summary for anyone else."""
    saved = record.stages[stage.key]
    if record.is_coordinator(user_id) and not is_closed(record):
        return stage_form(record, saved, base_version=saved.version)
    return _summary(record, saved)


def _about(record: CommunityRecord, saved: StageRecord) -> Block:
    stage = saved.stage
    text = f"*{escape(record.community.name)}* · stage {stage.number} of {len(STAGES)}: {stage.summary}"
    if saved.edited_by and saved.edited_at:
        text += f"\nLast saved by {mention(saved.edited_by)}, {slack_time(saved.edited_at)}."
    return context(text)


def stage_form(record: CommunityRecord, saved: StageRecord, *, base_version: int) -> dict[str, Any]:
    stage, answers = saved.stage, saved.answers
    blocks: list[Block] = [_about(record, saved)]
    community_id = record.community.id or 0
    for question in stage.questions:
        if question is POLICIES:  # the seven policies, each with its starter
            blocks += policy_blocks(
                answers, community_id=community_id, version=base_version, editable=True
            )
        elif question.is_list:
            blocks += _list_blocks(question, answers.get(question.key) or [])
        elif question.answered_by is not None:
            blocks.append(
                context(f"*{question.label}*\nAnswered for each entry in the list above.")
            )
        else:
            blocks.append(input_block(question, answers.get(question.key)))
    return modal(
        title=stage.title,
        blocks=blocks,
        callback_id=STAGE_FORM,
        submit="Save",
        close="Cancel",
        metadata=FormContext(
            community_id=community_id, stage=stage, version=base_version
        ).metadata(),
    )


def _list_blocks(question: Question, items: list[dict[str, Any]]) -> list[Block]:
    if question.kind == Kind.PEOPLE:  # numbered, as the edit menu names them
        lines = [f"{n}. {describe_item(question, i)}" for n, i in enumerate(items, start=1)]
    else:
        lines = [f"• {describe_item(question, i)}" for i in items]
    listed = "\n".join(lines) or "_None yet._"
    controls = [button(f"Add {question.item_noun}", action_id=f"list_add:{question.key}")]
    if items:
        controls.append(
            {
                "type": "static_select",
                "action_id": f"list_edit:{question.key}",
                "placeholder": plain(f"Edit or remove a {question.item_noun}…"),
                "options": [
                    {"text": plain(item_label(question, item, n + 1)), "value": str(n)}
                    for n, item in enumerate(items)
                ],
            }
        )
    return [
        section(f"*{question.label}*\n{listed}", block_id=f"list.{question.key}"),
        actions(*controls, block_id=f"list_actions.{question.key}"),
    ]


def _summary(record: CommunityRecord, saved: StageRecord) -> dict[str, Any]:
    stage = saved.stage
    blocks: list[Block] = [_about(record, saved)]
    for question in stage.questions:
        if question.answered_by is not None:
            continue
        if question is POLICIES:
            blocks += policy_blocks(
                saved.answers, community_id=0, version=saved.version, editable=False
            )
            continue
        value = saved.answers.get(question.key)
        shown = (
            describe(question, value)
            if is_answered(question, saved.answers)
            else "_Not answered yet._"
        )
        blocks.append(section(f"*{question.label}*\n{shown}"))
    if is_closed(record):  # nobody may change them: say why rather than offer a form
        blocks.append(context(CLOSED))
    else:
        coordinators = ", ".join(mention(c) for c in record.coordinators)
        blocks.append(context(f"Only the coordinators ({coordinators}) can change these answers."))
    return modal(title=stage.title, blocks=blocks)


def item_form(
    question: Question,
    item: dict[str, Any] | None,
    *,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    verb = "Edit" if item is not None else "Add"
    blocks = [input_block(spec, (item or {}).get(spec.key)) for spec in question.item_fields]
    if item is not None:
        blocks.append(
            {
                "type": "input",
                "block_id": REMOVE,
                "optional": True,
                "label": plain("Remove"),
                "element": {
                    "type": "checkboxes",
                    "action_id": REMOVE,
                    "options": [
                        {"text": plain(f"Remove this {question.item_noun}"), "value": REMOVE}
                    ],
                },
            }
        )
    return modal(
        title=f"{verb} {question.item_noun}",
        blocks=blocks,
        callback_id=LIST_ITEM,
        submit="Save",
        close="Back",
        metadata=metadata,
    )


def saved_note(record: CommunityRecord, stage: Stage, step: NextStep) -> tuple[str, list[Block]]:
    """ "Saved scope: 7 of 7 answered. Next: …" with a button opening the next stage's form."""
    answered, total = progress(stage, record.stages[stage.key].answers)
    text = f"✅ Saved *{stage.title}*: {answered} of {total} answered.\n{step.text}"
    accessory = None
    if step.stage is not None and record.community.id is not None:
        accessory = open_stage_button(record.community.id, step.stage, label="Open")
    return text, [section(text, accessory=accessory)]


def removing(view: dict[str, Any]) -> bool:
    """Whether the list editor's "Remove" box was ticked."""
    values = (view.get("state") or {}).get("values") or {}
    return bool(((values.get(REMOVE) or {}).get(REMOVE) or {}).get("selected_options"))
