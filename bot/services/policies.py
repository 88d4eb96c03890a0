"""A community's policies: written (often from a starter, `bot.policies`), edited, and marked
agreed by its coordinators. Each is an item of the ways-of-working stage's `policies` answer,
saved as a new version of the stage like any other answer, so the terms of reference, the
archive and the welcome read it as they always have."""

from __future__ import annotations

from bot.answers import Answers, clean, is_empty, item_errors
from bot.catalogue import WAYS_OF_WORKING
from bot.clock import Clock
from bot.policies import AGREED, AREA, DRAFT, LINK, POLICIES, STARTERS, STATUS, TEXT, State
from bot.policies import state_of as state_of_item
from bot.services.communities import StageRecord
from bot.services.errors import InvalidAnswers
from bot.services.stages import StageEdit, change_answers
from storage.db import Database

NOTHING_TO_AGREE = "There is nothing written to agree yet: use a starter or write it first."


class _Unchanged(Exception):
    """The change would change nothing: no new version is saved."""


def _index(items: list[dict[str, object]], area: str) -> int | None:
    return next((n for n, item in enumerate(items) if item.get(AREA) == area), None)


def _known(area: str) -> None:
    if area not in STARTERS:
        raise InvalidAnswers({TEXT: "That is not one of the checklist's policies."})


async def save_policy(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    area: str,
    text: str | None,
    link: str | None,
    base_version: int,
) -> StageRecord:
    """Write a policy (coordinators only). It is a draft, unless it was agreed and its words
    and link are unchanged; with neither text nor link, the policy is removed."""
    _known(area)
    written = {k: v for k, v in clean({TEXT: text, LINK: link}).items() if not is_empty(v)}
    errors = item_errors(POLICIES, {AREA: area, **written})
    if errors:
        raise InvalidAnswers(errors)

    def change(answers: Answers) -> Answers:
        items = list(answers.get(POLICIES.key) or [])
        index = _index(items, area)
        before = items[index] if index is not None else None
        if not written:
            if index is not None:
                del items[index]
        else:
            unchanged = before is not None and all(
                before.get(k) == written.get(k) for k in (TEXT, LINK)
            )
            agreed = unchanged and before is not None and before.get(STATUS) == AGREED
            item = {AREA: area, **written, STATUS: AGREED if agreed else DRAFT}
            if index is None:
                if len(items) >= POLICIES.max_items:
                    raise InvalidAnswers({TEXT: "Remove a policy of another kind first."})
                items.append(item)
            else:
                items[index] = item
        merged = dict(answers)
        if items:
            merged[POLICIES.key] = items
        else:
            merged.pop(POLICIES.key, None)
        return merged

    edit = StageEdit(team_id, community_id, WAYS_OF_WORKING, user_id, base_version)
    return await change_answers(database, clock, edit=edit, change=change)


async def agree_policy(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    area: str,
    base_version: int,
) -> bool:
    """Mark a written policy agreed. Only a coordinator may, checked here whoever was shown
    the button; and only the words they saw: a co-coordinator's newer save is refused
    (`EditConflict`). False if it was agreed already (nothing saved)."""
    _known(area)

    def change(answers: Answers) -> Answers:
        items = list(answers.get(POLICIES.key) or [])
        index = _index(items, area)
        state = state_of_item(items[index] if index is not None else None)
        if state is State.EMPTY or index is None:
            raise InvalidAnswers({TEXT: NOTHING_TO_AGREE})
        if state is State.AGREED:
            raise _Unchanged
        items[index] = {**items[index], STATUS: AGREED}
        return {**answers, POLICIES.key: items}

    try:
        edit = StageEdit(team_id, community_id, WAYS_OF_WORKING, user_id, base_version)
        await change_answers(database, clock, edit=edit, change=change)
    except _Unchanged:
        return False
    return True
