"""`/cop launch`: the launch workshop, and the terms of reference the community agrees there.

The workshop is a meeting (announced with RSVP buttons, reminded, edited and cancelled from
`/cop meetings` like any other). Planning it drafts the terms of reference from the saved
answers: a Markdown file in the channel, and the channel's canvas where the workspace allows
one. Members press "I agree"; a coordinator marks the terms agreed, which launches the
community. "Draft again" rebuilds the draft from the latest answers in one click.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from functools import partial
from typing import Protocol, TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from bot.catalogue import LAUNCH_AGENDA
from bot.clock import Clock
from bot.publishing import put_canvas, upload_document
from bot.services.communities import CLOSED, CommunityRecord, community_by_id, is_closed
from bot.services.errors import CommunityError
from bot.services.meeting_form import LAUNCH, LAUNCH_FIELDS, new_form_values
from bot.services.meetings import Session, create_meeting, planned_launch
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
from handlers.blocks import Block, actions, as_id, as_int, button, context, plain, section
from handlers.coordinator_forms import show_closed
from handlers.cop import CopRequest
from handlers.forms import read_state, refuse_answers
from handlers.live import redraw
from handlers.names import real_names
from handlers.registry import Registry, Surface
from handlers.requests import Click, Submission, button_value, refusal
from storage.db import Database

LAUNCH_FORM = "launch_form"
AGREE = "terms_agree"
MARK_AGREED = "terms_mark_agreed"
REDRAFT = "terms_redraft"

log = logging.getLogger(__name__)

T = TypeVar("T")


class DraftChange(Protocol[T]):
    """A change to a terms draft, as `bot.services.terms` saves one (agree, mark agreed)."""

    def __call__(
        self, database: Database, clock: Clock, *, team_id: str, draft_id: int, user_id: str
    ) -> Awaitable[T]: ...


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


async def redraw_terms(
    registry: Registry, client: AsyncWebClient, *, team_id: str, draft_id: int
) -> None:
    """The terms message redrawn in place: who agreed, or that it was agreed or replaced."""
    database = registry.runtime.database

    async def render() -> tuple[str, list[Block]]:
        return terms_message(await terms_by_id(database, team_id=team_id, draft_id=draft_id))

    await redraw(
        registry.runtime, client, team_id=team_id, subject=f"terms:{draft_id}", render=render
    )


async def publish_terms(
    registry: Registry, client: AsyncWebClient, record: CommunityRecord, user_id: str
) -> None:
    """Draft the terms from the saved answers and put them in the channel."""
    runtime, community = registry.runtime, record.community
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
    await _post_terms(registry, client, team_id=community.team_id, draft_id=draft.id)
    if drafted.previous is not None and drafted.previous.id is not None:
        await redraw_terms(
            registry, client, team_id=community.team_id, draft_id=drafted.previous.id
        )


async def _post_terms(
    registry: Registry, client: AsyncWebClient, *, team_id: str, draft_id: int
) -> None:
    """The draft's message in the channel, kept to redraw as people agree."""
    database = registry.runtime.database
    terms = await terms_by_id(database, team_id=team_id, draft_id=draft_id)
    channel = terms.community.channel_id
    text, blocks = terms_message(terms)
    posted = await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    await record_message(database, terms=terms, channel_id=channel, ts=str(posted["ts"]))


async def plan_launch(registry: Registry, request: CopRequest) -> None:
    """`/cop launch`: the launch workshop's form; if it is planned already, when, and a
    button to draft the terms again."""
    record = request.community
    if is_closed(record):  # a read-only note, not a form refused only at Save
        launched = record.community.launched_at
        lines = [f"It was launched {slack_time(launched)}."] if launched else []
        await show_closed(request, record, title="Launch", why=CLOSED, lines=lines)
        return
    if not record.is_coordinator(request.user_id):
        await request.tell("Only this community's coordinators can plan its launch.")
        return
    assert record.community.id is not None
    runtime = registry.runtime
    planned = await planned_launch(
        runtime.database, runtime.clock, team_id=request.team_id, community_id=record.community.id
    )
    if planned is not None:
        await request.tell(*_already_planned(record, planned))
        return
    view = meeting_views.meeting_form(
        title="Plan the launch",
        fields=LAUNCH_FIELDS,
        values=new_form_values(record, purpose=LAUNCH, agenda=launch_agenda()),
        metadata={"community": record.community.id, "purpose": LAUNCH},
        callback_id=LAUNCH_FORM,
    )
    await request.open_form(view)


def _already_planned(record: CommunityRecord, planned: Session) -> tuple[str, list[Block]]:
    text = (
        f"The launch workshop is planned for {meeting_views.when(planned)}. "
        "`/cop meetings` changes or cancels it."
    )
    redraft = button(
        "Draft the terms of reference again",
        action_id=REDRAFT,
        value=str(record.community.id),
    )
    return text, [section(text), actions(redraft)]


async def schedule_launch(submission: Submission) -> None:
    """The launch workshop planned (a meeting like any other), then the terms drafted."""
    block_ids = [f.key for f in LAUNCH_FIELDS]
    try:
        planned = await create_meeting(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            community_id=as_id(submission.metadata.get("community")),
            user_id=submission.user_id,
            submitted=read_state(LAUNCH_FIELDS, submission.view.get("state") or {}),
            purpose=LAUNCH,
        )
    except CommunityError as refused:
        await refuse_answers(submission, refused, block_ids, coordinators_can="plan its launch")
        return
    await submission.ack()
    registry, client = submission.registry, submission.client
    await meeting_views.after_change(registry, planned, client)
    record = await community_by_id(
        submission.database,
        team_id=planned.meeting.team_id,
        community_id=planned.meeting.community_id,
    )
    await publish_terms(registry, client, record, submission.user_id)


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


async def launch_status(
    registry: Registry, record: CommunityRecord, viewer: str, surface: Surface
) -> list[Block]:
    """Where the launch stands, in `/cop status` and App Home."""
    community = record.community
    assert community.id is not None
    if community.launched_at is not None:
        return [context(f"🚀 Launched {slack_time(community.launched_at)}.")]
    if is_closed(record):
        return []  # never launched, and nothing to plan now
    terms = await latest_terms(
        registry.runtime.database, team_id=community.team_id, community_id=community.id
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
    text = f"📜 Terms of reference: draft {terms.draft.version}, {len(terms.agreed)} agree so far."
    if not record.is_coordinator(viewer):
        return [context(f"{text} A coordinator marks them agreed to launch the community.")]
    # Shown to this viewer only: a coordinator marks them agreed here too.
    return [
        section(
            f"{text} Marking them agreed launches the community.",
            accessory=mark_agreed_button(terms),
        )
    ]


def register(registry: Registry) -> None:
    registry.cop.subcommand(
        "launch",
        summary="plan the launch workshop and draft the terms of reference",
        community=True,
    )(partial(plan_launch, registry))
    registry.submission(LAUNCH_FORM, schedule_launch)
    registry.click(
        REDRAFT, draft_again, community=button_value, coordinators_only="draft the terms again"
    )
    registry.click(AGREE, agree_to_terms)
    registry.click(MARK_AGREED, mark_terms_agreed)
    registry.sections.append(partial(launch_status, registry))
