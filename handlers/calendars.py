"""Meetings in calendars: *Add to calendar* on a meeting's announcement and reminders (the
meeting's `.ics` sent by direct message), and `/cop calendar`, each person's private calendar
address for the community's meetings, with *Revoke every address* for coordinators."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from bot.publishing import upload
from bot.services.calendars import address_made, meeting_file, new_address, revoke_addresses
from bot.services.communities import CommunityRecord
from bot.services.errors import CommunityError
from bot.text import calendar_date, escape, mention, plural
from handlers.access import slack_says_in_channel
from handlers.blocks import Block, actions, as_id, button, plain, section
from handlers.cop import CopRequest
from handlers.meeting_views import ADD_TO_CALENDAR
from handlers.registry import Registry
from handlers.requests import Click, button_value, refusal

NEW_ADDRESS = "calendar_new_address"  # the value is the community's id
REVOKE_ALL = "calendar_revoke_all"  # likewise
REVOKE = "revoke its calendar addresses"
NO_PUBLIC_URL = (
    "A private calendar address needs the address this app is reached at from outside: "
    "whoever runs Cultivate sets `PUBLIC_URL` for that. Meanwhile *Add to calendar* on a "
    "meeting's announcement sends you that meeting as a calendar file."
)
HOW_TO_SUBSCRIBE = (
    "Add it to your calendar app as a calendar from a web address (Google Calendar: "
    "_Other calendars › From URL_; Outlook: _Add calendar › Subscribe from web_; Apple "
    "Calendar: _File › New Calendar Subscription_). It keeps itself up to date."
)


# -- a meeting's file -----------------------------------------------------------------------


async def send_meeting_file(click: Click) -> None:
    """*Add to calendar*: the meeting's `.ics` in the person's direct messages with the app
    (no public address needed), if they may see its community."""
    try:
        found = await meeting_file(
            click.database,
            team_id=click.team_id,
            meeting_id=as_id(click.value),
            user_id=click.user_id,
            in_channel=slack_says_in_channel(click.client),
        )
    except CommunityError as refused:
        await click.tell(refusal(refused, then="Nothing was sent."))
        return
    title = escape(found.title)
    await upload(
        click.client,
        [{"content": found.content, "filename": found.name, "title": f"{found.title} (calendar)"}],
        comment=f"📅 *{title}*: open this file to add it to your calendar. A series comes as "
        "one repeating event; if the meeting changes, press *Add to calendar* again.",
        person=click.user_id,
    )
    if click.channel_id and not click.channel_id.startswith("D"):
        await click.tell(f"📅 I sent you *{title}* as a calendar file in our direct messages.")


# -- `/cop calendar` ------------------------------------------------------------------------


def address_blocks(record: CommunityRecord, url: str, *, coordinator: bool) -> list[Block]:
    name = escape(record.community.name)
    text = (
        f"📅 *Your private calendar address for {name}'s meetings:*\n`{url}`\n"
        f"{HOW_TO_SUBSCRIBE}\nIt is yours alone: anyone who has it sees the community's "
        "meetings, so keep it to yourself. I keep only a fingerprint of it, so this is the "
        "only time I can show it; `/cop calendar` lets you make a new one."
    )
    blocks: list[Block] = [section(text)]
    if coordinator:
        blocks.append(actions(_revoke_button(record)))
    return blocks


def _revoke_button(record: CommunityRecord) -> Block:
    revoke = button("Revoke every address", action_id=REVOKE_ALL, value=str(record.community.id))
    revoke["style"] = "danger"
    revoke["confirm"] = {
        "title": plain("Revoke every address?"),
        "text": plain(
            "Every member's private calendar address stops working at once, yours too. "
            "Each can make a new one with /cop calendar."
        ),
        "confirm": plain("Revoke them"),
        "deny": plain("Keep them"),
    }
    return revoke


def existing_blocks(record: CommunityRecord, made: datetime, *, coordinator: bool) -> list[Block]:
    text = (
        f"📅 You made your private calendar address for {escape(record.community.name)}'s "
        f"meetings on {calendar_date(made.date())}. I keep only a fingerprint of it, so I "
        "cannot show it again. Lost it? Make a new one: the old one stops working."
    )
    elements = [button("Make a new address", action_id=NEW_ADDRESS, value=str(record.community.id))]
    if coordinator:
        elements.append(_revoke_button(record))
    return [section(text), actions(*elements)]


async def show_calendar(registry: Registry, request: CopRequest) -> None:
    """`/cop calendar`: the person's private address, made now if they have none."""
    record = request.community
    public_url = registry.settings.public_url
    if public_url is None:
        await request.tell(NO_PUBLIC_URL)
        return
    assert record.community.id is not None
    coordinator = record.is_coordinator(request.user_id)
    made = await address_made(
        registry.runtime.database,
        team_id=request.team_id,
        community_id=record.community.id,
        user_id=request.user_id,
    )
    if made is not None:
        blocks = existing_blocks(record, made, coordinator=coordinator)
        await request.tell("You have a private calendar address already.", blocks=blocks)
        return
    try:
        record, url = await new_address(
            registry.runtime.database,
            registry.runtime.clock,
            public_url=public_url,
            team_id=request.team_id,
            community_id=record.community.id,
            user_id=request.user_id,
            in_channel=slack_says_in_channel(request.client),
        )
    except CommunityError as refused:
        await request.tell(refusal(refused, then="No address was made."))
        return
    blocks = address_blocks(record, url, coordinator=coordinator)
    await request.tell("Your private calendar address", blocks=blocks)


async def make_new_address(click: Click) -> None:
    """*Make a new address*: a new private address replacing the person's own."""
    public_url = click.registry.settings.public_url
    if public_url is None:
        await click.tell(NO_PUBLIC_URL)
        return
    try:
        record, url = await new_address(
            click.database,
            click.clock,
            public_url=public_url,
            team_id=click.team_id,
            community_id=click.value,
            user_id=click.user_id,
            in_channel=slack_says_in_channel(click.client),
        )
    except CommunityError as refused:
        await click.tell(refusal(refused, then="No address was made."))
        return
    coordinator = record.is_coordinator(click.user_id)
    await click.tell(
        "Your new private calendar address", address_blocks(record, url, coordinator=coordinator)
    )


async def revoke_every_address(click: Click) -> None:
    """*Revoke every address* (coordinators; checked again where saved): the channel told."""
    record = click.community
    assert record.community.id is not None
    try:
        count = await revoke_addresses(
            click.database,
            team_id=click.team_id,
            community_id=record.community.id,
            user_id=click.user_id,
        )
    except CommunityError as refused:
        await click.tell(refusal(refused, coordinators_can=REVOKE, then="Nothing was revoked."))
        return
    await click.tell(
        f"Revoked {plural(count, 'private calendar address', 'private calendar addresses')}: "
        "calendars subscribed to them stop updating."
    )
    if count:
        await click.client.chat_postMessage(
            channel=record.community.channel_id,
            text=f"📅 {mention(click.user_id)} revoked this community's private calendar "
            "addresses, so calendars subscribed to them no longer update. "
            "`/cop calendar` gives you a new one.",
        )


def register(registry: Registry) -> None:
    registry.cop.subcommand(
        "calendar",
        summary="your private calendar address for the community's meetings",
        community=True,
    )(partial(show_calendar, registry))
    registry.click(ADD_TO_CALENDAR, send_meeting_file)
    registry.click(NEW_ADDRESS, make_new_address)
    registry.click(
        REVOKE_ALL, revoke_every_address, community=button_value, coordinators_only=REVOKE
    )
