"""Welcoming newcomers: join and leave events, the welcome DM and the channel's batched
greeting, introductions, and the 7- and 30-day follow-ups and pairing. (Coordinators edit what
the welcome says in `/cop welcome`: `handlers.welcome_editor`.)

The events only record and schedule (a few database writes after Bolt's ack); every message
goes out from a scheduled row, so a burst of joins is paced by the dispatcher and nothing is
lost to a rate limit or a restart.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Drop, Due
from bot.services import welcomes
from bot.services.communities import is_closed
from bot.services.errors import CommunityError, InvalidAnswers, NoCommunity
from bot.services.members import member_joined, member_left
from bot.services.welcomes import PROFILE_FIELDS
from bot.text import escape, mention
from handlers.blocks import actions, as_id, context, modal, section
from handlers.forms import input_block, read_state
from handlers.registry import Registry
from handlers.requests import Click, Submission
from handlers.views import TOO_SLOW, open_modal, tell_privately
from handlers.welcome_message import INTRODUCE, introduce_button, welcome_blocks

INTRODUCTION_FORM = "introduction"
GREETING_NAMES = 100  # mentions in one greeting; beyond that, "and N others"
# The introduction posted in the channel speaks of the person, not to them.
INTRODUCTION_LABELS = {
    "role": "Role",
    "organisation": "Organisation",
    "interests": "Interests",
    "hopes_to_give": "Hopes to give",
    "hopes_to_get": "Hopes to get",
}


def greeting_text(community_name: str, people: list[str]) -> str:
    named = [mention(p) for p in people[:GREETING_NAMES]]
    others = len(people) - len(named)
    if others:
        named.append(f"{others} other{'s' if others != 1 else ''}")
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    yourselves = "yourself" if len(people) == 1 else "yourselves"
    return (
        f":wave: Please welcome {listed} to *{escape(community_name)}*! Say hello, and "
        f"introduce {yourselves} when you're ready."
    )


def introduction_text(user_id: str, answers: dict[str, Any]) -> str:
    lines = [f":raised_hand: *{mention(user_id)} introduces themselves*"]
    for spec in PROFILE_FIELDS:
        value = str(answers.get(spec.key) or "").strip()
        if value:
            lines.append(f"*{INTRODUCTION_LABELS[spec.key]}:* {escape(value)}")
    return "\n".join(lines)


def introduction_view(community_id: int, name: str, saved: dict[str, Any]) -> dict[str, Any]:
    return modal(
        title="Introduce yourself",
        callback_id=INTRODUCTION_FORM,
        submit="Post",
        close="Cancel",
        metadata={"community": community_id},
        blocks=[
            context(
                f"What you write here is posted in *{escape(name)}*'s channel, so members "
                "can get to know you."
            ),
            *(input_block(spec, saved.get(spec.key)) for spec in PROFILE_FIELDS),
        ],
    )


# -- events: record and schedule, nothing slow -------------------------------------------


def _membership(event: dict[str, Any], context: AsyncBoltContext) -> dict[str, Any]:
    """Who joined or left which channel, in which team, read alike from either event."""
    return {
        "team_id": context.team_id or str(event.get("team") or ""),
        "channel_id": str(event.get("channel") or ""),
        "user_id": str(event.get("user") or ""),
        "bot_user_id": context.bot_user_id,
    }


async def joined(registry: Registry, event: dict[str, Any], context: AsyncBoltContext) -> None:
    """Someone joined a channel: if it is a community's, their welcome is scheduled."""
    await member_joined(
        registry.runtime.database,
        registry.runtime.clock,
        **_membership(event, context),
        inviter=event.get("inviter"),
        batch_seconds=registry.settings.welcome_batch_seconds,
    )


async def left(registry: Registry, event: dict[str, Any], context: AsyncBoltContext) -> None:
    """Someone left a channel: if it is a community's, their membership ends."""
    await member_left(
        registry.runtime.database,
        registry.runtime.clock,
        **_membership(event, context),
    )


# -- senders ------------------------------------------------------------------------------


