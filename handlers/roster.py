"""Participation: `/cop roster` with each member's level (set by coordinators, suggested from
activity), the roster's part of `/cop status` and App Home, and counting messages in a
community's channel (how many, per person per day; never what they said)."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncBoltContext

from bot.services import members
from bot.services.communities import CommunityRecord, is_closed
from bot.services.errors import CommunityError, NoCommunity
from bot.services.health import levels_line
from bot.services.levels import AnyLevel, Level
from bot.services.members import Roster, RosterEntry
from bot.text import calendar_date, escape, mention, plural, truncate
from handlers.access import community_pressed, record_channel
from handlers.blocks import Block, button, context, metadata_of, modal, plain, section
from handlers.cop import CopRequest
from handlers.registry import Registry, Surface
from handlers.requests import Click, button_value, refusal
from handlers.views import tell_privately

ROSTER_VIEW = "roster"
OPEN_ROSTER = "open_roster"
LEVEL = "roster_level"  # one select per member: roster_level:<user id>
SUGGESTED = "suggested"
ROSTER_ROWS = 95  # one block each, inside a modal's 100
HOME_NAMES = 15  # names per level in App Home; the roster has everyone
# Messages that are someone talking: not joins, edits, deletions or bots.
COUNTED_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}


def entry_line(entry: RosterEntry, *, counts: bool) -> str:
    """One member's line. Message counts (`counts`) are for coordinators only: everyone else
    sees levels, never how much each person talks."""
    line = f"{mention(entry.user_id)} · *{escape(entry.level.label)}*"
    if entry.level != Level.COORDINATOR and entry.chosen is not None:
        line += f" (suggested: {escape(entry.suggested.label.lower())})"
    elif entry.level != Level.COORDINATOR:
        line += " (suggested)"
    details = []
    if counts:
        activity = plural(entry.messages, "message")
        if entry.messages:
            activity += f" on {plural(entry.active_days, 'day')}"
        details.append(f"{activity} in 30 days")
    details.append(f"joined {calendar_date(entry.joined_at.date())}")
    if entry.introduced:
        details.append("introduced")
    return f"{line}\n{' · '.join(details)}" if details else line


def _option(value: str, label: str) -> Block:
    return {"text": plain(truncate(label, 75), emoji=False), "value": value}


def level_select(entry: RosterEntry, settable: tuple[AnyLevel, ...]) -> Block:
    options = [_option(SUGGESTED, f"Suggested ({entry.suggested.label.lower()})")]
    options += [_option(level.value, level.label) for level in settable]
    chosen = entry.chosen.value if entry.chosen else SUGGESTED
    return {
        "type": "static_select",
        "action_id": f"{LEVEL}:{entry.user_id}",
        "placeholder": plain("Level"),
        "options": options,
        "initial_option": next(o for o in options if o["value"] == chosen),
    }


def roster_view(roster: Roster, viewer: str) -> dict[str, Any]:
    community = roster.record.community
    closed = is_closed(roster.record)  # its levels are kept as they were: nothing to choose
    coordinating = roster.record.is_coordinator(viewer)
    editing = coordinating and not closed
    intro = (
        f"*{escape(community.name)}* · {plural(len(roster.entries), 'member')}. Levels are suggested "
        "from the last 30 days' messages"
    )
    if closed:
        intro += "; the community is closed, so they are kept as they were."
    else:
        intro += "; choose one to set it." if editing else "; coordinators can set them."
    blocks: list[Block] = [context(intro)]
    for entry in roster.entries[:ROSTER_ROWS]:
        settable = editing and entry.level != Level.COORDINATOR
        blocks.append(
            section(
                entry_line(entry, counts=coordinating),
                block_id=f"member.{entry.user_id}",
                accessory=level_select(entry, roster.settable) if settable else None,
            )
        )
    if len(roster.entries) > ROSTER_ROWS:
        blocks.append(context(f"And {len(roster.entries) - ROSTER_ROWS} more."))
    if roster.coordinators_elsewhere:
        blocks.append(context(elsewhere_line(roster)))
    return modal(
        title="Roster",
        blocks=blocks,
        callback_id=ROSTER_VIEW,
        metadata={"community": community.id},
    )


def roster_button(community_id: int) -> Block:
    return button("Roster", action_id=f"{OPEN_ROSTER}:{community_id}", value=str(community_id))


def figures_line(roster: Roster) -> str:
    """Joined, left and active: the figures `/cop health` shows for the same period."""
    figures = roster.figures
    return (
        f"In the last {roster.period}: {len(figures.joined)} joined, {len(figures.left)} left · "
        f"Active: {len(figures.active)} of {len(figures.members)} posted in the last 30 days"
    )


def elsewhere_line(roster: Roster) -> str:
    coordinators = roster.coordinators_elsewhere
    names = ", ".join(mention(c) for c in coordinators)
    verb = "is" if len(coordinators) == 1 else "are"
    return f"{names} {verb} coordinating but not in the channel, so not counted as members."


def summary_blocks(roster: Roster, viewer: str, surface: Surface) -> list[Block]:
    grouped = {level: entries for level, entries in roster.by_level().items() if entries}
    counts = levels_line({level: len(entries) for level, entries in grouped.items()})
    text = f"*Members:* {len(roster.entries)}" + (f" ({counts})" if counts else "")
    text += f"\n{figures_line(roster)}"
    if surface == Surface.HOME:
        for level, entries in grouped.items():
            names = ", ".join(mention(e.user_id) for e in entries[:HOME_NAMES])
            more = len(entries) - HOME_NAMES
            text += f"\n{escape(level.label)}: {names}" + (f" and {more} more" if more > 0 else "")
    if roster.coordinators_elsewhere:
        text += f"\n{elsewhere_line(roster)}"
    if roster.record.is_coordinator(viewer) and roster.waiting_requests:
        text += f"\n:inbox_tray: {plural(roster.waiting_requests, 'request')} to join waiting"
    return [section(text, accessory=roster_button(roster.record.community.id or 0))]


async def count_message(
    registry: Registry, event: dict[str, Any], context: AsyncBoltContext
) -> None:
    """A message in a channel: counted for its author (who and where only)."""
    # Only who and where: the text is not read, let alone kept.
    if (
        event.get("subtype") not in COUNTED_SUBTYPES
        or event.get("bot_id")
        or not event.get("user")
        or event.get("channel_type") not in ("channel", "group")
    ):
        return
    await members.count_message(
        registry.runtime.database,
        registry.runtime.clock,
        team_id=context.team_id or "",
        channel_id=str(event.get("channel") or ""),
        user_id=str(event["user"]),
    )


async def show(registry: Registry, request: CopRequest | Click, record: CommunityRecord) -> None:
    """Open the roster at once (Slack's trigger lasts 3 seconds), then catch up with the
    channel and refresh it if that changed anything."""
    runtime = registry.runtime
    database, clock = runtime.database, runtime.clock
    assert record.community.id is not None
    team_id, community_id = record.community.team_id, record.community.id
    viewer = request.user_id
    roster = await members.roster(database, clock, team_id=team_id, community_id=community_id)
    view_id = await request.open_form(roster_view(roster, viewer))
    if view_id is None:
        return
    client = request.client
    if await record_channel(runtime, client, record.community, bot_user_id=request.bot_user_id):
        roster = await members.roster(database, clock, team_id=team_id, community_id=community_id)
        await client.views_update(view_id=view_id, view=roster_view(roster, viewer))


async def open_roster(registry: Registry, request: CopRequest) -> None:
    """`/cop roster`."""
    await show(registry, request, request.community)


async def clicked_roster(click: Click) -> None:
    """The "Roster" button in `/cop status` and App Home."""
    await show(click.registry, click, click.community)


async def chose_level(click: Click) -> None:
    """A coordinator chose a member's level in the roster (the service checks they may)."""
    database, clock = click.database, click.clock
    # The community is in the roster's metadata, not the select: checked, never trusted.
    record = await community_pressed(
        database,
        click.client,
        team_id=click.team_id,
        user_id=click.user_id,
        community_id=metadata_of(click.view).get("community"),
    )
    if record is None:
        return
    assert record.community.id is not None
    community_id = record.community.id
    chosen = (click.action.get("selected_option") or {}).get("value")
    try:
        await members.set_level(
            database,
            clock,
            team_id=click.team_id,
            community_id=community_id,
            coordinator=click.user_id,
            user_id=str(click.action["action_id"]).removeprefix(f"{LEVEL}:"),
            level=None if chosen == SUGGESTED else chosen,
        )
    except CommunityError as refused:
        await tell_privately(
            click.client,
            user_id=click.user_id,
            text=refusal(refused, coordinators_can="set levels"),
        )
    try:
        roster = await members.roster(
            database, clock, team_id=click.team_id, community_id=community_id
        )
    except NoCommunity:
        return
    # Shown as saved (or, if refused, as it was): the roster never pretends.
    await click.client.views_update(
        view_id=click.view["id"], view=roster_view(roster, click.user_id)
    )


async def roster_section(
    registry: Registry, record: CommunityRecord, viewer: str, surface: Surface
) -> list[Block]:
    """`/cop status` and App Home: how many at each level, and the roster button."""
    assert record.community.id is not None
    roster = await members.roster_of(registry.runtime.database, registry.runtime.clock, record)
    return summary_blocks(roster, viewer, surface)


def register(registry: Registry) -> None:
    registry.app.event("message")(partial(count_message, registry))
    registry.cop.subcommand(
        "roster", summary="who takes part in this community, and at what level", community=True
    )(partial(open_roster, registry))
    registry.click(re.compile(f"^{OPEN_ROSTER}:\\d+$"), clicked_roster, community=button_value)
    registry.click(re.compile(f"^{LEVEL}:"), chose_level)
    registry.sections.append(partial(roster_section, registry))
