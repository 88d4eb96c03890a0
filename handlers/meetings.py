"""Meetings: `/cop meeting` and its form, `/cop meetings` with edit and cancel, the RSVP
buttons, reminders, and notes and actions afterwards."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Drop, Due
from bot.once import post_once
from bot.services.communities import CommunityRecord, community_by_id, is_closed
from bot.services.errors import CommunityError, Gone, InvalidAnswers
from bot.services.meeting_form import (
    LAUNCH,
    LAUNCH_FIELDS,
    MEETING,
    MEETING_FIELDS,
    NOTES_FIELDS,
    new_form_values,
)
from bot.services.meetings import (
    ANNOUNCEMENT,
    CLOSED_MEETINGS,
    NOTES_PROMPT,
    PLAN_AHEAD_ROW,
    REMINDER,
    Planned,
    Session,
    can_organise,
    cancel_meeting,
    create_meeting,
    edit_meeting,
    meeting_for_edit,
    next_meetings,
    notes_recipient,
    plan_ahead,
    record_announcement,
    record_notes_message,
    rsvp,
    save_notes,
    session_by_id,
    still_current,
    upcoming,
)
from bot.text import escape, mention
from handlers import meeting_views as views
from handlers.access import community_for, slack_says_in_channel
from handlers.blocks import Block, as_id, as_int, metadata_of, section
from handlers.coordinator_forms import show_closed
from handlers.cop import CopRequest, community_here
from handlers.forms import errors_on_blocks, read_state
from handlers.live import redraw
from handlers.registry import Registry, Surface
from handlers.requests import refusal
from handlers.views import TOO_SLOW, open_modal, tell_privately

OCCURRENCE = re.compile(r"^occurrence:(\d+)$")


class Meetings:
    """What the listeners, senders and the launch feature share: the registry's runtime and
    the Slack work that follows a change to a meeting."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.runtime = registry.runtime

    async def after_change(self, planned: Planned, client: AsyncWebClient) -> None:
        """Send what a change scheduled for now (announcements), and redraw what it changed."""
        await self.registry.dispatcher.send_now(planned.send_now)
        for subject in planned.redraw:
            await self.redraw_session(client, team_id=planned.meeting.team_id, subject=subject)

    async def redraw_session(self, client: AsyncWebClient, *, team_id: str, subject: str) -> None:
        match = OCCURRENCE.match(subject)
        if match is None:
            return
        occurrence_id = int(match.group(1))

        async def render() -> tuple[str, list[Block]]:
            found = await session_by_id(
                self.runtime.database, team_id=team_id, occurrence_id=occurrence_id
            )
            return views.announcement(found)

        await redraw(self.runtime, client, team_id=team_id, subject=subject, render=render)

    async def channel_of(self, team_id: str, community_id: int) -> str:
        record = await community_by_id(
            self.runtime.database, team_id=team_id, community_id=community_id
        )
        return record.community.channel_id


