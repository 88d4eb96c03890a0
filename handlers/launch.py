"""`/cop launch`: the launch workshop, and the terms of reference the community agrees there.

The workshop is a meeting (announced with RSVP buttons, reminded, edited and cancelled from
`/cop meetings` like any other). Planning it drafts the terms of reference from the saved
answers: a Markdown file in the channel, and the channel's canvas where the workspace allows
one. Members press "I agree"; a coordinator marks the terms agreed, which launches the
community. "Draft again" rebuilds the draft from the latest answers in one click.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalogue import LAUNCH_AGENDA
from bot.publishing import put_canvas, upload_document
from bot.services.communities import CLOSED, CommunityRecord, community_by_id, is_closed
from bot.services.errors import CommunityError, InvalidAnswers, NotCoordinator
from bot.services.meeting_form import LAUNCH, LAUNCH_FIELDS, new_form_values
from bot.services.meetings import create_meeting, upcoming
from bot.services.terms import (
    Terms,
    agree,
    document,
    draft_terms,
    latest_terms,
    mark_agreed,
    record_message,
    record_publication,
    terms_by_id,
)
from bot.services.writing import people_in
from bot.text import escape, mention, mention_list, slack_time
from handlers import meeting_views
from handlers.blocks import (
    Block,
    actions,
    as_id,
    as_int,
    button,
    context,
    metadata_of,
    plain,
    section,
)
from handlers.coordinator_forms import show_closed
from handlers.cop import CopRequest, community_here
from handlers.forms import errors_on_blocks, read_state
from handlers.live import redraw
from handlers.meetings import Meetings
from handlers.names import real_names
from handlers.registry import Registry, Surface
from handlers.requests import refusal
from handlers.views import TOO_SLOW, open_modal, tell_privately

LAUNCH_FORM = "launch_form"
AGREE = "terms_agree"
MARK_AGREED = "terms_mark_agreed"
REDRAFT = "terms_redraft"

log = logging.getLogger(__name__)


def launch_agenda() -> str:
    return "\n".join(f"• {line}" for line in LAUNCH_AGENDA)


def terms_message(terms: Terms) -> tuple[str, list[Block]]:
    draft, name = terms.draft, escape(terms.community.name)
    title = f"Draft {draft.version} of the terms of reference for {name}"
    agreed = terms.agreed
    who = mention_list(agreed)
    agreeing = f"{len(agreed)} agree" + (f": {who}" if agreed else " so far")
    if draft.agreed_at is not None and draft.agreed_by is not None:
        text = f"The terms of reference for {name} are agreed"
        return text, [
            section(
                f"✅ *{text}* (draft {draft.version}), marked agreed by "
                f"{mention(draft.agreed_by)} {slack_time(draft.agreed_at)}."
            ),
            context(agreeing),
        ]
    if not terms.current:
        return f"{title}: replaced by a newer draft", [
            section(f"~📜 {title}~ Replaced by a newer draft below."),
            context(agreeing),
        ]
    where = "in the file above" + (" and in the channel's canvas" if draft.canvas_id else "")
    # Every reader of the channel sees the same message, so the button is there for all;
    # marking is refused where it is saved to anyone but a coordinator.
    mark = mark_agreed_button(terms)
    return title, [
        section(
            f"📜 *{title}* is {where}. Read it before the launch workshop, and press "
            "*I agree* if you do."
        ),
        actions(
            button(
                f"I agree ({len(agreed)})",
                action_id=AGREE,
                value=str(terms.id),
                style="primary",
            ),
            button(
                "Draft again from the latest answers",
                action_id=REDRAFT,
                value=str(terms.community.id),
            ),
            mark,
        ),
        context(
            f"{agreeing} · A coordinator marks the terms agreed, which launches the community."
        ),
    ]


def mark_agreed_button(terms: Terms) -> Block:
    mark = button("Mark agreed", action_id=MARK_AGREED, value=str(terms.id))
    mark["confirm"] = {
        "title": plain("Mark the terms agreed?"),
        "text": plain("This launches the community with this draft as its terms of reference."),
        "confirm": plain("Mark agreed"),
        "deny": plain("Not yet"),
    }
    return mark


def register(registry: Registry) -> None:
    app, cop, runtime = registry.app, registry.cop, registry.runtime
    meetings = Meetings(registry)

    async def redraw_terms(client: AsyncWebClient, *, team_id: str, draft_id: int) -> None:
        async def render() -> tuple[str, list[Block]]:
            return terms_message(
                await terms_by_id(runtime.database, team_id=team_id, draft_id=draft_id)
            )

        await redraw(runtime, client, team_id=team_id, subject=f"terms:{draft_id}", render=render)

    async def publish_terms(client: AsyncWebClient, record: CommunityRecord, user_id: str) -> None:
        """Draft the terms from the saved answers and put them in the channel."""
        community = record.community
        assert community.id is not None
        # Real names in the files, which leave Slack; mentions in the canvas, which does not.
        names = await real_names(client, people_in(record))
        drafted = await draft_terms(
            runtime.database,
            runtime.clock,
            team_id=community.team_id,
            community_id=community.id,
            user_id=user_id,
            names=names,
        )
        draft = drafted.draft
        assert draft.id is not None
        terms = document(drafted)
        uploaded = await upload_document(
            client,
            terms,
            names,
            stem=f"terms-of-reference-draft-{draft.version}",
            comment=f"📜 Terms of reference for *{escape(community.name)}*, "
            f"draft {draft.version}, drafted by {mention(user_id)} from the answers saved so "
            "far: as Markdown and as a Word document.",
            channel=community.channel_id,
        )
        # The channel's canvas: a new one, or the last draft's replaced.
        canvas = await put_canvas(
            client, terms, names, channel_id=community.channel_id, replacing=draft.canvas_id
        )
        await record_publication(
            runtime.database,
            team_id=community.team_id,
            draft_id=draft.id,
            file_id=uploaded.first_id,
            canvas_id=canvas.id,
        )
        terms = await terms_by_id(runtime.database, team_id=community.team_id, draft_id=draft.id)
        text, blocks = terms_message(terms)
        posted = await client.chat_postMessage(
            channel=community.channel_id, text=text, blocks=blocks
        )
        await record_message(
            runtime.database, terms=terms, channel_id=community.channel_id, ts=str(posted["ts"])
        )
        if drafted.previous is not None and drafted.previous.id is not None:
            await redraw_terms(client, team_id=community.team_id, draft_id=drafted.previous.id)

    @cop.subcommand("launch", summary="plan the launch workshop and draft the terms of reference")
    async def launch(request: CopRequest) -> None:
        record = await community_here(runtime.database, request)
        if record is None:
            return
        if is_closed(record):  # a read-only note, not a form refused only at Save
            launched = record.community.launched_at
            lines = [f"It was launched {slack_time(launched)}."] if launched else []
            await show_closed(
                request,
                record,
                title="Launch",
                why=CLOSED,
                lines=lines,
            )
            return
        if not record.is_coordinator(request.user_id):
            await request.tell("Only this community's coordinators can plan its launch.")
            return
        assert record.community.id is not None
        planned = [
            s
            for s in await upcoming(
                runtime.database,
                runtime.clock,
                team_id=request.team_id,
                community_id=record.community.id,
            )
            if s.meeting.purpose == LAUNCH
        ]
        if planned:
            text = (
                f"The launch workshop is planned for {meeting_views.when(planned[0])}. "
                "`/cop meetings` changes or cancels it."
            )
            await request.tell(
                text,
                blocks=[
                    section(text),
                    actions(
                        button(
                            "Draft the terms of reference again",
                            action_id=REDRAFT,
                            value=str(record.community.id),
                        )
                    ),
                ],
            )
            return
        view = meeting_views.meeting_form(
            title="Plan the launch",
            fields=LAUNCH_FIELDS,
            values=new_form_values(record, purpose=LAUNCH, agenda=launch_agenda()),
            metadata={"community": record.community.id, "purpose": LAUNCH},
            callback_id=LAUNCH_FORM,
        )
        if not await open_modal(
            request.client, trigger_id=request.trigger_id, view=view, logger=request.logger
        ):
            await request.tell(TOO_SLOW)

    @app.view(LAUNCH_FORM)
    async def scheduled(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        block_ids = [f.key for f in LAUNCH_FIELDS]
        user_id = body["user"]["id"]
        try:
            planned = await create_meeting(
                runtime.database,
                runtime.clock,
                team_id=context.team_id or "",
                community_id=as_id(metadata_of(view).get("community")),
                user_id=user_id,
                submitted=read_state(LAUNCH_FIELDS, view.get("state") or {}),
                purpose=LAUNCH,
            )
        except InvalidAnswers as invalid:
            await ack(response_action="errors", errors=errors_on_blocks(invalid.errors, block_ids))
            return
        except NotCoordinator:
            await ack(
                response_action="errors",
                errors={block_ids[0]: "Only this community's coordinators can plan its launch."},
            )
            return
        except CommunityError as refused:
            await ack(response_action="errors", errors={block_ids[0]: refusal(refused)})
            return
        await ack()
        await meetings.after_change(planned, client)
        record = await _record(planned.meeting.team_id, planned.meeting.community_id)
        await publish_terms(client, record, user_id)

    async def _record(team_id: str, community_id: int) -> CommunityRecord:
        return await community_by_id(runtime.database, team_id=team_id, community_id=community_id)

    @app.action(REDRAFT)
    async def redraft(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        user_id, value = body["user"]["id"], str(action.get("value") or "")
        channel = (body.get("channel") or {}).get("id")
        if not as_int(value):
            return
        try:
            record = await _record(context.team_id or "", as_id(value))
            if not record.is_coordinator(user_id):  # saves the lookups; the save checks again
                raise NotCoordinator(record.coordinators)
            await publish_terms(client, record, user_id)
        except NotCoordinator:
            await tell_privately(
                client,
                user_id=user_id,
                text="Only the community's coordinators can draft the terms again.",
                channel_id=channel,
            )
        except CommunityError as refused:
            await tell_privately(client, user_id=user_id, text=refusal(refused), channel_id=channel)

    @app.action(AGREE)
    async def agreed(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        user_id, value = body["user"]["id"], str(action.get("value") or "")
        team_id = context.team_id or ""
        if not as_int(value):
            return
        try:
            await agree(
                runtime.database,
                runtime.clock,
                team_id=team_id,
                draft_id=as_id(value),
                user_id=user_id,
            )
        except CommunityError as refused:
            channel = (body.get("channel") or {}).get("id")
            await tell_privately(client, user_id=user_id, text=refusal(refused), channel_id=channel)
            return
        await redraw_terms(client, team_id=team_id, draft_id=as_id(value))

    @app.action(MARK_AGREED)
    async def marked(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        user_id, value = body["user"]["id"], str(action.get("value") or "")
        team_id = context.team_id or ""
        if not as_int(value):
            return
        try:
            terms, launched = await mark_agreed(
                runtime.database,
                runtime.clock,
                team_id=team_id,
                draft_id=as_id(value),
                user_id=user_id,
            )
        except CommunityError as refused:
            channel = (body.get("channel") or {}).get("id")
            await tell_privately(client, user_id=user_id, text=refusal(refused), channel_id=channel)
            return
        await redraw_terms(client, team_id=team_id, draft_id=terms.id)
        if launched:
            await client.chat_postMessage(
                channel=terms.community.channel_id,
                text=f"🚀 *{escape(terms.community.name)}* is launched: {mention(user_id)} "
                f"marked draft {terms.draft.version} of its terms of reference agreed.",
            )

    async def launch_status(record: CommunityRecord, viewer: str, surface: Surface) -> list[Block]:
        """Where the launch stands, in `/cop status` and App Home."""
        community = record.community
        assert community.id is not None
        if community.launched_at is not None:
            return [context(f"🚀 Launched {slack_time(community.launched_at)}.")]
        if is_closed(record):
            return []  # never launched, and nothing to plan now
        terms = await latest_terms(
            runtime.database, team_id=community.team_id, community_id=community.id
        )
        if terms is None:
            if record.is_coordinator(viewer):
                return [
                    context(
                        "`/cop launch` plans the launch workshop and drafts the terms of "
                        "reference from your answers."
                    )
                ]
            return []
        text = (
            f"📜 Terms of reference: draft {terms.draft.version}, {len(terms.agreed)} agree so far."
        )
        if not record.is_coordinator(viewer):
            return [context(f"{text} A coordinator marks them agreed to launch the community.")]
        # Shown to this viewer only: a coordinator marks them agreed here too.
        return [
            section(
                f"{text} Marking them agreed launches the community.",
                accessory=mark_agreed_button(terms),
            )
        ]

    registry.sections.append(launch_status)
