"""Saving a stage's answers: checked, versioned, and never silently overwriting a co-coordinator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.answers import Answers, clean, is_empty, item_errors, stage_errors
from bot.catalogue import GOVERNANCE, ROLES, Stage
from bot.clock import Clock
from bot.services import milestones, roles
from bot.services.communities import (
    CommunityRecord,
    StageRecord,
    load_record,
    require_coordinator,
    require_open,
)
from bot.services.errors import CommunityError, EditConflict, InvalidAnswers
from storage.db import Database
from storage.models import StageRevision
from storage.repositories import stages as stage_rows


async def save_answers(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    stage: Stage,
    user_id: str,
    submitted: Answers,
    base_version: int,
) -> CommunityRecord:
    """Save the stage modal's own inputs as a new version; the community as saved (what the
    note after the save shows, without reading it again).

    `base_version` is the version the modal was opened from. If someone else has saved the stage
    since, we refuse rather than overwrite their work; the person's own list edits made from
    the same modal do not count as a conflict.
    """
    submitted = clean(submitted)
    own_inputs = {q.key for q in stage.inputs}
    errors = stage_errors(stage, submitted)
    errors.update(
        {k: "This question cannot be answered here." for k in set(submitted) - own_inputs}
    )
    if errors:
        raise InvalidAnswers(errors)

    def merge(answers: Answers) -> Answers:
        merged = dict(answers)
        for key in own_inputs:
            _put(merged, key, submitted.get(key))
        return merged

    edit = StageEdit(team_id, community_id, stage, user_id, base_version)
    return await _write(database, clock, edit, change=merge)


async def save_list_item(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    stage: Stage,
    question_key: str,
    user_id: str,
    index: int | None,
    item: dict[str, Any] | None,
    base_version: int,
) -> StageRecord:
    """Add (index None), replace (index, item) or remove (index, item None) one list item."""
    question = stage.question(question_key)
    if not question.is_list:
        raise InvalidAnswers({question_key: "This question is not a list."})
    if item is not None:
        item = {k: v for k, v in clean(item).items() if not is_empty(v)}
        errors = item_errors(question, item)
        if errors:
            raise InvalidAnswers(errors)

    def change(answers: Answers) -> Answers:
        items = list(answers.get(question_key) or [])
        if index is not None and not 0 <= index < len(items):
            raise EditConflict(None, None)  # the item moved or went since the form was opened
        if item is None:
            assert index is not None
            del items[index]
        elif index is None:
            if len(items) >= question.max_items:
                first = question.item_fields[0].key
                raise InvalidAnswers(
                    {first: f"There are already {question.max_items} {question.item_noun}s."}
                )
            items.append(item)
        else:
            items[index] = item
        merged = dict(answers)
        _put(merged, question_key, items)
        return merged

    edit = StageEdit(team_id, community_id, stage, user_id, base_version)
    return (await _write(database, clock, edit, change=change)).stages[stage.key]


async def change_answers(
    database: Database, clock: Clock, *, edit: StageEdit, change: Callable[[Answers], Answers]
) -> StageRecord:
    """Save `change(current answers)` as a new version, with the same checks as every save
    (a coordinator, an open community, nobody else's newer save). `change` may raise a
    `CommunityError` to refuse; nothing is saved then."""
    return (await _write(database, clock, edit, change=change)).stages[edit.stage.key]


def _put(answers: Answers, key: str, value: Any) -> None:
    """An emptied answer is dropped, not kept as an empty value."""
    if is_empty(value):
        answers.pop(key, None)
    else:
        answers[key] = value


@dataclass(frozen=True)
class StageEdit:
    """Who changes which community's stage, from the version their form was opened on."""

    team_id: str
    community_id: int
    stage: Stage
    user_id: str
    base_version: int


async def _write(
    database: Database,
    clock: Clock,
    edit: StageEdit,
    *,
    change: Callable[[Answers], Answers],
) -> CommunityRecord:
    stage, user_id = edit.stage, edit.user_id
    try:
        async with database.session() as session:
            # Authorisation is checked here, where the change is saved, whatever the view held.
            record = await load_record(
                session, team_id=edit.team_id, community_id=edit.community_id
            )
            require_coordinator(record, user_id)
            require_open(record)  # a closed community's answers are its record
            current = record.stages[stage.key]
            try:
                answers = change(current.answers)
            except CommunityError:
                # A change that no longer fits the stage as saved: if someone else saved it
                # meanwhile, that is what the person is told.
                await _refuse_if_edited(session, edit)
                raise
            # The conflict check is inside the insert: a save is one read and one write.
            revision = StageRevision(
                team_id=edit.team_id,
                community_id=edit.community_id,
                stage=stage.key,
                version=current.version + 1,
                answers=answers,
                edited_by=user_id,
                edited_at=clock.now(),
            )
            if not await stage_rows.add_revision_unless_edited(
                session, revision=revision, since_version=edit.base_version
            ):
                await _refuse_if_edited(session, edit)
                raise EditConflict(None, None)  # their version went again meanwhile
            if stage.key == GOVERNANCE.key:
                # Milestone reminders follow the saved dates, in this same unit of work.
                await milestones.replan(
                    session,
                    community=record.community,
                    answers=revision.answers,
                    version=revision.version,
                    now=clock.now(),
                )
            if stage.key == ROLES.key:
                # Whoever this save newly names is told, once, and added to the channel.
                await roles.schedule_notices(
                    session,
                    community=record.community,
                    before=current.answers,
                    after=revision.answers,
                    version=revision.version,
                    saved_by=user_id,
                    now=clock.now(),
                )
    except IntegrityError:
        # Another save took the same version number a moment before ours.
        raise EditConflict(None, None) from None
    return replace(record, stages={**record.stages, stage.key: StageRecord.of(stage, revision)})


async def _refuse_if_edited(session: AsyncSession, edit: StageEdit) -> None:
    """Raise EditConflict naming whoever else saved the stage after the form was opened."""
    newer = await stage_rows.newest_revision_by_others(
        session,
        community_id=edit.community_id,
        stage=edit.stage.key,
        after_version=edit.base_version,
        user_id=edit.user_id,
    )
    if newer is not None:
        raise EditConflict(newer.edited_by, newer.edited_at)
