"""Value stories: every quarter (or six months, `/cop sustain`) each member gets a direct
message with *Tell your story*, which opens the value-creation questions (`bot.value`) and the
consent to share. The service files the story under the period and checks who may tell it
(`bot.services.stories`); the report and `/cop health` show what they add up to."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Due
from bot.services import stories, sustaining
from bot.services.communities import CommunityRecord
from bot.services.errors import CommunityError, InvalidAnswers
from bot.services.health import Period
from bot.services.rounds import run_round, wanted
from bot.text import escape
from handlers.blocks import Block, actions, as_id, button, context, modal, section
from handlers.forms import errors_on_blocks, input_block, read_state
from handlers.registry import Registry
from handlers.requests import Click, Submission, button_value, refusal

STORY_FORM = "value_story_form"
TELL = "value_story_tell"
BLOCK_IDS = [spec.key for spec in stories.STORY_FIELDS]


def tell_button(community_id: int) -> Block:
    return actions(
        button("Tell your story", action_id=TELL, value=str(community_id), style="primary")
    )


def story_form(
    record: CommunityRecord, period: Period, earlier: dict[str, Any], consent: str | None
) -> dict[str, Any]:
    name = escape(record.community.name)
    intro = (
        f"What has *{name}* been worth to you ({period.words(record.community.timezone)})? "
        "Answer any of these, one or all, in a sentence or two. Answering again this period "
        "updates your story."
    )
    blocks: list[Block] = [section(intro)]
    blocks += [
        input_block(spec, consent if spec.key == stories.CONSENT else earlier.get(spec.key))
        for spec in stories.STORY_FIELDS
    ]
    blocks.append(
        context(
            "A story you don't share is only counted. `/cop forget` deletes your stories "
            "whenever you ask."
        )
    )
    return modal(
        title="Your value story",
        blocks=blocks,
        callback_id=STORY_FORM,
        submit="Save",
        close="Cancel",
        metadata={"community": record.community.id},
    )


# -- the prompt ---------------------------------------------------------------------------


async def prompt_round(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """A round of value-story prompts is due: one row per member, and the next round."""
    await run_round(registry.runtime.database, registry.runtime.clock, due, sustaining.STORIES)


async def send_prompt(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """Asks one member for their value story over the period that has just ended."""
    record, period = await wanted(registry.runtime.database, due)
    community = record.community
    assert community.id is not None
    text = (
        f":seedling: *{escape(community.name)}* (<#{community.channel_id}>) would like to hear "
        f"what it has been worth to you: {period.words(community.timezone)}. Five short "
        "questions, all optional: what happened, what it gave you, what you did differently, "
        "what difference it made, and whether it changed how you see things. You choose "
        "whether your story is shared, with your name or without it."
    )
    await client.chat_postMessage(
        channel=str(due.payload["user"]),
        text=f"Your value story for {escape(community.name)}",
        blocks=[section(text), tell_button(community.id)],
    )


# -- the form -----------------------------------------------------------------------------


async def open_story_form(click: Click) -> None:
    """*Tell your story*: the form, with the person's story for the period if they told one;
    refused before it opens, as it would be on saving (not a member, a closed community)."""
    record = click.community
    refused = await stories.may_tell(click.database, record, click.user_id)
    if refused is not None:
        await click.tell(refused)
        return
    period, earlier = await stories.earlier_story(
        click.database, click.clock, record, click.user_id
    )
    await click.open_form(
        story_form(
            record,
            period,
            earlier.answers if earlier else {},
            earlier.consent if earlier else None,
        )
    )


async def story_told(submission: Submission) -> None:
    """The form saved (the service checks the community, the person and the answers)."""
    try:
        await stories.save_story(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            community_id=as_id(submission.metadata.get("community")),
            user_id=submission.user_id,
            submitted=read_state(stories.STORY_FIELDS, submission.view.get("state") or {}),
        )
    except InvalidAnswers as invalid:
        await submission.errors(errors_on_blocks(invalid.errors, BLOCK_IDS))
        return
    except CommunityError as refused:
        await submission.errors({BLOCK_IDS[0]: refusal(refused)})
        return
    await submission.ack(
        response_action="update",
        view=modal(
            title="Your value story",
            blocks=[section("Thank you: your story is kept. You can change it this period.")],
        ),
    )


def register(registry: Registry) -> None:
    senders = registry.senders
    senders.register(
        sustaining.STORIES,
        partial(prompt_round, registry),
        description="a round of value-story prompts",
    )
    senders.register(
        sustaining.STORIES_DM,
        partial(send_prompt, registry),
        description="asking a member for their value story",
    )
    registry.click(TELL, open_story_form, community=button_value)
    registry.submission(STORY_FORM, story_told)
