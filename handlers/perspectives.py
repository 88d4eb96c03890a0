"""New perspectives: every few weeks coordinators are prompted to invite an external expert
or guest speaker; `/cop perspective` (and the prompt's button) logs who, from where, on what
and when; the log shows in `/cop status` and App Home."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Due
from bot.services import perspectives, sustaining
from bot.services.communities import CommunityRecord, is_closed
from bot.services.errors import CommunityError
from bot.services.perspectives import PERSPECTIVE_FIELDS
from bot.services.rounds import run_round, wanted
from bot.text import calendar_date, escape, plural
from handlers.blocks import Block, actions, as_id, button, context, modal, section
from handlers.coordinator_forms import register_coordinator_form
from handlers.forms import input_block, read_state
from handlers.registry import Registry, Surface
from handlers.requests import Submission
from handlers.saving import refuse_save
from handlers.views import open_modal

PERSPECTIVE_FORM = "perspective_form"
LOG_PERSPECTIVE = "log_perspective"
SHOWN = 3  # perspectives listed in status and App Home
COORDINATORS_ONLY = "Only this community's coordinators can log perspectives."


def perspective_line(perspective: Any) -> str:
    where = f" ({escape(perspective.organisation)})" if perspective.organisation else ""
    return (
        f"*{escape(perspective.guest)}*{where} on {escape(perspective.topic)}, "
        f"{calendar_date(perspective.day)}"
    )


def log_button(community_id: int) -> Block:
    return button(
        "Log a guest", action_id=f"{LOG_PERSPECTIVE}:{community_id}", value=str(community_id)
    )


def perspective_view(record: CommunityRecord, logged: list[Any]) -> dict[str, Any]:
    intro = (
        f"An external expert or guest speaker brings *{escape(record.community.name)}* a new "
        "perspective. Log who you've invited, or who has come."
    )
    blocks: list[Block] = [context(intro)]
    blocks += [input_block(spec, None) for spec in PERSPECTIVE_FIELDS]
    if logged:
        blocks.append(
            context("*Logged before:*\n" + "\n".join(perspective_line(p) for p in logged[:SHOWN]))
        )
    return modal(
        title="New perspective",
        callback_id=PERSPECTIVE_FORM,
        submit="Log",
        close="Cancel",
        metadata={"community": record.community.id},
        blocks=blocks,
    )


async def _logged(registry: Registry, record: CommunityRecord) -> list[Any]:
    assert record.community.id is not None
    return await perspectives.perspectives_of(registry.runtime.database, record)


async def open_perspective_form(
    registry: Registry,
    client: AsyncWebClient,
    record: CommunityRecord,
    trigger_id: str,
    logger: logging.Logger,
) -> bool:
    view = perspective_view(record, await _logged(registry, record))
    return await open_modal(client, trigger_id=trigger_id, view=view, logger=logger) is not None


async def logged_before(registry: Registry, record: CommunityRecord) -> list[str]:
    """A closed community's perspectives, as its record."""
    logged = await _logged(registry, record)
    if not logged:
        return ["No new perspectives were logged."]
    return ["*New perspectives it welcomed:*\n" + "\n".join(perspective_line(p) for p in logged)]


async def log_guest(submission: Submission) -> None:
    """The perspective form saved: the guest logged."""
    first = PERSPECTIVE_FIELDS[0].key
    try:
        saved = await perspectives.log_perspective(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            community_id=as_id(submission.metadata.get("community")),
            user_id=submission.user_id,
            answers=read_state(PERSPECTIVE_FIELDS, submission.view.get("state") or {}),
        )
    except CommunityError as refused:
        await refuse_save(submission, refused, field=first, coordinators_only=COORDINATORS_ONLY)
        return
    await submission.ack(
        response_action="update",
        view=modal(
            title="New perspective",
            blocks=[section(f"Logged: {perspective_line(saved)}. Thank you!")],
        ),
    )


# -- the prompt ---------------------------------------------------------------------------


async def prompt_round(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """A round of prompts is due: one row per coordinator, and the next round."""
    await run_round(registry.runtime.database, registry.runtime.clock, due, sustaining.PERSPECTIVE)


async def send_prompt(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """Prompts one coordinator to invite a new perspective."""
    record, _ = await wanted(registry.runtime.database, due)
    community = record.community
    assert community.id is not None
    logged = await _logged(registry, record)
    text = (
        f":bulb: Time for a new perspective in *{escape(community.name)}* "
        f"(<#{community.channel_id}>). Could you invite an external expert or a guest "
        "speaker to a meeting, or to a conversation in the channel? Someone from another "
        "organisation or discipline often asks the question the community hasn't."
    )
    last = (
        f"The last one logged: {perspective_line(logged[0])}."
        if logged
        else ("No guest has been logged yet.")
    )
    await client.chat_postMessage(
        channel=str(due.payload["user"]),
        text=f"Time for a new perspective in {escape(community.name)}",
        blocks=[section(text), context(last), actions(log_button(community.id))],
    )


async def perspectives_section(
    registry: Registry, record: CommunityRecord, viewer: str, surface: Surface
) -> list[Block]:
    """`/cop status` and App Home: the guests logged, and for coordinators a button."""
    community = record.community
    assert community.id is not None
    count, latest = await perspectives.latest_of(registry.runtime.database, record, shown=SHOWN)
    # A closed community logs no more guests: no button that would only be refused.
    coordinator = record.is_coordinator(viewer) and not is_closed(record)
    if not count and not coordinator:
        return []
    text = f"*New perspectives:* {plural(count, 'guest')} logged"
    if latest:
        text += "\n" + "\n".join(f"• {perspective_line(p)}" for p in latest)
    return [section(text, accessory=log_button(community.id) if coordinator else None)]


def register(registry: Registry) -> None:
    register_coordinator_form(
        registry,
        subcommand="perspective",
        summary="coordinators: log an external expert or guest speaker",
        button_action=LOG_PERSPECTIVE,
        refusal=COORDINATORS_ONLY,
        open_form=partial(open_perspective_form, registry),
        title="New perspective",
        closed=partial(logged_before, registry),
        why=sustaining.CLOSED_SUSTAINING,
    )
    registry.submission(PERSPECTIVE_FORM, log_guest)
    senders = registry.senders
    senders.register(
        sustaining.PERSPECTIVE,
        partial(prompt_round, registry),
        description="a round of new-perspective prompts",
    )
    senders.register(
        sustaining.PERSPECTIVE_DM,
        partial(send_prompt, registry),
        description="a prompt to invite a new perspective",
    )
    registry.sections.append(partial(perspectives_section, registry))
