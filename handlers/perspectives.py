"""New perspectives: every few weeks coordinators are prompted to invite an external expert
or guest speaker; `/cop perspective` (and the prompt's button) logs who, from where, on what
and when; the log shows in `/cop status` and App Home."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Due
from bot.services import sustaining
from bot.services.communities import CommunityClosed, CommunityRecord, is_closed
from bot.services.errors import CommunityError, InvalidAnswers, NotCoordinator
from bot.services.sustaining import PERSPECTIVE_FIELDS
from bot.text import calendar_date, escape, plural
from handlers.blocks import Block, actions, as_id, button, context, metadata_of, modal, section
from handlers.coordinator_forms import register_coordinator_form
from handlers.forms import input_block, read_state
from handlers.health import run_round, wanted
from handlers.registry import Registry, Surface
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


def register(registry: Registry) -> None:
    app, runtime = registry.app, registry.runtime
    database, clock = runtime.database, runtime.clock

    async def open_form(
        client: AsyncWebClient, record: CommunityRecord, trigger_id: str, logger: logging.Logger
    ) -> bool:
        assert record.community.id is not None
        logged = await sustaining.perspectives(
            database, team_id=record.community.team_id, community_id=record.community.id
        )
        view = perspective_view(record, logged)
        return await open_modal(client, trigger_id=trigger_id, view=view, logger=logger) is not None

    async def logged_before(record: CommunityRecord) -> list[str]:
        assert record.community.id is not None
        logged = await sustaining.perspectives(
            database, team_id=record.community.team_id, community_id=record.community.id
        )
        if not logged:
            return ["No new perspectives were logged."]
        return [
            "*New perspectives it welcomed:*\n" + "\n".join(perspective_line(p) for p in logged)
        ]

    register_coordinator_form(
        registry,
        subcommand="perspective",
        summary="coordinators: log an external expert or guest speaker",
        button_action=LOG_PERSPECTIVE,
        refusal=COORDINATORS_ONLY,
        open_form=open_form,
        title="New perspective",
        closed=logged_before,
        why=sustaining.CLOSED_SUSTAINING,
    )

    @app.view(PERSPECTIVE_FORM)
    async def logged(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        first = PERSPECTIVE_FIELDS[0].key
        try:
            saved = await sustaining.log_perspective(
                database,
                clock,
                team_id=context.team_id or "",
                community_id=as_id(metadata_of(view).get("community")),
                user_id=body["user"]["id"],
                answers=read_state(PERSPECTIVE_FIELDS, view.get("state") or {}),
            )
        except InvalidAnswers as invalid:
            await ack(response_action="errors", errors=invalid.errors)
            return
        except NotCoordinator:
            await ack(response_action="errors", errors={first: COORDINATORS_ONLY})
            return
        except CommunityClosed as closed:
            await ack(response_action="errors", errors={first: str(closed)})
            return
        except CommunityError:
            await ack(response_action="errors", errors={first: "This community no longer exists."})
            return
        await ack(
            response_action="update",
            view=modal(
                title="New perspective",
                blocks=[section(f"Logged: {perspective_line(saved)}. Thank you!")],
            ),
        )

    # -- the prompt -----------------------------------------------------------------------

    async def prompt_round(due: Due, client: AsyncWebClient) -> None:
        await run_round(database, clock, due, sustaining.PERSPECTIVE)

    async def send_prompt(due: Due, client: AsyncWebClient) -> None:
        record, _ = await wanted(database, due)
        community = record.community
        assert community.id is not None
        logged = await sustaining.perspectives(
            database, team_id=community.team_id, community_id=community.id
        )
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

    senders = registry.senders
    senders.register(
        sustaining.PERSPECTIVE, prompt_round, description="a round of new-perspective prompts"
    )
    senders.register(
        sustaining.PERSPECTIVE_DM, send_prompt, description="a prompt to invite a new perspective"
    )

    async def perspectives_section(
        record: CommunityRecord, viewer: str, surface: Surface
    ) -> list[Block]:
        community = record.community
        assert community.id is not None
        logged = await sustaining.perspectives(
            database, team_id=community.team_id, community_id=community.id
        )
        # A closed community logs no more guests: no button that would only be refused.
        coordinator = record.is_coordinator(viewer) and not is_closed(record)
        if not logged and not coordinator:
            return []
        text = f"*New perspectives:* {plural(len(logged), 'guest')} logged"
        if logged:
            text += "\n" + "\n".join(f"• {perspective_line(p)}" for p in logged[:SHOWN])
        return [section(text, accessory=log_button(community.id) if coordinator else None)]

    registry.sections.append(perspectives_section)
