"""The terms of reference's buttons: members press "I agree", a coordinator marks the terms
agreed (which launches the community), and "Draft again" rebuilds the draft from the latest
answers in one click. How the terms look and are published is `handlers.terms_message`."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, TypeVar

from bot.clock import Clock
from bot.services.errors import CommunityError
from bot.services.terms import agree, mark_agreed
from bot.text import escape, mention
from handlers.blocks import as_id, as_int
from handlers.registry import Registry
from handlers.requests import Click, button_value, refusal
from handlers.terms_message import AGREE, MARK_AGREED, REDRAFT, publish_terms, redraw_terms
from storage.db import Database

T = TypeVar("T")


class DraftChange(Protocol[T]):
    """A change to a terms draft, as `bot.services.terms` saves one (agree, mark agreed)."""

    def __call__(
        self, database: Database, clock: Clock, *, team_id: str, draft_id: int, user_id: str
    ) -> Awaitable[T]: ...


async def draft_again(click: Click) -> None:
    """ "Draft again from the latest answers": a new draft, the last one marked replaced."""
    try:
        await publish_terms(click.registry, click.client, click.community, click.user_id)
    except CommunityError as refused:
        await click.tell(refusal(refused))


async def _change_draft(click: Click, change: DraftChange[T]) -> T | None:
    """`change` saved for the draft the button names; None if refused (the person is told
    why) or the value is not a draft's id."""
    if not as_int(click.value):
        return None
    try:
        return await change(
            click.database,
            click.clock,
            team_id=click.team_id,
            draft_id=as_id(click.value),
            user_id=click.user_id,
        )
    except CommunityError as refused:
        await click.tell(refusal(refused))
        return None


async def agree_to_terms(click: Click) -> None:
    """ "I agree": the person counted, and the message redrawn."""
    terms = await _change_draft(click, agree)
    if terms is not None:
        await redraw_terms(click.registry, click.client, team_id=click.team_id, draft_id=terms.id)


async def mark_terms_agreed(click: Click) -> None:
    """ "Mark agreed" (the service checks it is a coordinator): the community is launched."""
    marked = await _change_draft(click, mark_agreed)
    if marked is None:
        return
    terms, launched = marked
    await redraw_terms(click.registry, click.client, team_id=click.team_id, draft_id=terms.id)
    if launched:
        await click.client.chat_postMessage(
            channel=terms.community.channel_id,
            text=f"🚀 *{escape(terms.community.name)}* is launched: {mention(click.user_id)} "
            f"marked draft {terms.draft.version} of its terms of reference agreed.",
        )


def register(registry: Registry) -> None:
    registry.click(
        REDRAFT, draft_again, community=button_value, coordinators_only="draft the terms again"
    )
    registry.click(AGREE, agree_to_terms)
    registry.click(MARK_AGREED, mark_terms_agreed)
