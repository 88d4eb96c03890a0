"""Recruitment: `/cop invite` gives coordinators a ready-made invitation (purpose, who it is
for, how to join) to copy, or to post in another channel they choose. The posted invitation
has a Join button; who joins through it is counted.

Slack does not say which message brought someone to a channel. What we know is that a person
pressed Join on the invitation (we keep that) and that a membership of theirs began afterwards
(Slack's member_joined_channel event): open communities add them at once (the event's inviter
is the app), invitation-only ones once a coordinator approves. Someone who pressed Join and
became a member within 30 days joined through the invitation; someone who read it and joined
by other means cannot be told apart, and is not counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import recruitment, sustaining
from bot.services.communities import CommunityRecord, is_closed
from bot.services.errors import CommunityError
from bot.services.recruitment import InvitationContent
from bot.text import escape, mention, plural, truncate
from handlers.blocks import Block, actions, as_id, button, context, modal, plain, section
from handlers.coordinator_forms import register_coordinator_form
from handlers.membership import click_teller, join_or_ask, post_joining_first
from handlers.names import UNKNOWN, real_names
from handlers.registry import Registry, Surface
from handlers.requests import Click, Submission
from handlers.saving import refuse_save
from handlers.views import open_modal

INVITATION_FORM = "invitation_form"
OPEN_INVITATION = "open_invitation"
JOIN = "invitation_join"
CHANNEL = "channel"
# The plain invitation looks up names and the channel's link before the form opens, inside the
# 3 s a trigger lives; past this it opens with what it has ("the coordinators", no link).
LOOKUP_BUDGET = 1.5
COORDINATORS_ONLY = "Only this community's coordinators can post its invitation."


def _how_to_join(content: InvitationContent) -> str:
    if content.by_invitation:
        return (
            "Membership is by invitation: press *Ask to join* below, and a coordinator will answer."
        )
    return f"Anyone may join: press *Join* below, or open <#{content.record.community.channel_id}>."


def _about(
    content: InvitationContent, *, typed: Callable[[str], str], heading: Callable[[str], str]
) -> list[str]:
    """The invitation's first parts (whom to join, who it's for, what you'll get), the same in
    Slack and outside it: `typed` shows what coordinators typed, `heading` a part's heading."""
    community = content.record.community
    parts = [heading(f"Join {typed(community.name)}") + ", a community of practice"]
    if content.purpose:
        parts[0] += f"\n{typed(content.purpose)}"
    who = f"People working on {typed(community.domain)}" if community.domain else "Anyone"
    if content.who_for:
        who += f", with or building these skills and experience: {typed(content.who_for)}"
    parts.append(heading("Who it's for") + f"\n{who}.")
    if content.benefits:
        parts.append(heading("What you'll get") + f"\n{typed(content.benefits)}")
    return parts


def invitation_sections(content: InvitationContent) -> list[str]:
    """The invitation as posted in Slack, above its Join button."""
    parts = _about(content, typed=escape, heading=lambda words: f"*{words}*")
    parts[0] = f":seedling: {parts[0]}"
    coordinators = ", ".join(mention(c) for c in content.record.coordinators)
    parts.append(f"*How to join*\n{_how_to_join(content)} Questions? Ask {coordinators}.")
    return parts


def invitation_blocks(content: InvitationContent, invitation_id: int) -> list[Block]:
    label = "Ask to join" if content.by_invitation else "Join"
    return [
        *(section(part) for part in invitation_sections(content)),
        actions(
            button(label, action_id=JOIN, value=str(invitation_id), style="primary"),
            block_id="invitation",
        ),
    ]


@dataclass(frozen=True)
class Outside:
    """What a reader outside Slack needs instead of Slack's markup: people's real names and
    the channel's name and web address (None where Slack would not say)."""

    names: dict[str, str]
    channel_name: str | None
    channel_url: str | None


