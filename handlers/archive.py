"""A closed community's record: the celebration on its closing date with the archive published
(a file, a canvas, and to its keepers), `/cop archive` and `/cop export`, archiving the channel,
the note to someone who joins after closure, and the closed community's App Home.

The services compile and store (`bot.services.archive`, `bot.services.closure`); this module
draws the messages and talks to Slack.
"""

from __future__ import annotations

import logging
from functools import partial

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Due
from bot.once import post_once
from bot.publishing import Published, put_canvas, upload_document
from bot.services import capture
from bot.services import closure as closing
from bot.services.archive import CommunityArchive, compile_archive, render_json
from bot.services.archive import build as build_archive
from bot.services.communities import (
    CommunityRecord,
    community_by_id,
    community_in_channel,
    is_closed,
)
from bot.services.document import Document, Names
from bot.services.errors import CommunityError
from bot.text import escape, mention, mention_list, plural
from handlers.blocks import Block, actions, as_id, button, context, modal, section
from handlers.cop import CopRequest
from handlers.names import real_names
from handlers.registry import Registry, Surface
from handlers.requests import Click, Submission, button_value
from handlers.views import open_modal
from storage.models import Community

EXPORT = "closure_export"
ARCHIVE_CHANNEL = "closure_archive_channel"
ARCHIVE_CHANNEL_FORM = "archive_channel_form"

log = logging.getLogger(__name__)


def celebration_text(c: closing.Celebration) -> tuple[str, list[Block]]:
    name = escape(c.record.community.name)
    lines = [f"🎉 *Celebrating {name}*", closing.reason_of(c.closure), ""]
    if c.milestones_done:
        titles = ", ".join(escape(m.title) for m in c.milestones_done)
        lines.append(f"✅ {len(c.milestones_done)} milestones completed: {titles}")
    lines.append(f"📅 {c.meetings_held} meetings held")
    lines.append(f"🙌 {plural(len(c.members), 'member')} took part: {mention_list(c.members)}")
    thanks = []
    if c.coordinators:
        thanks.append("coordinating: " + ", ".join(mention(u) for u in c.coordinators))
    if c.facilitators:
        thanks.append("facilitating: " + ", ".join(mention(u) for u in c.facilitators))
    thanks += [
        f"{escape(role)}: " + ", ".join(mention(u) for u in people) for role, people in c.roles
    ]
    if thanks:
        lines.append("🙏 Thank you for " + "; ".join(thanks))
    if c.highlights:
        lines += ["", "*Highlights from what you shared*"]
        lines += [f"• {escape(text[:300])} ({mention(user)})" for user, text in c.highlights[:10]]
    text = "\n".join(lines)
    return f"Celebrating {name}", [
        section(text[:2900]),
        context("The archive of everything this community recorded follows."),
        actions(button("Archive this channel…", action_id=ARCHIVE_CHANNEL, value="confirm")),
    ]


def archive_note(community: Community, no_canvas: str | None) -> str:
    """What the coordinator is told about where the archive went."""
    where = f"<#{community.channel_id}>"
    if no_canvas is None:
        return f"📚 The archive is in {where}: a Markdown file, and a canvas in the channel."
    return (
        f"📚 The archive is in {where} as a Markdown file. Slack would not make a canvas of "
        f"it here (`{escape(no_canvas)}`, often a workspace plan without canvases), so the "
        "file is the archive: nothing is missing from it."
    )


async def archive_of(registry: Registry, *, team_id: str, community_id: int) -> CommunityArchive:
    runtime = registry.runtime
    return await compile_archive(
        runtime.database, runtime.clock, team_id=team_id, community_id=community_id
    )


