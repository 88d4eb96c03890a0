"""`/cop close`: the closing form, its confirmation (naming a split's new communities), and
what follows at once: the community read-only, its meetings' announcements redrawn, the
capture's first sends, and a split's new communities started (`handlers.splitting`).

The services decide and store (`bot.services.closure`, `splitting`); this module draws the
forms and talks to Slack.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from bot.services import closure as closing
from bot.services.communities import CommunityRecord, is_closed
from bot.services.errors import CommunityError, InvalidAnswers
from bot.services.milestones import today_for
from bot.services.splitting import SPLIT_FIELDS, Planned
from bot.text import calendar_date, escape, mention, plural
from handlers.blocks import Block, as_id, context, modal, section
from handlers.cop import CopRequest
from handlers.forms import errors_on_blocks, input_block, read_state
from handlers.meeting_views import redraw_session
from handlers.registry import Registry
from handlers.requests import Submission, refusal
from handlers.splitting import check_split, start_sub_communities

CLOSE_FORM = "closure_form"
CLOSE_CONFIRM = "closure_confirm"
RECIPIENT_CHANNEL = "recipient_channel"
METADATA_LIMIT = 3000  # Slack's limit on a view's private_metadata
STALE = (
    "These answers can no longer be used (the closing date may have passed): please run "
    "`/cop close` again."
)


def close_form(record: CommunityRecord, today: Any) -> dict[str, Any]:
    values = {
        "capture_days": str(closing.DEFAULT_CAPTURE_DAYS),
        "closing_date": (today + timedelta(days=closing.DEFAULT_CAPTURE_DAYS)).isoformat(),
        "recipients": record.coordinators,
    }
    blocks = [input_block(spec, values.get(spec.key)) for spec in closing.CLOSE_FIELDS]
    blocks.append(
        {
            "type": "input",
            "block_id": RECIPIENT_CHANNEL,
            "optional": True,
            "label": {"type": "plain_text", "text": "…and/or a channel that receives it"},
            "element": {
                "type": "conversations_select",
                "action_id": RECIPIENT_CHANNEL,
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            },
        }
    )
    blocks.append(
        context(
            "Closing makes the community read-only at once and cancels its pending reminders "
            "and meetings. Members are asked to share what they learned; the celebration and "
            "the archive come on the closing date."
        )
    )
    return modal(
        title="Close the community",
        blocks=blocks,
        callback_id=CLOSE_FORM,
        submit="Next",
        close="Cancel",
        metadata={"community": record.community.id},
    )


def confirm_view(
    plan: closing.ClosePlan, *, user_id: str, metadata: dict[str, Any]
) -> dict[str, Any]:
    """The closure's last step: what will happen, said before anything does. For a split, the
    sub-communities are named here too, so nothing closes until they are confirmed with it."""
    record, name = plan.record, escape(plan.record.community.name)
    split = plan.answers["reason"] == closing.SPLIT
    meetings = (
        f"Its {plural(plan.meetings, 'meeting')} still to come "
        "are cancelled, and their announcements say so; every pending reminder stops."
        if plan.meetings
        else "Every pending reminder and follow-up stops."
    )
    lines = [
        f"*Closing {name} cannot be undone.* When you press *Close the community*:",
        "• It becomes read-only at once: its stages, meetings, welcome and settings can no "
        "longer be changed.",
        f"• {meetings}",
        f"• Its {plural(plan.members, 'member')} are asked, in "
        f"<#{record.community.channel_id}> and by direct message, to share what they learned, "
        f"within {plan.capture_days} days.",
        f"• On {calendar_date(plan.closing_date)} the celebration is posted in the channel, "
        "with the archive of everything it recorded.",
    ]
    if split:
        lines.append(
            "• The new communities below start at once, each in a new channel with this "
            "community's scope; its members are invited."
        )
    blocks: list[Block] = [
        section("\n".join(lines)),
        context(
            closing.reason_words(
                str(plan.answers["reason"]), str(plan.answers.get("note") or ""), user_id
            )
        ),
    ]
    if split:
        blocks += split_blocks()
    return modal(
        title="Close the community?",
        blocks=blocks,
        callback_id=CLOSE_CONFIRM,
        submit="Close the community",
        close="Cancel",
        metadata=metadata,
    )


def split_blocks() -> list[Block]:
    blocks: list[Block] = [
        section(
            "*The new communities.* Name each one and choose its members: I'll create its channel."
        )
    ]
    return blocks + [input_block(spec, None) for spec in SPLIT_FIELDS]


def not_closed(why: str) -> dict[str, Any]:
    return modal(title="Not closed", blocks=[section(f"{escape(why)}\n\nNothing was closed.")])


async def open_close_form(registry: Registry, request: CopRequest) -> None:
    """`/cop close`: the form, for a coordinator, unless the community is already closed."""
    record = request.community
    if not record.is_coordinator(request.user_id):
        # Said with their names, so a member knows whom to ask.
        names = ", ".join(mention(u) for u in record.coordinators) or "its coordinators"
        await request.tell(f"Only this community's coordinators can close it: {names}.")
        return
    if is_closed(record):
        await request.tell("This community is already closed. `/cop archive` compiles its archive.")
        return
    today = today_for(record.community, registry.runtime.clock.now())
    await request.open_form(close_form(record, today))


async def check_close_form(submission: Submission) -> None:
    """The first step checks everything and closes nothing: the confirmation follows."""
    state = submission.view.get("state") or {}
    channel = (submission.state.get(RECIPIENT_CHANNEL) or {}).get(RECIPIENT_CHANNEL) or {}
    submitted = read_state(closing.CLOSE_FIELDS, state)
    community_id = as_id(submission.metadata.get("community"))
    try:
        plan = await closing.check_close(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            community_id=community_id,
            user_id=submission.user_id,
            submitted=submitted,
        )
    except InvalidAnswers as invalid:
        block_ids = [f.key for f in closing.CLOSE_FIELDS]
        await submission.errors(errors_on_blocks(invalid.errors, block_ids))
        return
    except CommunityError as refused:
        await submission.errors({"reason": refusal(refused, coordinators_can="close it", then="")})
        return
    metadata = {
        "community": community_id,
        "answers": submitted,
        "channel": channel.get("selected_conversation"),
    }
    confirm = confirm_view(plan, user_id=submission.user_id, metadata=metadata)
    if len(confirm["private_metadata"]) > METADATA_LIMIT:
        await submission.errors(
            {
                "recipients": "Too many people to carry to the next step: please name "
                "fewer here, or choose a channel that receives the knowledge instead."
            }
        )
        return
    await submission.ack(response_action="update", view=confirm)


async def close_confirmed(submission: Submission) -> None:
    """The confirmation: the split's new communities checked, then the community closed."""
    meta = submission.metadata
    submitted = meta.get("answers") if isinstance(meta.get("answers"), dict) else {}
    channel = meta.get("channel") if isinstance(meta.get("channel"), str) else None
    planned: list[Planned] = []
    try:
        if submitted.get("reason") == closing.SPLIT:
            # The new communities are checked before anything closes or is created.
            planned = await check_split(submission.client, submission.view)
        done = await closing.close_community(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            community_id=as_id(meta.get("community")),
            user_id=submission.user_id,
            submitted=submitted,
            recipient_channel=channel,
            reminder_days=submission.registry.settings.capture_reminder_days,
        )
    except InvalidAnswers as invalid:
        if all(key.startswith("sub") for key in invalid.errors):
            await submission.errors(invalid.errors)
        else:  # the first step's answers, gone stale (a date now past) or forged
            await submission.ack(response_action="update", view=not_closed(STALE))
        return
    except CommunityError as refused:
        why = refusal(refused, coordinators_can="close it", then="")
        await submission.ack(response_action="update", view=not_closed(why))
        return
    await submission.ack()
    await after_closing(submission, done, planned)


async def after_closing(
    submission: Submission, done: closing.Closing, planned: list[Planned]
) -> None:
    """What follows a closure at once, after the form has closed."""
    registry, client = submission.registry, submission.client
    # The cancelled meetings' announcements show it, as when a coordinator cancels one.
    for subject in done.redraw:
        await redraw_session(
            registry, client, team_id=done.record.community.team_id, subject=subject
        )
    await registry.dispatcher.send_now(done.send_now)
    if planned:
        await start_sub_communities(
            registry.runtime,
            client,
            planned,
            closure=done.closure,
            parent=done.record,
            user_id=submission.user_id,
            bot_user_id=submission.bot_user_id,
        )


def register(registry: Registry) -> None:
    registry.cop.subcommand(
        "close",
        summary="close this community and capture what it learned",
        community=True,
    )(partial(open_close_form, registry))
    registry.submission(CLOSE_FORM, check_close_form)
    registry.submission(CLOSE_CONFIRM, close_confirmed)