def plain_invitation(content: InvitationContent, outside: Outside) -> str:
    """The invitation as plain text for an email or a newsletter: no emoji codes, no bold,
    no mentions or channel references, only real names and links a browser opens."""
    community = content.record.community
    parts = _about(content, typed=str, heading=str)
    channel = f"#{outside.channel_name}" if outside.channel_name else "its channel"
    if outside.channel_url:
        channel += f" ({outside.channel_url})"
    if content.by_invitation:
        how = (
            "Membership is by invitation: in Slack, type /cop communities and ask to join "
            f"{community.name}, and a coordinator will answer."
        )
    else:
        how = f"Anyone may join: open {channel} in Slack and join the channel."
    known = [outside.names[c] for c in content.record.coordinators if c in outside.names]
    ask = _and(known) if known else "the coordinators"
    parts.append(f"How to join\n{how} Questions? Ask {ask}.")
    if content.by_invitation and outside.channel_url:
        parts.append(f"Its channel: {channel}")
    return "\n\n".join(parts)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


async def outside_words(client: AsyncWebClient, content: InvitationContent) -> Outside:
    """Real names (users.info), the channel's name (conversations.info) and its web address
    (the workspace's URL from auth.test, then archives/<channel>), asked all at once."""
    channel_id = content.record.community.channel_id
    coordinators = list(content.record.coordinators)

    async def ask(call: Any) -> dict[str, Any]:
        try:
            return dict((await call).data)
        except SlackApiError:
            return {}

    try:
        async with asyncio.timeout(LOOKUP_BUDGET):
            workspace, channel, named = await asyncio.gather(
                ask(client.auth_test()),
                ask(client.conversations_info(channel=channel_id)),
                real_names(client, coordinators),
            )
    except TimeoutError:
        return Outside(names={}, channel_name=None, channel_url=None)
    # Someone Slack would not name is left out, not called "a former member".
    names = {c: named(c) for c in coordinators if named(c) != UNKNOWN}
    url = str(workspace.get("url") or "")
    return Outside(
        names=names,
        channel_name=(channel.get("channel") or {}).get("name") or None,
        channel_url=f"{url.rstrip('/')}/archives/{channel_id}"
        if url.startswith("https://")
        else None,
    )


def invitation_view(content: InvitationContent, outside: Outside) -> dict[str, Any]:
    copy_text = plain_invitation(content, outside)
    return modal(
        title="Invite people",
        callback_id=INVITATION_FORM,
        submit="Post",
        close="Cancel",
        metadata={"community": content.record.community.id},
        blocks=[
            context("A ready-made invitation. Post it in another channel, with a *Join* button:"),
            {
                "type": "input",
                "block_id": CHANNEL,
                "label": plain("Post it in"),
                "element": {
                    "type": "conversations_select",
                    "action_id": CHANNEL,
                    "placeholder": plain("Choose a channel"),
                    "filter": {
                        "include": ["public", "private"],
                        "exclude_bot_users": True,
                        "exclude_external_shared_channels": True,
                    },
                },
                "hint": plain("For a private channel, add me there first (/invite @Cultivate)."),
            },
            *(section(part) for part in invitation_sections(content)),
            context("*Or copy it* into an email, a newsletter or another tool:"),
            # Plain text, not mrkdwn: what is copied is exactly what is shown.
            {
                "type": "section",
                "block_id": "copy",
                "text": plain(truncate(copy_text, 3000), emoji=False),
            },
        ],
    )


async def open_invitation_form(
    client: AsyncWebClient, record: CommunityRecord, trigger_id: str, logger: logging.Logger
) -> bool:
    content = recruitment.invitation_content(record)
    view = invitation_view(content, await outside_words(client, content))
    return await open_modal(client, trigger_id=trigger_id, view=view, logger=logger) is not None