async def publish(
    registry: Registry, client: AsyncWebClient, archive: CommunityArchive, *, by: str | None
) -> str | None:
    """The archive as a file in the channel, a canvas where the workspace allows one, and
    sent to the closure's recipients. Returns why there is no canvas (Slack's error), or
    None when there is one."""
    community = archive.record.community
    # Real names in the files, which leave Slack; mentions in the canvas, which does not.
    names = await real_names(client, archive.people())
    document = build_archive(archive)
    who = f" by {mention(by)}" if by else ""
    uploaded = await upload_document(
        client,
        document,
        names,
        stem="community-archive",
        comment=f"📚 The archive of *{escape(community.name)}*, compiled{who} from "
        "everything this community recorded: as Markdown and as a Word document.",
        channel=community.channel_id,
    )
    canvas = await put_canvas(
        client,
        document,
        names,
        channel_id=community.channel_id,  # tabbed in the channel, beside the file
        title=f"Archive of {community.name}",
    )
    await send_to_keepers(registry, client, archive, document, names, uploaded)
    return canvas.refused


async def send_to_keepers(
    registry: Registry,
    client: AsyncWebClient,
    archive: CommunityArchive,
    document: Document,
    names: Names,
    uploaded: Published,
) -> None:
    """The closure records where its archive is, and its recipients (a channel, people)
    receive it."""
    community, closure = archive.record.community, archive.closure
    if closure is None or closure.id is None:
        return
    link = uploaded.first_permalink or ""
    await closing.record_archive(
        registry.runtime.database,
        closure_id=closure.id,
        file_id=uploaded.first_id,
        permalink=link or None,
    )
    if closure.recipient_channel and closure.recipient_channel != community.channel_id:
        try:
            await upload_document(
                client,
                document,
                names,
                stem="community-archive",
                comment=f"📚 What *{escape(community.name)}* learned, kept here.",
                channel=closure.recipient_channel,
            )
        except SlackApiError as error:
            log.warning("archive not sent to its channel: %s", error.response.get("error"))
    for person in closure.recipients:
        await client.chat_postMessage(
            channel=person,
            text=f"📚 You are a keeper of what *{escape(community.name)}* learned: "
            f"<{link}|its archive>.",
        )


