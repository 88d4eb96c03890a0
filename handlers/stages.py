"""The five setup stages: `/cop scope|governance|members|roles|ways`, their modals, the list
editors pushed from them, and the buttons in `/cop status` and App Home that open them."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import is_answered, progress
from bot.catalogue import ROLES, SETUP_STAGES, STAGES, Kind, Question, Stage, find_stage
from bot.runtime import Runtime
from bot.services.communities import (
    CLOSED,
    CommunityRecord,
    StageRecord,
    community_by_id,
    is_closed,
)
from bot.services.errors import (
    CommunityError,
    InvalidAnswers,
    NoCommunity,
)
from bot.services.journey import NextStep, next_step
from bot.services.roles import waiting_notices
from bot.services.stages import save_answers, save_list_item
from bot.text import escape, mention, slack_time
from handlers.access import community_pressed
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
from handlers.cop import CopRequest, community_here
from handlers.forms import (
    describe,
    describe_item,
    errors_on_blocks,
    input_block,
    item_label,
    read_state,
)
from handlers.registry import Registry
from handlers.requests import refusal
from handlers.views import TOO_SLOW, open_modal, tell_privately

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
        return _form(record, saved, base_version=saved.version)
    return _summary(record, saved)


def _about(record: CommunityRecord, saved: StageRecord) -> Block:
    stage = saved.stage
    text = f"*{escape(record.community.name)}* · stage {stage.number} of {len(STAGES)}: {stage.summary}"
    if saved.edited_by and saved.edited_at:
        text += f"\nLast saved by {mention(saved.edited_by)}, {slack_time(saved.edited_at)}."
    return context(text)


def _form(record: CommunityRecord, saved: StageRecord, *, base_version: int) -> dict[str, Any]:
    stage, answers = saved.stage, saved.answers
    blocks: list[Block] = [_about(record, saved)]
    for question in stage.questions:
        if question.is_list:
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
            community_id=record.community.id or 0, stage=stage, version=base_version
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


def _item_view(
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


def register(registry: Registry) -> None:
    app, cop, runtime = registry.app, registry.cop, registry.runtime
    for stage in SETUP_STAGES:
        cop.subcommand(stage.key, summary=f"stage {stage.number}: {stage.title.lower()}")(
            _stage_command(runtime, stage)
        )

    @app.action(re.compile(rf"^{OPEN_STAGE}:"))
    async def open_from_button(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        await ack()
        raw_id, _, stage_key = str(action.get("value", "")).partition(":")
        stage, community_id = find_stage(stage_key), as_int(raw_id)
        user_id = body["user"]["id"]
        if stage is None or not stage.has_form or community_id is None:
            logger.warning("open_stage with a value we did not make: %r", action.get("value"))
            return
        # A private channel's answers are for the people in it, whoever holds the id.
        record = await community_pressed(
            runtime.database,
            client,
            team_id=context.team_id or "",
            user_id=user_id,
            community_id=community_id,
        )
        if record is None:
            return
        opened = await open_modal(
            client,
            trigger_id=body["trigger_id"],
            view=stage_view(record, stage, user_id),
            logger=logger,
        )
        if not opened:
            await tell_privately(client, user_id=user_id, text=TOO_SLOW)

    @app.view(STAGE_FORM)
    async def save_stage(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        form = FormContext.of(view)
        if form is None or form.question is not None:
            await ack(response_action="clear")  # not a form we opened: close it, save nothing
            return
        stage = form.stage
        block_ids = [q.key for q in stage.inputs]
        try:
            saved = await save_answers(
                runtime.database,
                runtime.clock,
                team_id=context.team_id or "",
                community_id=form.community_id,
                stage=stage,
                user_id=body["user"]["id"],
                submitted=read_state(stage.inputs, view.get("state") or {}),
                base_version=form.version,
            )
        except InvalidAnswers as invalid:
            await ack(response_action="errors", errors=errors_on_blocks(invalid.errors, block_ids))
            return
        except CommunityError as refused:
            await ack(response_action="errors", errors={block_ids[0]: refusal(refused)})
            return
        await ack()
        await tell_saved(
            client, team_id=context.team_id or "", form=form, user_id=body["user"]["id"]
        )
        if stage.key == ROLES.key:
            # Tell whoever the save newly named now, rather than at the next heartbeat.
            await registry.dispatcher.send_now(
                await waiting_notices(
                    runtime.database,
                    team_id=context.team_id or "",
                    community_id=form.community_id,
                    version=saved.version,
                )
            )

    async def tell_saved(
        client: AsyncWebClient, *, team_id: str, form: FormContext, user_id: str
    ) -> None:
        """What was saved, and the next step as a button: privately, in the community's
        channel (or a direct message when the person is not in it)."""
        record = await community_by_id(
            runtime.database, team_id=team_id, community_id=form.community_id
        )
        text, blocks = saved_note(
            record, form.stage, await next_step(runtime.database, runtime.clock, record)
        )
        await tell_privately(
            client,
            user_id=user_id,
            text=text,
            blocks=blocks,
            channel_id=record.community.channel_id,
        )

    @app.action(re.compile(r"^list_(add|edit):"))
    async def edit_list(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        await ack()
        parent = body.get("view") or {}
        form = FormContext.of(parent)
        kind, _, question_key = action["action_id"].partition(":")
        if form is None or question_key not in {q.key for q in form.stage.lists}:
            return
        stage, question = form.stage, form.stage.question(question_key)
        user_id = body["user"]["id"]
        try:
            record = await community_by_id(
                runtime.database, team_id=context.team_id or "", community_id=form.community_id
            )
        except NoCommunity:
            return
        if not record.is_coordinator(user_id):
            return  # the save would refuse it anyway; don't offer a form that cannot be saved
        index: int | None = None
        item: dict[str, Any] | None = None
        if kind == "list_edit":
            items = record.stages[stage.key].answers.get(question_key) or []
            chosen = as_int((action.get("selected_option") or {}).get("value"))
            if chosen is None or chosen >= len(items):
                return
            index, item = chosen, items[chosen]
        view = _item_view(
            question,
            item,
            metadata=replace(
                form, question=question, index=index, parent=parent.get("id")
            ).metadata(),
        )
        await open_modal(client, trigger_id=body["trigger_id"], view=view, logger=logger, push=True)

    @app.view(LIST_ITEM)
    async def save_item(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        form = FormContext.of(view)
        if form is None or form.question is None:
            await ack(response_action="clear")  # not a form we opened: close it, save nothing
            return
        question = form.question
        block_ids = [f.key for f in question.item_fields]
        state = view.get("state") or {}
        removing = bool(
            (((state.get("values") or {}).get(REMOVE) or {}).get(REMOVE) or {}).get(
                "selected_options"
            )
        )
        team_id = context.team_id or ""
        try:
            await save_list_item(
                runtime.database,
                runtime.clock,
                team_id=team_id,
                community_id=form.community_id,
                stage=form.stage,
                question_key=question.key,
                user_id=body["user"]["id"],
                index=form.index,
                item=None
                if removing and form.index is not None
                else read_state(question.item_fields, state),
                base_version=form.version,
            )
        except InvalidAnswers as invalid:
            await ack(response_action="errors", errors=errors_on_blocks(invalid.errors, block_ids))
            return
        except CommunityError as refused:
            await ack(response_action="errors", errors={block_ids[0]: refusal(refused)})
            return
        await ack()
        # Back on the stage form, show the list as saved. Inputs keep their block and action
        # ids, so Slack keeps whatever the person had typed there.
        if form.parent:
            record = await community_by_id(
                runtime.database, team_id=team_id, community_id=form.community_id
            )
            saved = record.stages[form.stage.key]
            parent = _form(record, saved, base_version=form.version)
            await client.views_update(view_id=form.parent, view=parent)


def _stage_command(runtime: Runtime, stage: Stage) -> Any:
    async def open_stage(request: CopRequest) -> None:
        record = await community_here(runtime.database, request)
        if record is None:
            return
        opened = await open_modal(
            request.client,
            trigger_id=request.trigger_id,
            view=stage_view(record, stage, request.user_id),
            logger=request.logger,
        )
        if not opened:
            await request.tell(TOO_SLOW)

    return open_stage