def register(registry: Registry) -> None:
    app, cop, runtime = registry.app, registry.cop, registry.runtime
    meetings = Meetings(registry)

    @cop.subcommand("meeting", summary="plan a meeting, or a series, with reminders and RSVPs")
    async def plan(request: CopRequest) -> None:
        record = await community_here(runtime.database, request)
        if record is None:
            return
        if is_closed(record):  # a read-only note, not a form refused only at Save
            await show_closed(
                request,
                record,
                title="Plan a meeting",
                why=CLOSED_MEETINGS,
            )
            return
        if not can_organise(record, request.user_id):
            await request.tell(
                "Only this community's coordinators and facilitators can plan meetings. "
                "`/cop meetings` shows what is coming up."
            )
            return
        view = views.meeting_form(
            title="Plan a meeting",
            fields=MEETING_FIELDS,
            values=new_form_values(record, purpose=MEETING),
            metadata={"community": record.community.id, "purpose": MEETING},
        )
        if not await open_modal(
            request.client, trigger_id=request.trigger_id, view=view, logger=request.logger
        ):
            await request.tell(TOO_SLOW)

    @cop.subcommand("meetings", summary="the meetings coming up, to change or cancel them")
    async def listing(request: CopRequest) -> None:
        record = await community_here(runtime.database, request)
        if record is None:
            return
        await request.tell(
            f"Meetings of {escape(record.community.name)}",
            blocks=await _listing(record, request.user_id),
        )

    async def _listing(record: CommunityRecord, user_id: str) -> list[Block]:
        assert record.community.id is not None
        sessions = await next_meetings(
            runtime.database,
            runtime.clock,
            team_id=record.community.team_id,
            community_id=record.community.id,
        )
        return views.meetings_list(sessions, can_manage=can_organise(record, user_id))

    @app.view(views.MEETING_FORM)
    async def save(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        meta = metadata_of(view)
        fields = LAUNCH_FIELDS if meta.get("purpose") == LAUNCH else MEETING_FIELDS
        block_ids = [f.key for f in fields]
        team_id, user_id = context.team_id or "", body["user"]["id"]
        submitted = read_state(fields, view.get("state") or {})
        try:
            if meta.get("meeting"):
                planned = await edit_meeting(
                    runtime.database,
                    runtime.clock,
                    team_id=team_id,
                    meeting_id=as_id(meta["meeting"]),
                    user_id=user_id,
                    submitted=submitted,
                )
            else:
                planned = await create_meeting(
                    runtime.database,
                    runtime.clock,
                    team_id=team_id,
                    community_id=as_id(meta.get("community")),
                    user_id=user_id,
                    submitted=submitted,
                )
        except InvalidAnswers as invalid:
            await ack(response_action="errors", errors=errors_on_blocks(invalid.errors, block_ids))
            return
        except CommunityError as refused:
            await ack(response_action="errors", errors={block_ids[0]: refusal(refused)})
            return
        await ack()
        await meetings.after_change(planned, client)

    @app.action(re.compile(rf"^{views.RSVP}:"))
    async def answer(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        value, user_id = str(action.get("value") or ""), body["user"]["id"]
        if not as_int(value):
            return
        team_id = context.team_id or ""
        try:
            found = await rsvp(
                runtime.database,
                runtime.clock,
                team_id=team_id,
                occurrence_id=as_id(value),
                user_id=user_id,
                answer=action["action_id"].partition(":")[2],
                in_channel=slack_says_in_channel(client),
            )
        except CommunityError as refused:
            channel = (body.get("channel") or {}).get("id")
            await tell_privately(client, user_id=user_id, text=refusal(refused), channel_id=channel)
            return
        await meetings.redraw_session(client, team_id=team_id, subject=found.subject)

    @app.action(re.compile(rf"^{views.EDIT}:"))
    async def edit(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        await ack()
        user_id = body["user"]["id"]
        try:
            meeting, values = await meeting_for_edit(
                runtime.database,
                runtime.clock,
                team_id=context.team_id or "",
                meeting_id=as_id(action.get("value")),
                user_id=user_id,
            )
        except (CommunityError, ValueError) as refused:
            text = refusal(refused) if isinstance(refused, CommunityError) else "Not a meeting."
            await tell_privately(client, user_id=user_id, text=text)
            return
        launch = meeting.purpose == LAUNCH
        view = views.meeting_form(
            title="Change the launch" if launch else "Change the meeting",
            fields=LAUNCH_FIELDS if launch else MEETING_FIELDS,
            values=values,
            metadata={
                "community": meeting.community_id,
                "meeting": meeting.id,
                "purpose": meeting.purpose,
            },
        )
        if not await open_modal(client, trigger_id=body["trigger_id"], view=view, logger=logger):
            await tell_privately(client, user_id=user_id, text=TOO_SLOW)

    @app.action(re.compile(rf"^{views.CANCEL}:"))
    async def cancel(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        team_id, user_id = context.team_id or "", body["user"]["id"]
        value = str(action.get("value") or "")
        try:
            planned = await cancel_meeting(
                runtime.database,
                runtime.clock,
                team_id=team_id,
                meeting_id=as_id(value),
                user_id=user_id,
            )
        except CommunityError as refused:
            await respond(text=refusal(refused), response_type="ephemeral", replace_original=False)
            return
        meeting = planned.meeting
        record = await community_by_id(
            runtime.database, team_id=team_id, community_id=meeting.community_id
        )
        await respond(
            text=f"Meetings of {escape(record.community.name)}",
            blocks=await _listing(record, user_id),
            replace_original=True,
        )
        await client.chat_postMessage(
            channel=record.community.channel_id,
            text=f"🚫 {mention(user_id)} cancelled *{escape(meeting.title)}*. "
            "Nobody will be reminded of it.",
        )
        await meetings.after_change(planned, client)

    @app.action(views.WRITE_NOTES)
    async def write_notes(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        await ack()
        value, user_id = str(action.get("value") or ""), body["user"]["id"]
        if not as_int(value):
            return
        try:
            found = await session_by_id(
                runtime.database, team_id=context.team_id or "", occurrence_id=as_id(value)
            )
            # The form shows the meeting: a private channel's only to the people in it.
            await community_for(
                runtime.database,
                client,
                team_id=context.team_id or "",
                user_id=user_id,
                community_id=found.meeting.community_id,
            )
        except CommunityError as refused:
            await tell_privately(client, user_id=user_id, text=refusal(refused))
            return
        view = views.notes_form(found)
        if not await open_modal(client, trigger_id=body["trigger_id"], view=view, logger=logger):
            await tell_privately(client, user_id=user_id, text=TOO_SLOW)

    @app.view(views.NOTES_FORM)
    async def post_notes(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        block_ids = [f.key for f in NOTES_FIELDS]
        team_id = context.team_id or ""
        occurrence_id = as_id(metadata_of(view).get("session"))
        try:
            found = await save_notes(
                runtime.database,
                runtime.clock,
                team_id=team_id,
                occurrence_id=occurrence_id,
                user_id=body["user"]["id"],
                submitted=read_state(NOTES_FIELDS, view.get("state") or {}),
            )
        except InvalidAnswers as invalid:
            await ack(response_action="errors", errors=errors_on_blocks(invalid.errors, block_ids))
            return
        except CommunityError as refused:
            await ack(response_action="errors", errors={block_ids[0]: refusal(refused)})
            return
        await ack()
        text, blocks = views.notes_message(found)
        channel = await meetings.channel_of(team_id, found.meeting.community_id)
        if found.occurrence.notes_ts:  # written before: the posted notes change in place
            await client.chat_update(
                channel=channel, ts=found.occurrence.notes_ts, text=text, blocks=blocks
            )
            return
        posted = await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        await record_notes_message(
            runtime.database, team_id=team_id, occurrence_id=found.id, ts=str(posted["ts"])
        )

    # -- what the scheduler sends ------------------------------------------------------

    async def current_session(due: Due) -> Session:
        try:
            found = await session_by_id(
                runtime.database,
                team_id=due.team_id,
                occurrence_id=int(due.payload["occurrence_id"]),
            )
        except Gone as gone:
            raise Drop(str(gone)) from None
        reason = still_current(found, due.payload)
        if reason is not None:
            raise Drop(reason)
        return found

    async def send_announcement(due: Due, client: AsyncWebClient) -> None:
        found = await current_session(due)
        channel = await meetings.channel_of(due.team_id, found.meeting.community_id)
        text, blocks = views.announcement(found)
        ts = await post_once(client, due, channel=channel, text=text, blocks=blocks)
        await record_announcement(runtime.database, session=found, channel_id=channel, ts=ts)

    async def send_reminder(due: Due, client: AsyncWebClient) -> None:
        found = await current_session(due)
        channel = await meetings.channel_of(due.team_id, found.meeting.community_id)
        text = views.reminder(found, str(due.payload.get("before")))
        await post_once(client, due, channel=channel, text=text)

    async def send_notes_prompt(due: Due, client: AsyncWebClient) -> None:
        found = await current_session(due)
        text, blocks = views.notes_prompt(found)
        await client.chat_postMessage(
            channel=notes_recipient(found.meeting), text=text, blocks=blocks
        )

    async def plan_next(due: Due, client: AsyncWebClient) -> None:
        try:
            await plan_ahead(
                runtime.database,
                runtime.clock,
                team_id=due.team_id,
                meeting_id=int(due.payload["meeting_id"]),
            )
        except Gone as gone:
            raise Drop(str(gone)) from None

    registry.senders.register(ANNOUNCEMENT, send_announcement, description="a meeting announcement")
    registry.senders.register(REMINDER, send_reminder, description="a meeting reminder")
    registry.senders.register(
        NOTES_PROMPT, send_notes_prompt, description="a prompt for a meeting's notes"
    )
    registry.senders.register(
        PLAN_AHEAD_ROW, plan_next, description="planning a meeting's next session"
    )

    async def next_meeting(record: CommunityRecord, viewer: str, surface: Surface) -> list[Block]:
        """`/cop status` and App Home show the community's next meeting."""
        assert record.community.id is not None
        sessions = await upcoming(
            runtime.database,
            runtime.clock,
            team_id=record.community.team_id,
            community_id=record.community.id,
            limit=1,
        )
        if not sessions:
            hint = " `/cop meeting` plans one." if can_organise(record, viewer) else ""
            return [section(f"📅 No meeting is planned yet.{hint}")]
        found = sessions[0]
        return [
            section(
                f"📅 *Next meeting:* {escape(found.meeting.title)}\n{views.when(found)}\n"
                f"{views.where(found)} · {views.counts(found)}"
            )
        ]

    registry.sections.append(next_meeting)
