"""The community's library: *Save to knowledge* on any message in a community's
channel (or its threads), the author told with *Remove*, `/cop library [words]` to find what
was kept, and the monthly "What did we learn this month?" prompt whose answers join it.

Whatever a payload says (the channel, the message, the community) is checked where it is saved
(`bot.services.library`); the message itself is read from Slack, never from the payload."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Drop, Due
from bot.services import library, sustaining
from bot.services.document import Person
from bot.services.errors import CommunityError, InvalidAnswers, NoCommunity
from bot.services.library import Message
from bot.services.rounds import run_round, wanted
from bot.text import escape, mention, plural, slack_time, truncate
from handlers.access import slack_says_in_channel
from handlers.blocks import Block, actions, as_id, button, context, modal, section
from handlers.cop import CopRequest
from handlers.forms import errors_on_blocks, input_block, read_state
from handlers.registry import Registry
from handlers.requests import Click, Submission, refusal
from handlers.views import open_modal, tell_privately
from storage.models import LibraryEntry

SAVE_SHORTCUT = "save_to_knowledge"
SAVE_FORM = "library_save"
REMOVE = "library_remove"
LEARNED = "library_learned"
LEARNED_FORM = "library_learned_form"
NOT_FOUND = "That message could not be found in the community's channel, so nothing was saved."
# Another team's community, a private one the person is not in, a channel that is none: one
# answer, which reveals nothing.
NO_COMMUNITY = (
    "Only a message in the channel of a community you can see can be kept in its library. "
    "Nothing was saved."
)


def why(refused: CommunityError) -> str:
    return NO_COMMUNITY if isinstance(refused, NoCommunity) else refusal(refused)


def entry_line(entry: LibraryEntry) -> str:
    """One entry as a line of a message: its title (a link to the message), who wrote it,
    when it was kept, its tags; everything typed escaped."""
    title = escape(entry.title)
    if entry.permalink:
        title = f"<{entry.permalink}|{title}>"
    line = f"*{title}* by {mention(entry.author)}, {slack_time(entry.saved_at, '{date_short}')}"
    if entry.tags:
        line += " · " + ", ".join(f"`{escape(t)}`" for t in entry.tags)
    return line


def excerpt(entry: LibraryEntry, limit: int = 200) -> str:
    """The start of an entry's text on one line, escaped, its people as mentions: cut
    between its parts, never inside a mention or an entity."""
    out: list[str] = []
    used = 0
    for part in library.document_line(entry.text):
        if isinstance(part, Person):
            out.append(mention(part.user_id))
            used += 10
            continue
        text = " ".join(part.split("\n"))
        if used + len(text) > limit:
            out.append(escape(truncate(text, max(limit - used, 1))))
            break
        out.append(escape(text))
        used += len(text)
    return "".join(out)


# -- the shortcut -------------------------------------------------------------------------------


async def _message_in(
    client: AsyncWebClient, channel_id: str, ts: str, thread_ts: str | None
) -> dict[str, Any] | None:
    """The message as Slack has it in that channel (a thread reply through its thread); None
    if Slack has no such message there."""
    try:
        if thread_ts and thread_ts != ts:
            page = await client.conversations_replies(
                channel=channel_id, ts=thread_ts, oldest=ts, latest=ts, inclusive=True, limit=2
            )
        else:
            page = await client.conversations_history(
                channel=channel_id, oldest=ts, latest=ts, inclusive=True, limit=1
            )
    except SlackApiError:
        return None
    return next((m for m in page.get("messages") or [] if m.get("ts") == ts), None)


async def _permalink(client: AsyncWebClient, channel_id: str, ts: str) -> str | None:
    try:
        found = await client.chat_getPermalink(channel=channel_id, message_ts=ts)
    except SlackApiError:
        return None
    return str(found.get("permalink") or "") or None


def save_view(
    community_id: int, channel_id: str, ts: str, thread_ts: str | None, title: str
) -> dict[str, Any]:
    return modal(
        title="Community knowledge",
        callback_id=SAVE_FORM,
        submit="Save",
        close="Cancel",
        metadata={"community": community_id, "channel": channel_id, "ts": ts, "thread": thread_ts},
        blocks=[
            context("Keep this message in the community's library, so it is found again."),
            input_block(library.TITLE, title),
            input_block(library.TAGS, None),
        ],
    )


async def save_shortcut(
    registry: Registry,
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    logger: logging.Logger,
) -> None:
    """*Save to knowledge* on a message: the form, if the message is in a community
    of this team that the person belongs to."""
    await ack()
    user_id = str((body.get("user") or {}).get("id") or "")
    channel_id = str((body.get("channel") or {}).get("id") or "")
    message = body.get("message") or {}
    ts = str(body.get("message_ts") or message.get("ts") or "")
    try:
        record = await library.community_of_channel(
            registry.runtime.database,
            team_id=context.team_id or "",
            user_id=user_id,
            channel_id=channel_id,
            in_channel=slack_says_in_channel(client),
        )
    except CommunityError as refused:
        await tell_privately(client, user_id=user_id, text=why(refused))
        return
    thread_ts = message.get("thread_ts")
    found = await _message_in(client, channel_id, ts, thread_ts)
    if found is None or found.get("bot_id") or not found.get("user"):
        said = NOT_FOUND if found is None else f"{library.NOT_A_PERSON} Nothing was saved."
        await tell_privately(client, user_id=user_id, text=said)
        return
    view = save_view(
        record.community.id or 0,
        channel_id,
        ts,
        thread_ts,
        library.first_line(str(found.get("text") or "")),
    )
    await open_modal(client, trigger_id=str(body.get("trigger_id") or ""), view=view, logger=logger)


async def save_to_library(submission: Submission) -> None:
    """The form saved: the message read again from Slack, then kept (the service checks the
    team, the community's channel, and that the person is a member)."""
    meta = submission.metadata
    channel_id, ts = str(meta.get("channel") or ""), str(meta.get("ts") or "")
    thread = meta.get("thread")
    fields = [s.key for s in library.SAVE_FIELDS]
    found = await _message_in(submission.client, channel_id, ts, str(thread) if thread else None)
    if found is None:
        await submission.errors({fields[0]: NOT_FOUND})
        return
    message = Message(
        channel_id=channel_id,
        ts=ts,
        text=str(found.get("text") or ""),
        author="" if found.get("bot_id") else str(found.get("user") or ""),
        permalink=await _permalink(submission.client, channel_id, ts),
    )
    try:
        saved = await library.save_message(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            user_id=submission.user_id,
            community_id=as_id(meta.get("community")),
            message=message,
            submitted=read_state(library.SAVE_FIELDS, submission.view.get("state") or {}),
            in_channel=slack_says_in_channel(submission.client),
        )
    except InvalidAnswers as invalid:
        await submission.errors(errors_on_blocks(invalid.errors, fields))
        return
    except CommunityError as refused:
        await submission.errors({fields[0]: why(refused)})
        return
    said = "Saved" if saved.new else "Updated"
    await submission.ack(
        response_action="update",
        view=modal(
            title="Community knowledge",
            blocks=[section(f"{said} in the library: {entry_line(saved.entry)}")],
        ),
    )
    if saved.told is not None:
        await submission.registry.dispatcher.send_now([saved.told])


async def tell_author(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """The author told their message was kept, by whom, with *Remove*."""
    try:
        entry = await library.entry_by_id(
            registry.runtime.database, team_id=due.team_id, entry_id=int(due.payload["entry"])
        )
    except CommunityError:
        raise Drop("the entry was removed") from None
    text = (
        f":books: {mention(str(due.payload['saved_by']))} kept your message in the community's "
        f"library: {entry_line(entry)}\n>{excerpt(entry)}\nIf you'd rather it were not kept, "
        "remove it."
    )
    await client.chat_postMessage(
        channel=str(due.payload["user"]),
        text="Your message was saved to the community's library",
        blocks=[section(text), actions(button("Remove", action_id=REMOVE, value=str(entry.id)))],
    )


async def remove_from_library(click: Click) -> None:
    """*Remove*: the author, whoever saved it or a coordinator takes the entry out."""
    try:
        entry = await library.remove_entry(
            click.database,
            team_id=click.team_id,
            user_id=click.user_id,
            entry_id=as_id(click.value),
        )
    except CommunityError as refused:
        await click.tell(str(refused))
        return
    await click.tell(f"Removed “{escape(entry.title)}” from the community's library.")


# -- `/cop library` -----------------------------------------------------------------------------


async def find_in_library(registry: Registry, request: CopRequest) -> None:
    """`/cop library [words]`: the entries holding the words, newest first; else the latest."""
    found = await library.find(registry.runtime.database, request.community, request.args)
    words = " ".join(found.words)
    if not found.entries:
        said = (
            f"Nothing in the library holds “{escape(words)}”."
            if words
            else "The library is empty. Keep a message with *Save to knowledge* "
            "in its menu (⋯ › More message shortcuts)."
        )
        await request.tell(said)
        return
    heading = (
        f"*The library:* {plural(len(found.entries), 'entry', 'entries')} holding "
        f"“{escape(words)}”, newest first"
        if words
        else "*The library's latest entries*"
    )
    blocks: list[Block] = [section(heading)]
    for entry in found.entries:
        blocks.append(section(f"{entry_line(entry)}\n{excerpt(entry)}"))
    await request.tell(heading, blocks=blocks)


# -- the monthly prompt -------------------------------------------------------------------------


async def learning_round(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """The month has turned: one prompt per member, and next month's round."""
    await run_round(registry.runtime.database, registry.runtime.clock, due, sustaining.LEARNING)


async def ask_what_we_learned(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """One member asked "What did we learn this month?", with a button to the form."""
    record, period = await wanted(registry.runtime.database, due)
    community = record.community
    text = (
        f":seedling: What did we learn this month in *{escape(community.name)}* "
        f"(<#{community.channel_id}>)? A sentence or two is plenty: your answer goes into the "
        "community's library, so it is not lost."
    )
    value = f"{community.id}:{period.key}"
    await client.chat_postMessage(
        channel=str(due.payload["user"]),
        text=f"What did we learn this month in {escape(community.name)}?",
        blocks=[section(text), actions(button("Share", action_id=LEARNED, value=value))],
    )


async def open_learned_form(click: Click) -> None:
    community_id, _, period = click.value.partition(":")
    await click.open_form(
        modal(
            title="What did we learn?",
            callback_id=LEARNED_FORM,
            submit="Share",
            close="Cancel",
            metadata={"community": as_id(community_id), "period": period},
            blocks=[input_block(spec, None) for spec in library.ANSWER_FIELDS],
        )
    )


async def learned_shared(submission: Submission) -> None:
    fields = [s.key for s in library.ANSWER_FIELDS]
    try:
        entry = await library.save_answer(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            user_id=submission.user_id,
            community_id=as_id(submission.metadata.get("community")),
            period=str(submission.metadata.get("period") or ""),
            submitted=read_state(library.ANSWER_FIELDS, submission.view.get("state") or {}),
        )
    except InvalidAnswers as invalid:
        await submission.errors(errors_on_blocks(invalid.errors, fields))
        return
    except CommunityError as refused:
        await submission.errors({fields[0]: refusal(refused)})
        return
    await submission.ack(
        response_action="update",
        view=modal(
            title="What did we learn?",
            blocks=[section(f"Thank you: kept in the library as “{escape(entry.title)}”.")],
        ),
    )


def register(registry: Registry) -> None:
    registry.app.message_shortcut(SAVE_SHORTCUT)(partial(save_shortcut, registry))
    registry.submission(SAVE_FORM, save_to_library)
    registry.click(REMOVE, remove_from_library)
    registry.cop.subcommand(
        "library",
        summary="find what the community kept: `/cop library [words]`",
        community=True,
    )(partial(find_in_library, registry))
    registry.click(LEARNED, open_learned_form)
    registry.submission(LEARNED_FORM, learned_shared)
    senders = registry.senders
    senders.register(
        library.TOLD,
        partial(tell_author, registry),
        description="telling an author their message was saved to the library",
    )
    senders.register(
        sustaining.LEARNING,
        partial(learning_round, registry),
        description="a round of monthly “What did we learn?” prompts",
    )
    senders.register(
        sustaining.LEARNING_DM,
        partial(ask_what_we_learned, registry),
        description="asking a member what the community learned this month",
    )
