"""`/cop launch`: the launch workshop, and where the launch stands in `/cop status`.

The workshop is a meeting (announced with RSVP buttons, reminded, edited and cancelled from
`/cop meetings` like any other). Planning it drafts the terms of reference from the saved
answers (`handlers.terms_message`): a Markdown file in the channel, and the channel's canvas
where the workspace allows one. Members agree to them with the buttons of `handlers.terms`.
"""

from __future__ import annotations

from functools import partial

from bot.catalogue import LAUNCH_AGENDA
from bot.services.communities import CLOSED, CommunityRecord, community_by_id, is_closed
from bot.services.meeting_form import LAUNCH, LAUNCH_FIELDS, new_form_values
from bot.services.meetings import Session, create_meeting, planned_launch
from bot.services.terms import latest_terms
from bot.text import slack_time
from handlers import meeting_views
from handlers.blocks import Block, actions, as_id, button, context, section
from handlers.coordinator_forms import show_closed
from handlers.cop import CopRequest
from handlers.forms import read_state, save_and_close
from handlers.registry import Registry, Surface
from handlers.requests import Submission
from handlers.terms_message import REDRAFT, mark_agreed_button, publish_terms

LAUNCH_FORM = "launch_form"


def launch_agenda() -> str:
    return "\n".join(f"• {line}" for line in LAUNCH_AGENDA)


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
    planned = await save_and_close(
        submission,
        create_meeting(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            community_id=as_id(submission.metadata.get("community")),
            user_id=submission.user_id,
            submitted=read_state(LAUNCH_FIELDS, submission.view.get("state") or {}),
            purpose=LAUNCH,
        ),
        block_ids,
        coordinators_can="plan its launch",
    )
    if planned is None:
        return
    registry, client = submission.registry, submission.client
    await meeting_views.after_change(registry, planned, client)
    record = await community_by_id(
        submission.database,
        team_id=planned.meeting.team_id,
        community_id=planned.meeting.community_id,
    )
    await publish_terms(registry, client, record, submission.user_id)


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
    terms = await latest_terms(registry.runtime.database, record)
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
    registry.sections.append(partial(launch_status, registry))