async def celebrate(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """On the closing date: the celebration in the channel, then the archive."""
    runtime = registry.runtime
    celebration = await closing.celebrate(
        runtime.database,
        runtime.clock,
        team_id=due.team_id,
        closure_id=int(due.payload["closure_id"]),
    )
    community = celebration.record.community
    text, blocks = celebration_text(celebration)
    await post_once(client, due, channel=community.channel_id, text=text, blocks=blocks)
    if due.attempts > 1 and celebration.closure.archive_file_id:
        return  # the archive went out on the attempt that posted the celebration
    assert community.id is not None
    archive = await archive_of(registry, team_id=due.team_id, community_id=community.id)
    no_canvas = await publish(registry, client, archive, by=None)
    if no_canvas is not None:  # the coordinator who closed it hears where it went
        await client.chat_postMessage(
            channel=celebration.closure.closed_by, text=archive_note(community, no_canvas)
        )


async def archive_now(registry: Registry, request: CopRequest) -> None:
    """`/cop archive`, by a coordinator: the archive compiled and published now."""
    record = request.community
    if record.community.id is None:
        return
    archive = await archive_of(registry, team_id=request.team_id, community_id=record.community.id)
    no_canvas = await publish(registry, request.client, archive, by=request.user_id)
    await request.tell(archive_note(record.community, no_canvas))


async def export_record(registry: Registry, request: CopRequest) -> None:
    """`/cop export`, by a coordinator."""
    await send_export(registry, request.client, request.community, request.user_id)
    await request.tell("I've sent you the record as Markdown, Word and JSON in a direct message.")


async def export_pressed(click: Click) -> None:
    """App Home's "Export the record", by a coordinator."""
    await send_export(click.registry, click.client, click.community, click.user_id)


async def send_export(
    registry: Registry, client: AsyncWebClient, record: CommunityRecord, user_id: str
) -> None:
    """The community's record as Markdown, Word and JSON, in a direct message."""
    assert record.community.id is not None
    archive = await archive_of(
        registry, team_id=record.community.team_id, community_id=record.community.id
    )
    names = await real_names(client, archive.people())
    json_file = {
        "content": render_json(archive),
        "filename": "community-record.json",
        "title": "Community record (JSON)",
    }
    await upload_document(
        client,
        build_archive(archive),
        names,
        stem="community-record",
        comment=f"The record of *{escape(record.community.name)}*, for safekeeping.",
        person=user_id,
        extra=[json_file],
    )


async def confirm_archiving(click: Click) -> None:
    """The celebration's "Archive this channel…": a second confirmation, for coordinators."""
    channel = click.channel_id or ""
    record = await community_in_channel(click.database, team_id=click.team_id, channel_id=channel)
    if record is None or not record.is_coordinator(click.user_id):
        await click.tell("Only the community's coordinators can archive its channel.")
        return
    await open_modal(
        click.client,
        trigger_id=click.trigger_id,
        view=modal(
            title="Archive the channel?",
            blocks=[
                section(
                    f"Archive <#{channel}>? Nobody can post in it afterwards; its history "
                    "and the archive file stay readable."
                )
            ],
            callback_id=ARCHIVE_CHANNEL_FORM,
            submit="Archive it",
            close="Not now",
            metadata={"community": record.community.id},
        ),
        logger=click.logger,
    )


async def archive_channel(submission: Submission) -> None:
    """Confirmed: the closed community's channel archived."""
    try:
        record = await community_by_id(
            submission.database,
            team_id=submission.team_id,
            community_id=as_id(submission.metadata.get("community")),
        )
    except CommunityError as refused:
        await submission.errors({"_": str(refused)})
        return
    await submission.ack()
    if not record.is_coordinator(submission.user_id) or not is_closed(record):
        await submission.tell("Only a closed community's coordinators can do that.")
        return
    await submission.client.conversations_archive(channel=record.community.channel_id)


async def note_to_late_joiner(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """Someone joined the channel after closure: where what it learned is kept."""
    closure = (
        await closing.closure_for(
            registry.runtime.database, team_id=due.team_id, community_id=due.community_id or 0
        )
        if due.community_id
        else None
    )
    where = (
        f"<{closure.archive_permalink}|its archive>"
        if closure and closure.archive_permalink
        else "the archive posted in the channel"
    )
    await client.chat_postMessage(
        channel=str(due.payload["user"]),
        text=f"Welcome! This community has closed, so the channel is kept as a record. "
        f"What it learned is in {where}.",
    )


async def closed_community_status(
    registry: Registry, record: CommunityRecord, viewer: str, surface: Surface
) -> list[Block]:
    """A closed community's Home: who shared what they learned, and its record to export.
    Where it stands (closing, or closed with its archive) is its next step, above."""
    if not is_closed(record) or record.community.id is None:
        return []
    runtime = registry.runtime
    progress = await capture.capture_progress(
        runtime.database, team_id=record.community.team_id, community_id=record.community.id
    )
    if progress is None:
        return []
    shared = mention_list(progress.answered, nobody="nobody")
    text = f"📚 *Shared what they learned* ({len(progress.answered)}): {shared}."
    capturing = capture.still_capturing(progress.closure, record.community, runtime.clock.now())
    coordinator = record.is_coordinator(viewer)
    if capturing and coordinator:
        text += f" Still to answer: {len(progress.waiting)}."
    export = button("Export the record", action_id=EXPORT, value=str(record.community.id))
    return [section(text, accessory=export if coordinator else None)]


def register(registry: Registry) -> None:
    senders, cop = registry.senders, registry.cop
    senders.register(
        closing.CELEBRATION,
        partial(celebrate, registry),
        description="the closing celebration and archive",
    )
    cop.subcommand(
        "archive",
        summary="compile the community's archive now",
        coordinators_only="compile its archive",
    )(partial(archive_now, registry))
    cop.subcommand(
        "export",
        summary="the community's record as Markdown and JSON",
        coordinators_only="export its record",
    )(partial(export_record, registry))
    registry.click(
        EXPORT, export_pressed, community=button_value, coordinators_only="export its record"
    )
    registry.click(ARCHIVE_CHANNEL, confirm_archiving)
    registry.submission(ARCHIVE_CHANNEL_FORM, archive_channel)
    senders.register(
        closing.CLOSED_NOTE,
        partial(note_to_late_joiner, registry),
        description="a note to someone joining after closure",
    )
    registry.sections.append(partial(closed_community_status, registry))
