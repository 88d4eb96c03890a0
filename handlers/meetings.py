"""Meetings: `/cop meeting` and its form, `/cop meetings` with edit and cancel, the RSVP
buttons, reminders, and notes and actions afterwards."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Drop, Due
from bot.once import post_once
from bot.services.actions import ForEditing, actions_of, for_editing
from bot.services.communities import CommunityRecord, community_by_id, is_closed
from bot.services.errors import CommunityError, Gone
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
    due_session,
    edit_meeting,
    meeting_channel,
    meeting_for_edit,
    next_meetings,
    notes_recipient,
    plan_ahead,
    record_announcement,
    record_notes_message,
    rsvp,
    save_notes,
    session_by_id,
    upcoming,
)
from bot.text import escape, mention
from handlers import meeting_views as views
from handlers.access import community_for, slack_says_in_channel
from handlers.action_views import actions_form
from handlers.blocks import Block, as_id, as_int, section
from handlers.coordinator_forms import show_closed
from handlers.cop import CopRequest
from handlers.forms import read_state, refuse_answers, save_and_close
from handlers.registry import Registry, Surface
from handlers.requests import Click, Submission, refusal
from handlers.views import tell_privately

# -- `/cop meeting` and `/cop meetings` -----------------------------------------------------


async def plan_meeting(request: CopRequest) -> None:
    """`/cop meeting`: the form, for the community's coordinators and facilitators."""
    record = request.community
    if is_closed(record):  # a read-only note, not a form refused only at Save
        await show_closed(request, record, title="Plan a meeting", why=CLOSED_MEETINGS)
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
    await request.open_form(view)


async def list_meetings(registry: Registry, request: CopRequest) -> None:
    """`/cop meetings`: each meeting's next session."""
    record = request.community
    await request.tell(
        f"Meetings of {escape(record.community.name)}",
        blocks=await _listing(registry, record, request.user_id),
    )


async def _listing(registry: Registry, record: CommunityRecord, user_id: str) -> list[Block]:
    assert record.community.id is not None
    runtime = registry.runtime
    sessions = await next_meetings(
        runtime.database,
        runtime.clock,
        team_id=record.community.team_id,
        community_id=record.community.id,
    )
    return views.meetings_list(sessions, can_manage=can_organise(record, user_id))


# -- the meeting form ---------------------------------------------------------------


async def save_meeting(submission: Submission) -> None:
    """A meeting (or the launch workshop) planned or changed (the service checks who may)."""
    meta = submission.metadata
    fields = LAUNCH_FIELDS if meta.get("purpose") == LAUNCH else MEETING_FIELDS
    block_ids = [f.key for f in fields]
    submitted = read_state(fields, submission.view.get("state") or {})
    planned = await save_and_close(submission, _planned(submission, meta, submitted), block_ids)
    if planned is None:
        return
    await views.after_change(submission.registry, planned, submission.client)


async def _planned(
    submission: Submission, meta: dict[str, Any], submitted: dict[str, Any]
) -> Planned:
    if meta.get("meeting"):
        return await edit_meeting(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            meeting_id=as_id(meta["meeting"]),
            user_id=submission.user_id,
            submitted=submitted,
        )
    return await create_meeting(
        submission.database,
        submission.clock,
        team_id=submission.team_id,
        community_id=as_id(meta.get("community")),
        user_id=submission.user_id,
        submitted=submitted,
    )


# -- RSVPs, edit and cancel ---------------------------------------------------------------


async def answer_invitation(click: Click) -> None:
    """An RSVP button: the answer saved, and the announcement's counts redrawn."""
    if not as_int(click.value):
        return
    try:
        found = await rsvp(
            click.database,
            click.clock,
            team_id=click.team_id,
            occurrence_id=as_id(click.value),
            user_id=click.user_id,
            answer=click.action["action_id"].partition(":")[2],
            in_channel=slack_says_in_channel(click.client),
        )
    except CommunityError as refused:
        await click.tell(refusal(refused))
        return
    await views.redraw_session(
        click.registry, click.client, team_id=click.team_id, subject=found.subject
    )


async def edit_meeting_form(click: Click) -> None:
    """ "Edit" in `/cop meetings`: the meeting's form, for its organisers."""
    try:
        meeting, values = await meeting_for_edit(
            click.database,
            click.clock,
            team_id=click.team_id,
            meeting_id=as_id(click.action.get("value")),
            user_id=click.user_id,
        )
    except (CommunityError, ValueError) as refused:
        text = refusal(refused) if isinstance(refused, CommunityError) else "Not a meeting."
        await tell_privately(click.client, user_id=click.user_id, text=text)
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
    await click.open_form(view)


async def cancel_from_list(click: Click) -> None:
    """ "Cancel meeting" in `/cop meetings`: the list redrawn, and the channel told."""
    try:
        planned = await cancel_meeting(
            click.database,
            click.clock,
            team_id=click.team_id,
            meeting_id=as_id(click.value),
            user_id=click.user_id,
        )
    except CommunityError as refused:
        await click.respond(
            text=refusal(refused), response_type="ephemeral", replace_original=False
        )
        return
    meeting = planned.meeting
    record = await community_by_id(
        click.database, team_id=click.team_id, community_id=meeting.community_id
    )
    await click.respond(
        text=f"Meetings of {escape(record.community.name)}",
        blocks=await _listing(click.registry, record, click.user_id),
        replace_original=True,
    )
    await click.client.chat_postMessage(
        channel=record.community.channel_id,
        text=f"🚫 {mention(click.user_id)} cancelled *{escape(meeting.title)}*. "
        "Nobody will be reminded of it.",
    )
    await views.after_change(click.registry, planned, click.client)


# -- notes and actions ------------------------------------------------------------------


