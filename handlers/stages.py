"""The five setup stages: `/cop scope|governance|members|roles|ways`, their modals, the list
editors pushed from them, and the buttons in `/cop status` and App Home that open them. How
they look is `handlers.stage_forms`."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import partial
from typing import Any

from bot.catalogue import ROLES, SETUP_STAGES, Stage, find_stage
from bot.services.communities import CommunityRecord, community_by_id
from bot.services.errors import NoCommunity
from bot.services.journey import next_step
from bot.services.roles import waiting_notices
from bot.services.stages import save_answers, save_list_item
from handlers.access import community_pressed
from handlers.blocks import as_int
from handlers.cop import CopRequest
from handlers.forms import read_state, save_and_close
from handlers.registry import Registry
from handlers.requests import Click, Submission
from handlers.stage_forms import (
    LIST_ITEM,
    OPEN_STAGE,
    STAGE_FORM,
    FormContext,
    item_form,
    removing,
    saved_note,
    stage_form,
    stage_view,
)
from handlers.views import open_modal, tell_privately


async def open_stage_command(stage: Stage, request: CopRequest) -> None:
    """`/cop <stage>`: the stage's form for coordinators, its answers for anyone else."""
    await request.open_form(stage_view(request.community, stage, request.user_id))


async def open_from_button(click: Click) -> None:
    """A stage's button in `/cop status`, App Home or a saved note."""
    raw_id, _, stage_key = click.value.partition(":")
    stage, community_id = find_stage(stage_key), as_int(raw_id)
    if stage is None or not stage.has_form or community_id is None:
        click.logger.warning("open_stage with a value we did not make: %r", click.value)
        return
    # A private channel's answers are for the people in it, whoever holds the id.
    record = await community_pressed(
        click.database,
        click.client,
        team_id=click.team_id,
        user_id=click.user_id,
        community_id=community_id,
    )
    if record is None:
        return
    await click.open_form(stage_view(record, stage, click.user_id))


async def save_stage(submission: Submission) -> None:
    """A stage form saved (the service checks who may, and that nobody saved meanwhile)."""
    form = FormContext.of(submission.view)
    if form is None or form.question is not None:
        await submission.close()  # not a form we opened: close it, save nothing
        return
    stage = form.stage
    block_ids = [q.key for q in stage.inputs]
    saved = await save_and_close(
        submission,
        save_answers(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            community_id=form.community_id,
            stage=stage,
            user_id=submission.user_id,
            submitted=read_state(stage.inputs, submission.view.get("state") or {}),
            base_version=form.version,
        ),
        block_ids,
    )
    if saved is None:
        return
    await tell_saved(submission, saved, stage)
    if stage.key == ROLES.key:
        # Tell whoever the save newly named now, rather than at the next heartbeat.
        await submission.registry.dispatcher.send_now(
            await waiting_notices(
                submission.database,
                team_id=submission.team_id,
                community_id=form.community_id,
                version=saved.stages[ROLES.key].version,
            )
        )


async def tell_saved(submission: Submission, record: CommunityRecord, stage: Stage) -> None:
    """What was saved, and the next step as a button: privately, in the community's
    channel (or a direct message when the person is not in it). `record` is the community as
    the save left it."""
    step = await next_step(submission.database, submission.clock, record)
    text, blocks = saved_note(record, stage, step)
    await tell_privately(
        submission.client,
        user_id=submission.user_id,
        text=text,
        blocks=blocks,
        channel_id=record.community.channel_id,
    )


async def edit_list(click: Click) -> None:
    """ "Add …" or an item chosen to edit, on a stage form: the list editor, pushed on top."""
    parent = click.view
    form = FormContext.of(parent)
    kind, _, question_key = click.action["action_id"].partition(":")
    if form is None or question_key not in {q.key for q in form.stage.lists}:
        return
    stage, question = form.stage, form.stage.question(question_key)
    try:
        record = await community_by_id(
            click.database, team_id=click.team_id, community_id=form.community_id
        )
    except NoCommunity:
        return
    if not record.is_coordinator(click.user_id):
        return  # the save would refuse it anyway; don't offer a form that cannot be saved
    index: int | None = None
    item: dict[str, Any] | None = None
    if kind == "list_edit":
        items = record.stages[stage.key].answers.get(question_key) or []
        chosen = as_int((click.action.get("selected_option") or {}).get("value"))
        if chosen is None or chosen >= len(items):
            return
        index, item = chosen, items[chosen]
    metadata = replace(form, question=question, index=index, parent=parent.get("id"))
    view = item_form(question, item, metadata=metadata.metadata())
    await open_modal(
        click.client, trigger_id=click.trigger_id, view=view, logger=click.logger, push=True
    )


async def save_item(submission: Submission) -> None:
    """A list item added, changed or removed; then the stage form shows the list as saved."""
    form = FormContext.of(submission.view)
    if form is None or form.question is None:
        await submission.close()  # not a form we opened: close it, save nothing
        return
    question = form.question
    block_ids = [f.key for f in question.item_fields]
    state = submission.view.get("state") or {}
    remove = removing(submission.view) and form.index is not None
    saved = await save_and_close(
        submission,
        save_list_item(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            community_id=form.community_id,
            stage=form.stage,
            question_key=question.key,
            user_id=submission.user_id,
            index=form.index,
            item=None if remove else read_state(question.item_fields, state),
            base_version=form.version,
        ),
        block_ids,
    )
    if saved is None:
        return
    # Back on the stage form, show the list as saved. Inputs keep their block and action
    # ids, so Slack keeps whatever the person had typed there.
    if form.parent:
        record = await community_by_id(
            submission.database, team_id=submission.team_id, community_id=form.community_id
        )
        saved = record.stages[form.stage.key]
        parent = stage_form(record, saved, base_version=form.version)
        await submission.client.views_update(view_id=form.parent, view=parent)


def register(registry: Registry) -> None:
    for stage in SETUP_STAGES:
        registry.cop.subcommand(
            stage.key,
            summary=f"stage {stage.number}: {stage.title.lower()}",
            community=True,
        )(partial(open_stage_command, stage))
    registry.click(re.compile(rf"^{OPEN_STAGE}:"), open_from_button)
    registry.submission(STAGE_FORM, save_stage)
    registry.click(re.compile(r"^list_(add|edit):"), edit_list)
    registry.submission(LIST_ITEM, save_item)