async def recruited(registry: Registry, record: CommunityRecord) -> list[str]:
    """A closed community's recruitment, as it ended."""
    assert record.community.id is not None
    found = await recruitment.recruitment_of(registry.runtime.database, record)
    return [
        f"Its invitation was posted {plural(found.posted, 'time')}; "
        f"{found.clicked} pressed Join, {found.joined} joined through it. It invites nobody "
        "now."
    ]


def _chosen_channel(submission: Submission) -> str:
    element = (submission.state.get(CHANNEL) or {}).get(CHANNEL) or {}
    return str(element.get("selected_conversation") or "")


async def post_invitation(submission: Submission) -> None:
    """The invitation form saved: the invitation posted in the channel chosen."""
    channel_id = _chosen_channel(submission)
    try:
        saved, content = await recruitment.start_invitation(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            community_id=as_id(submission.metadata.get("community")),
            user_id=submission.user_id,
            channel_id=channel_id,
        )
    except CommunityError as refused:
        await refuse_save(submission, refused, field=CHANNEL, coordinators_only=COORDINATORS_ONLY)
        return
    await submission.ack()
    assert saved.id is not None
    name = content.record.community.name
    blocks = invitation_blocks(content, saved.id)
    try:
        posted = await post_joining_first(
            submission.client, channel_id=channel_id, text=f"Join {escape(name)}", blocks=blocks
        )
    except SlackApiError as error:
        submission.logger.info("could not post an invitation: %s", error.response.get("error"))
        await submission.tell(
            f"I couldn't post the invitation in <#{channel_id}>. For a private "
            "channel, add me there first (`/invite @Cultivate`), then try again."
        )
        return
    await recruitment.invitation_posted(submission.database, invitation_id=saved.id, ts=posted)
    await submission.tell(f"I've posted the invitation to *{escape(name)}* in <#{channel_id}>.")


async def join_from_invitation(click: Click) -> None:
    """The posted invitation's Join: counted, then joined or asked for like the directory's."""
    tell = click_teller(click)
    record = await recruitment.invitation_clicked(
        click.database,
        click.clock,
        team_id=click.team_id,
        invitation_id=as_id(click.action.get("value")),
        user_id=click.user_id,
    )
    if record is None:
        await tell("That invitation's community no longer exists.")
        return
    await join_or_ask(
        click.database,
        click.clock,
        click.client,
        team_id=click.team_id,
        community_id=record.community.id or 0,
        user_id=click.user_id,
        tell=tell,
        logger=click.logger,
        invited=True,  # its coordinators posted this invitation
    )


async def recruitment_section(
    registry: Registry, record: CommunityRecord, viewer: str, surface: Surface
) -> list[Block]:
    """`/cop status` and App Home, for coordinators: how the invitation has done."""
    community = record.community
    assert community.id is not None
    if not record.is_coordinator(viewer) or is_closed(record):
        return []  # a closed community invites nobody: nothing to offer
    found = await recruitment.recruitment_of(registry.runtime.database, record)
    text = "*Recruitment:* "
    if found.posted:
        text += (
            f"the invitation was posted {plural(found.posted, 'time')}; "
            f"{found.clicked} pressed Join, {found.joined} joined through it"
        )
    else:
        text += "share a ready-made invitation in another channel"
    invite_button = button(
        "Invite people", action_id=f"{OPEN_INVITATION}:{community.id}", value=str(community.id)
    )
    return [section(text, accessory=invite_button)]


def register(registry: Registry) -> None:
    register_coordinator_form(
        registry,
        subcommand="invite",
        summary="coordinators: a ready-made invitation to copy or post",
        button_action=OPEN_INVITATION,
        refusal=COORDINATORS_ONLY,
        open_form=open_invitation_form,
        title="Invite people",
        closed=partial(recruited, registry),
        why=sustaining.CLOSED_SUSTAINING,
    )
    registry.submission(INVITATION_FORM, post_invitation)
    registry.click(JOIN, join_from_invitation)
    registry.sections.append(partial(recruitment_section, registry))
