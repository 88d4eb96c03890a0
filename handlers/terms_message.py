"""How the terms of reference reach the channel and look there: a draft published from the
saved answers (files, the channel's canvas, and a message members agree on), the message and
its buttons, and the message redrawn as people agree. Shared by the launch feature (planning the
workshop drafts the terms; its status offers "Mark agreed") and the terms feature (the
buttons); it registers nothing."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.publishing import put_canvas, upload_document
from bot.services.communities import CommunityRecord
from bot.services.terms import (
    Terms,
    document,
    draft_terms,
    record_message,
    record_publication,
    terms_by_id,
)
from bot.services.writing import people_in
from bot.text import escape, mention, mention_list, slack_time
from handlers.blocks import Block, actions, button, context, plain, section
from handlers.live import redraw
from handlers.names import real_names
from handlers.registry import Registry

AGREE = "terms_agree"
MARK_AGREED = "terms_mark_agreed"
REDRAFT = "terms_redraft"


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
    await post_terms(registry, client, team_id=community.team_id, draft_id=draft.id)
    if drafted.previous is not None and drafted.previous.id is not None:
        await redraw_terms(
            registry, client, team_id=community.team_id, draft_id=drafted.previous.id
        )


async def post_terms(
    registry: Registry, client: AsyncWebClient, *, team_id: str, draft_id: int
) -> None:
    """The draft's message in the channel, kept to redraw as people agree."""
    database = registry.runtime.database
    terms = await terms_by_id(database, team_id=team_id, draft_id=draft_id)
    channel = terms.community.channel_id
    text, blocks = terms_message(terms)
    posted = await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    await record_message(database, terms=terms, channel_id=channel, ts=str(posted["ts"]))