async def open_notes_form(click: Click) -> None:
    """ "Add notes and actions" in the organiser's prompt: the notes form."""
    if not as_int(click.value):
        return
    try:
        found = await session_by_id(
            click.database, team_id=click.team_id, occurrence_id=as_id(click.value)
        )
        # The form shows the meeting: a private channel's only to the people in it.
        await community_for(
            click.database,
            click.client,
            team_id=click.team_id,
            user_id=click.user_id,
            community_id=found.meeting.community_id,
        )
    except CommunityError as refused:
        await tell_privately(click.client, user_id=click.user_id, text=refusal(refused))
        return
    agreed = await actions_of(click.database, team_id=click.team_id, occurrence_id=found.id)
    await click.open_form(views.notes_form(found, agreed))


async def post_notes(submission: Submission) -> None:
    """The notes saved, then posted in the channel (or the posted notes changed in place).
    With actions, the form turns into the one that gives them owners and due dates."""
    block_ids = [f.key for f in NOTES_FIELDS]
    database, team_id = submission.database, submission.team_id
    try:
        found = await save_notes(
            database,
            submission.clock,
            team_id=team_id,
            occurrence_id=as_id(submission.metadata.get("session")),
            user_id=submission.user_id,
            submitted=read_state(NOTES_FIELDS, submission.view.get("state") or {}),
        )
    except CommunityError as refused:
        await refuse_answers(submission, refused, block_ids)
        return
    editing = await _owners_and_dates(submission, found.id)
    if editing is not None and editing.actions:
        await submission.ack(response_action="update", view=actions_form(editing))
    else:
        await submission.ack()
    agreed = await actions_of(database, team_id=team_id, occurrence_id=found.id)
    text, blocks = views.notes_message(found, agreed)
    channel = await meeting_channel(
        database, team_id=team_id, community_id=found.meeting.community_id
    )
    client = submission.client
    if found.occurrence.notes_ts:  # written before: the posted notes change in place
        await client.chat_update(
            channel=channel, ts=found.occurrence.notes_ts, text=text, blocks=blocks
        )
        return
    posted = await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    await record_notes_message(
        database, team_id=team_id, occurrence_id=found.id, ts=str(posted["ts"])
    )


async def _owners_and_dates(submission: Submission, occurrence_id: int) -> ForEditing | None:
    """The session's actions, to give them owners and dates; None if that is not for this
    person now (a closed community keeps its notes but plans nothing)."""
    try:
        return await for_editing(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            occurrence_id=occurrence_id,
            user_id=submission.user_id,
        )
    except CommunityError:
        return None


# -- what the scheduler sends ------------------------------------------------------------


async def _current_session(registry: Registry, due: Due) -> Session:
    try:
        return await due_session(
            registry.runtime.database, team_id=due.team_id, payload=due.payload
        )
    except Gone as gone:
        raise Drop(str(gone)) from None


async def send_announcement(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    found = await _current_session(registry, due)
    database = registry.runtime.database
    channel = await meeting_channel(
        database, team_id=due.team_id, community_id=found.meeting.community_id
    )
    text, blocks = views.announcement(found)
    ts = await post_once(client, due, channel=channel, text=text, blocks=blocks)
    await record_announcement(database, session=found, channel_id=channel, ts=ts)


async def send_reminder(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    found = await _current_session(registry, due)
    channel = await meeting_channel(
        registry.runtime.database, team_id=due.team_id, community_id=found.meeting.community_id
    )
    text, blocks = views.reminder(found, str(due.payload.get("before")))
    await post_once(client, due, channel=channel, text=text, blocks=blocks)


async def send_notes_prompt(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    found = await _current_session(registry, due)
    text, blocks = views.notes_prompt(found)
    await client.chat_postMessage(channel=notes_recipient(found.meeting), text=text, blocks=blocks)


async def plan_next_session(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    try:
        await plan_ahead(
            registry.runtime.database,
            registry.runtime.clock,
            team_id=due.team_id,
            meeting_id=int(due.payload["meeting_id"]),
        )
    except Gone as gone:
        raise Drop(str(gone)) from None


async def next_meeting(
    registry: Registry, record: CommunityRecord, viewer: str, surface: Surface
) -> list[Block]:
    """`/cop status` and App Home show the community's next meeting."""
    assert record.community.id is not None
    sessions = await upcoming(
        registry.runtime.database,
        registry.runtime.clock,
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


def register(registry: Registry) -> None:
    cop, senders = registry.cop, registry.senders
    cop.subcommand(
        "meeting",
        summary="plan a meeting, or a series, with reminders and RSVPs",
        community=True,
    )(plan_meeting)
    cop.subcommand(
        "meetings", summary="the meetings coming up, to change or cancel them", community=True
    )(partial(list_meetings, registry))
    registry.submission(views.MEETING_FORM, save_meeting)
    registry.click(re.compile(rf"^{views.RSVP}:"), answer_invitation)
    registry.click(re.compile(rf"^{views.EDIT}:"), edit_meeting_form)
    registry.click(re.compile(rf"^{views.CANCEL}:"), cancel_from_list)
    registry.click(views.WRITE_NOTES, open_notes_form)
    registry.submission(views.NOTES_FORM, post_notes)
    senders.register(
        ANNOUNCEMENT, partial(send_announcement, registry), description="a meeting announcement"
    )
    senders.register(REMINDER, partial(send_reminder, registry), description="a meeting reminder")
    senders.register(
        NOTES_PROMPT,
        partial(send_notes_prompt, registry),
        description="a prompt for a meeting's notes",
    )
    senders.register(
        PLAN_AHEAD_ROW,
        partial(plan_next_session, registry),
        description="planning a meeting's next session",
    )
    registry.sections.append(partial(next_meeting, registry))