async def newcomer_of(registry: Registry, due: Due) -> welcomes.Newcomer:
    found = await welcomes.newcomer(
        registry.runtime.database,
        registry.runtime.clock,
        team_id=due.team_id,
        membership_id=int(due.payload["membership"]),
    )
    if found is None:
        raise Drop("they are no longer a member")
    if found.holds_role:
        raise Drop("they coordinate or facilitate the community now")
    return found


async def send_welcome(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """The welcome DM, unless the newcomer is a bot or gone."""
    found = await newcomer_of(registry, due)
    user_id = found.membership.user_id
    person = (await client.users_info(user=user_id)).get("user") or {}
    if person.get("is_bot"):
        await welcomes.mark_bot(registry.runtime.database, membership_id=found.membership.id or 0)
        raise Drop("a bot joined")
    if person.get("deleted"):
        raise Drop("the account was deactivated")
    content = found.content
    await client.chat_postMessage(
        channel=user_id,
        text=f"Welcome to {escape(content.community.name)}!",
        blocks=welcome_blocks(content, user_id),
        unfurl_links=False,
    )


async def send_greeting(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """The channel's greeting for everyone who joined in one window."""
    database = registry.runtime.database
    if due.community_id is None:
        raise Drop("no community")
    try:
        window = await welcomes.greeting(
            database,
            team_id=due.team_id,
            community_id=due.community_id,
            start=datetime.fromisoformat(due.payload["start"]),
            end=datetime.fromisoformat(due.payload["end"]),
        )
    except NoCommunity:
        raise Drop("the community is gone") from None
    people = []
    for membership in window.people:
        # The welcome DM looks each newcomer up; for anyone whose DM has not gone yet
        # (a rate limit delayed it), look here, so a bot is never greeted.
        if membership.id in window.unchecked:
            person = (await client.users_info(user=membership.user_id)).get("user") or {}
            if person.get("is_bot"):
                await welcomes.mark_bot(database, membership_id=membership.id or 0)
                continue
        people.append(membership.user_id)
    if not people:
        raise Drop("everyone who joined has left again")
    await client.chat_postMessage(
        channel=window.record.community.channel_id,
        text=greeting_text(window.record.community.name, people),
    )


async def send_nudge(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """A week on, a newcomer who has not taken part is asked what would help."""
    found = await newcomer_of(registry, due)
    if not await welcomes.stayed_silent(registry.runtime.database, membership=found.membership):
        raise Drop("they have taken part")
    community = found.content.community
    coordinators = ", ".join(mention(c) for c in found.content.coordinators)
    text = (
        f"Hi {mention(found.membership.user_id)}, it's been a week since you joined "
        f"*{escape(community.name)}* (<#{community.channel_id}>). What would help you take "
        "part? You could reply to a conversation, ask the question you came with, or "
        f"introduce yourself. If something's in the way, {coordinators} would like to know."
    )
    await client.chat_postMessage(
        channel=found.membership.user_id,
        text=text,
        blocks=[section(text), actions(introduce_button(community.id or 0))],
    )


async def send_check_in(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """A month on, every newcomer is asked how it is going."""
    found = await newcomer_of(registry, due)
    community = found.content.community
    coordinators = ", ".join(mention(c) for c in found.content.coordinators)
    await client.chat_postMessage(
        channel=found.membership.user_id,
        text=(
            f"It's been a month since you joined *{escape(community.name)}*. How is it "
            f"going? If anything would help you get more from <#{community.channel_id}>, "
            f"{coordinators} would like to hear it: just send them a message."
        ),
    )


async def send_pairing(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """A group DM introducing the newcomer to one of the most active members."""
    found = await newcomer_of(registry, due)
    buddy = await welcomes.pairing_partner(
        registry.runtime.database, registry.runtime.clock, membership=found.membership
    )
    if buddy is None:
        raise Drop("no active member to pair with yet")
    newcomer_id = found.membership.user_id
    opened = await client.conversations_open(users=f"{newcomer_id},{buddy}")
    community = found.content.community
    await client.chat_postMessage(
        channel=opened["channel"]["id"],
        text=(
            f"{mention(newcomer_id)}, meet {mention(buddy)}, one of the most active members "
            f"of *{escape(community.name)}*. {mention(buddy)}, {mention(newcomer_id)} has "
            "just joined: say hello, and help them find their way around."
        ),
    )


# -- introductions ------------------------------------------------------------------------


async def introduce(click: Click) -> None:
    """ "Introduce yourself": the form, with what the member wrote before."""
    try:
        record, saved = await welcomes.introducer_profile(
            click.database,
            team_id=click.team_id,
            community_id=as_id(click.action.get("value")),
            user_id=click.user_id,
        )
    except NoCommunity:
        await _tell_dm(click, "That community no longer exists.")
        return
    except CommunityError as refused:
        await _tell_dm(click, str(refused))
        return
    if is_closed(record):  # no form that would only be refused on saving it
        await _tell_dm(click, welcomes.INTRODUCE_CLOSED)
        return
    answers = {spec.key: getattr(saved, spec.key) for spec in PROFILE_FIELDS} if saved else {}
    view = introduction_view(record.community.id or 0, record.community.name, answers)
    if not await open_modal(
        click.client, trigger_id=click.trigger_id, view=view, logger=click.logger
    ):
        await _tell_dm(click, TOO_SLOW)


async def _tell_dm(click: Click, text: str) -> None:
    """The introduce button's answers go by direct message, wherever it was pressed."""
    await tell_privately(click.client, user_id=click.user_id, text=text)


async def introduced(submission: Submission) -> None:
    """The introduction saved: posted in the channel shortly, and the form says so."""
    first = PROFILE_FIELDS[0].key
    try:
        record, _ = await welcomes.save_profile(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            community_id=as_id(submission.metadata.get("community")),
            user_id=submission.user_id,
            answers=read_state(PROFILE_FIELDS, submission.view.get("state") or {}),
        )
    except InvalidAnswers as invalid:
        await submission.errors(invalid.errors)
        return
    except NoCommunity:
        await submission.errors({first: "This community no longer exists."})
        return
    except CommunityError as refused:
        await submission.errors({first: str(refused)})
        return
    # Saved: the form says what happens next, instead of vanishing.
    await submission.ack(
        response_action="update",
        view=modal(
            title="Introduce yourself",
            blocks=[
                section(
                    "Thank you! Your introduction will appear in "
                    f"<#{record.community.channel_id}> in a moment."
                )
            ],
        ),
    )


async def send_introduction(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """Posts a member's introduction in the channel."""
    user_id = str(due.payload["user"])
    found = await welcomes.introduction(
        registry.runtime.database,
        team_id=due.team_id,
        community_id=due.community_id or 0,
        user_id=user_id,
    )
    if found is None:
        raise Drop("the community or the introduction is gone")
    record, profile = found
    text = introduction_text(
        user_id, {spec.key: getattr(profile, spec.key) for spec in PROFILE_FIELDS}
    )
    await client.chat_postMessage(channel=record.community.channel_id, text=text)


def register(registry: Registry) -> None:
    registry.app.event("member_joined_channel")(partial(joined, registry))
    registry.app.event("member_left_channel")(partial(left, registry))
    sent = {
        welcomes.WELCOME_DM: (send_welcome, "a welcome message"),
        welcomes.GREETING: (send_greeting, "a greeting for newcomers"),
        welcomes.NUDGE: (send_nudge, "a newcomer's one-week nudge"),
        welcomes.CHECK_IN: (send_check_in, "a newcomer's one-month check-in"),
        welcomes.PAIRING: (send_pairing, "a newcomer's pairing"),
        welcomes.INTRODUCTION: (send_introduction, "an introduction"),
    }
    for kind, (sender, description) in sent.items():
        registry.senders.register(kind, partial(sender, registry), description=description)
    registry.click(INTRODUCE, introduce)
    registry.submission(INTRODUCTION_FORM, introduced)
