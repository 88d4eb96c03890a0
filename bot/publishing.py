"""Putting a document or pictures into Slack: as files in a conversation (a channel, or a
person's direct messages with the app) and as a canvas where the workspace allows one.

Every feature that publishes (the terms of reference, the archive, the community record, the
sponsor report, the health pictures) goes through here, so files are uploaded one way and a
refused canvas is handled one way: the files alone carry the document, and why is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.document import Document, Names, to_markdown, upload_files

log = logging.getLogger(__name__)

FileUpload = dict[str, object]  # one entry of files_upload_v2's `file_uploads`


@dataclass(frozen=True)
class Published:
    """What Slack made of one upload: each file as Slack describes it (`id`, `name`,
    `permalink`), in the order uploaded."""

    files: list[dict[str, Any]]

    @property
    def first_id(self) -> str | None:
        return str((self.files or [{}])[0].get("id") or "") or None

    @property
    def first_permalink(self) -> str | None:
        return str((self.files or [{}])[0].get("permalink") or "") or None

    def by_name(self) -> dict[str, dict[str, Any]]:
        return {str(f.get("name")): f for f in self.files}


@dataclass(frozen=True)
class Canvas:
    """A canvas put in a channel, or why Slack would not (a free workspace, canvases off)."""

    id: str | None
    refused: str | None = None


async def upload(
    client: AsyncWebClient,
    files: Sequence[FileUpload],
    *,
    comment: str,
    channel: str | None = None,
    person: str | None = None,
) -> Published:
    """Upload `files` with `comment` to `channel`, or to `person`'s direct messages with the
    app (opened first: a DM's id is not the person's)."""
    if (channel is None) == (person is None):
        raise ValueError("upload to a channel or to a person, not both")
    if person is not None:
        opened = await client.conversations_open(users=person)
        channel = str(opened["channel"]["id"])
    uploaded = await client.files_upload_v2(
        channel=channel, file_uploads=list(files), initial_comment=comment
    )
    return Published(list(uploaded.get("files") or []))


async def upload_document(
    client: AsyncWebClient,
    document: Document,
    names: Names,
    *,
    stem: str,
    comment: str,
    channel: str | None = None,
    person: str | None = None,
    extra: Sequence[FileUpload] = (),
) -> Published:
    """The document as Markdown and as Word (pictures inside), with the pictures beside the
    Markdown, people by their real names (`names`): files leave Slack, mentions would not."""
    files = upload_files(document, names, stem=stem, extra=extra)
    return await upload(client, files, comment=comment, channel=channel, person=person)


async def put_canvas(
    client: AsyncWebClient,
    document: Document,
    names: Names,
    *,
    channel_id: str,
    title: str | None = None,
    replacing: str | None = None,
) -> Canvas:
    """The document as a canvas, people as mentions (a canvas stays in Slack): `replacing`'s
    content replaced; else, with a `title`, a canvas tabbed in the channel; else the channel's
    own canvas. Never raises for Slack's refusal: the caller's files then carry the document."""
    content = {"type": "markdown", "markdown": to_markdown(document, names, mentions=True)}
    try:
        if replacing:
            await client.canvases_edit(
                canvas_id=replacing, changes=[{"operation": "replace", "document_content": content}]
            )
            return Canvas(replacing)
        if title:
            created = await client.canvases_create(
                title=title, channel_id=channel_id, document_content=content
            )
        else:
            created = await client.conversations_canvases_create(
                channel_id=channel_id, document_content=content
            )
        return Canvas(str(created["canvas_id"]))
    except SlackApiError as error:
        refused = str(error.response.get("error") or "refused")
        log.info("no canvas for %r (%s): the files carry it", document.title, refused)
        return Canvas(None, refused)
