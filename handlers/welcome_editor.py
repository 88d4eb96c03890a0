"""`/cop welcome`: coordinators edit what the welcome says (its text and whether newcomers
are paired with an active member), with a preview of the message as a newcomer receives it."""

from __future__ import annotations

from functools import partial
from typing import Any

from bot.services import welcomes
from bot.services.communities import is_closed
from bot.services.errors import CommunityError, NoCommunity
from bot.services.welcomes import WELCOME_TEXT, WelcomeContent
from bot.text import escape
from handlers.blocks import (
    Block,
    actions,
    as_id,
    button,
    context,
    metadata_of,
    modal,
    plain,
    section,
)
from handlers.coordinator_forms import show_closed
from handlers.cop import CopRequest
from handlers.forms import input_block, read_state
from handlers.registry import Registry
from handlers.requests import Click, Submission
from handlers.saving import refuse_save
from handlers.welcome_message import welcome_blocks

WELCOME_EDITOR = "welcome_editor"
PREVIEW = "welcome_preview"
PAIRING_INPUT = "pair_newcomers"


def editor_view(
    content: WelcomeContent, viewer: str, *, text: str, pair: bool, problem: str | None = None
) -> dict[str, Any]:
    """The welcome editor: the text, the pairing option, and a preview of the DM as the
    viewer would receive it."""
    text_input = input_block(WELCOME_TEXT, text)
    option = {
        "text": plain("Pair each newcomer with an active member in a group DM"),
        "value": "yes",
    }
    pairing: Block = {
        "type": "input",
        "block_id": PAIRING_INPUT,
        "optional": True,
        "label": plain("Pairing"),
        "element": {"type": "checkboxes", "action_id": PAIRING_INPUT, "options": [option]},
    }
    if pair:
        pairing["element"]["initial_options"] = [option]
    preview: list[Block]
    if problem:
        preview = [section(f":warning: {escape(problem)}")]
    else:
        preview = welcome_blocks(content, viewer, template=text)[:-1]  # no live button
    return modal(
        title="Welcome message",
        callback_id=WELCOME_EDITOR,
        submit="Save",
        close="Cancel",
        metadata={"community": content.community.id},
        blocks=[
            text_input,
            pairing,
            actions(button("Preview", action_id=PREVIEW), block_id="preview_actions"),
            context("*Preview*, as a newcomer would see it (with you as the newcomer):"),
            *preview,
        ],
    )


def _typed(state: dict[str, Any]) -> tuple[str, bool]:
    values = state.get("values") or {}
    text = str(read_state((WELCOME_TEXT,), state).get(WELCOME_TEXT.key) or "")
    chosen = ((values.get(PAIRING_INPUT) or {}).get(PAIRING_INPUT) or {}).get(
        "selected_options"
    ) or []
    return text, bool(chosen)


async def edit_welcome(registry: Registry, request: CopRequest) -> None:
    """`/cop welcome`: the editor for coordinators; a closed community's welcome, read-only,
    for anyone."""
    record = request.community
    if not record.is_coordinator(request.user_id) and not is_closed(record):
        await request.tell(
            "Only this community's coordinators can change its welcome. `/cop roster` "
            "shows who they are."
        )
        return
    content = await welcomes.welcome_content(
        registry.runtime.database,
        registry.runtime.clock,
        team_id=request.team_id,
        community_id=record.community.id or 0,
    )
    if is_closed(record):  # its welcome as it was, read-only: nobody is welcomed now
        why = "This community is closed, so it welcomes nobody any more."
        await show_closed(
            request,
            record,
            title="Welcome message",
            why=why,
            lines=[f"*Its welcome was:*\n{escape(content.text)}"],
        )
        return
    view = editor_view(content, request.user_id, text=content.text, pair=content.pair_newcomers)
    await request.open_form(view)


async def preview(click: Click) -> None:
    """The editor's Preview: the message redrawn from what is typed, or what is wrong with it."""
    view = click.view
    text, pair = _typed(view.get("state") or {})
    try:
        content = await welcomes.welcome_content(
            click.database,
            click.clock,
            team_id=click.team_id,
            community_id=as_id(metadata_of(view).get("community")),
        )
    except NoCommunity:
        return
    problem = welcomes.template_errors(text)
    await click.client.views_update(
        view_id=view["id"],
        hash=view.get("hash"),
        view=editor_view(content, click.user_id, text=text, pair=pair, problem=problem),
    )


async def save_welcome(submission: Submission) -> None:
    """The editor saved (the service checks the person is a coordinator)."""
    text, pair = _typed(submission.view.get("state") or {})
    try:
        await welcomes.save_welcome(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            community_id=as_id(submission.metadata.get("community")),
            user_id=submission.user_id,
            text=text,
            pair_newcomers=pair,
        )
    except CommunityError as refused:
        await refuse_save(
            submission,
            refused,
            field=WELCOME_TEXT.key,
            coordinators_only="Only this community's coordinators can change it.",
        )
        return
    await submission.ack()


def register(registry: Registry) -> None:
    registry.cop.subcommand(
        "welcome", summary="coordinators: edit the message newcomers receive", community=True
    )(partial(edit_welcome, registry))
    registry.click(PREVIEW, preview)
    registry.submission(WELCOME_EDITOR, save_welcome)
