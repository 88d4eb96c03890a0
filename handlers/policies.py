"""Policy starters on the ways-of-working form: *Use a starter* and *Edit* push a policy's
editor (the starter's words, or the saved ones, to change before saving); *Mark agreed* marks
it agreed. Who may is checked where each is saved (`bot.services.policies`). How they look is
`handlers.policy_views`."""

from __future__ import annotations

import re
from typing import Any

from bot.catalogue import WAYS_OF_WORKING
from bot.policies import LINK, STARTERS, TEXT, policy_of
from bot.services.communities import community_by_id
from bot.services.errors import CommunityError
from bot.services.policies import agree_policy, save_policy
from handlers.blocks import as_int
from handlers.forms import read_state, save_and_close
from handlers.policy_views import (
    AGREE,
    EDIT,
    POLICY_FORM,
    STARTER,
    community_of_policy,
    policy_fields,
    policy_form,
)
from handlers.registry import Registry
from handlers.requests import Click, Submission, refusal
from handlers.stage_forms import FormContext, stage_form
from handlers.views import open_modal

CHANGE = "change its policies"
AGREE_THEM = "mark its policies agreed"


def _pressed(click: Click) -> tuple[str, int] | None:
    """The policy and the stage version a policy button names; None if it names none (forged,
    or not ours)."""
    area = click.action["action_id"].partition(":")[2]
    version = as_int(click.value.partition(":")[2])
    return (area, version) if area in STARTERS and version is not None else None


def _in_form(click: Click) -> bool:
    """Whether the button sits in this community's ways-of-working form."""
    form = FormContext.of(click.view)
    return (
        form is not None
        and form.question is None
        and form.stage is WAYS_OF_WORKING
        and form.community_id == click.community.community.id
    )


async def open_policy_editor(click: Click) -> None:
    """*Use a starter* or *Edit*: the policy's editor, pushed over the form."""
    pressed = _pressed(click)
    if pressed is None or not _in_form(click):
        return
    area, version = pressed
    record = click.community
    item = policy_of(record.stages[WAYS_OF_WORKING.key].answers, area)
    metadata = {
        "community": record.community.id,
        "version": version,
        "area": area,
        "parent": click.view.get("id"),
    }
    starter = click.action["action_id"].startswith(f"{STARTER}:")
    view = policy_form(STARTERS[area], item, starter=starter, metadata=metadata)
    await open_modal(
        click.client, trigger_id=click.trigger_id, view=view, logger=click.logger, push=True
    )


async def mark_policy_agreed(click: Click) -> None:
    """*Mark agreed*: refused, with the one wording, to anyone but a coordinator."""
    pressed = _pressed(click)
    if pressed is None:
        return
    area, version = pressed
    community_id = click.community.community.id or 0
    try:
        await agree_policy(
            click.database,
            click.clock,
            team_id=click.team_id,
            community_id=community_id,
            user_id=click.user_id,
            area=area,
            base_version=version,
        )
    except CommunityError as refused:
        await click.tell(refusal(refused, coordinators_can=AGREE_THEM))
        return
    if _in_form(click):
        view_id = str(click.view.get("id"))
        await _redraw(click, view_id=view_id, community_id=community_id, version=version)


async def save_policy_form(submission: Submission) -> None:
    """A policy's editor saved; the form beneath shows it as saved."""
    meta: dict[str, Any] = submission.metadata
    community_id, version = as_int(meta.get("community")), as_int(meta.get("version"))
    area, parent = meta.get("area"), meta.get("parent")
    if community_id is None or version is None or area not in STARTERS:
        await submission.close()  # not a form we opened: close it, save nothing
        return
    written = read_state(policy_fields(), submission.view.get("state") or {})
    saved = await save_and_close(
        submission,
        save_policy(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            community_id=community_id,
            user_id=submission.user_id,
            area=str(area),
            text=written.get(TEXT),
            link=written.get(LINK),
            base_version=version,
        ),
        [TEXT, LINK],
        coordinators_can=CHANGE,
    )
    if saved is not None and isinstance(parent, str) and parent:
        await _redraw(submission, view_id=parent, community_id=community_id, version=version)


async def _redraw(
    request: Click | Submission, *, view_id: str, community_id: int, version: int
) -> None:
    """The ways-of-working form again, as saved. Inputs keep their ids, so Slack keeps what
    the person had typed in them."""
    record = await community_by_id(
        request.database, team_id=request.team_id, community_id=community_id
    )
    view = stage_form(record, record.stages[WAYS_OF_WORKING.key], base_version=version)
    await request.client.views_update(view_id=view_id, view=view)


def register(registry: Registry) -> None:
    registry.click(
        re.compile(rf"^({STARTER}|{EDIT}):"),
        open_policy_editor,
        community=community_of_policy,
        coordinators_only=CHANGE,
    )
    registry.click(re.compile(rf"^{AGREE}:"), mark_policy_agreed, community=community_of_policy)
    registry.submission(POLICY_FORM, save_policy_form)
