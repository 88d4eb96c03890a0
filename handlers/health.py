"""Community health you can see: `/cop health` for coordinators, the pictures (uploaded to the
person's direct messages with the app, the latest shown in App Home), the periodic digest,
and the stage of development in `/cop status` and App Home."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.dispatch import Due
from bot.publishing import upload
from bot.services import health, stories, sustaining
from bot.services.actions import overdue
from bot.services.communities import CommunityRecord
from bot.services.development import Development
from bot.services.health import HealthFigures, Period, current_figures, levels_line
from bot.services.pictures import draw
from bot.services.rounds import figures_of, run_round
from bot.services.stories import StoryTally
from bot.services.sustaining import UploadedPicture
from bot.text import calendar_date, escape, mention_list
from handlers.action_views import overdue_blocks
from handlers.blocks import Block, context, header, section
from handlers.cop import CopRequest
from handlers.registry import Registry, Surface
from storage.db import Database

NAMES_SHOWN = 10  # people named in one figure; the rest are counted


# -- figures in words ---------------------------------------------------------------------


def period_words(period: Period, timezone: str) -> str:
    return period.words(timezone)


def _people(user_ids: Sequence[str]) -> str:
    return mention_list(user_ids, shown=NAMES_SHOWN)


def figure_lines(figures: HealthFigures) -> list[str]:
    """Each figure on one line of mrkdwn: `/cop health` and the digest show these."""
    levels = levels_line(figures.levels, " · ")
    end_day = calendar_date(figures.today)
    lines = [
        f"*Members:* {figures.members} ({figures.joined} joined, {figures.left} left)",
        f"*Active:* {figures.active} of {figures.members} ({figures.active_share:.0%}) posted "
        f"in the 30 days to {end_day}",
        f"*By level:* {levels}",
    ]
    silent = figures.silent_newcomers
    line = f"*Newcomers who haven't posted yet:* {len(silent)}"
    lines.append(line + (f": {_people([n.user_id for n in silent])}" if silent else ""))
    inactive = figures.recently_inactive
    line = f"*Recently inactive:* {len(inactive)}"
    lines.append(
        line
        + (f": {_people(inactive)} (posted in the period before, not this one)" if inactive else "")
    )
    meetings = len(figures.meetings)
    attendance = f", attendance {figures.attendance}" if meetings else ""
    if meetings:
        attendance += f" ({figures.attendance / meetings:.1f} a meeting)"
    lines.append(f"*Meetings held:* {meetings}{attendance}")
    lines.append(
        f"*Milestones:* {figures.milestones_done} done · {figures.milestones_due} due · "
        f"{figures.milestones_overdue} overdue"
    )
    return lines


def story_lines(found: StoryTally, timezone: str) -> list[str]:
    """How many value stories arrived, and how many speak to each kind of value: the sponsor
    report's counts, from the same `stories.tally`."""
    kinds = " · ".join(f"{kind.label} {n}" for kind, n in found.by_kind.items())
    return [
        f"*Value stories:* {found.arrived} arrived ({found.window.words(timezone)}), "
        f"{found.in_all} in all",
        f"*Stories by kind of value:* {kinds}",
    ]


SUGGESTIONS = {
    "recruit": ":seedling: *No one new has joined in 60 days.* Share the ready-made invitation "
    "in another channel: `/cop invite`.",
    "meet": ":calendar: *No meeting in the last six weeks.* Schedule one, to keep the "
    "community's rhythm.",
}


def suggestion_lines(figures: HealthFigures) -> list[str]:
    lines = []
    for found in figures.suggestions:
        if found == "greet":
            quiet = [
                n.user_id
                for n in figures.silent_newcomers
                if figures.period.end - n.joined_at >= health.GREET_AFTER
            ]
            lines.append(
                f":wave: *Quiet for two weeks or more since joining:* {_people(quiet)}. A "
                "personal hello, or a question they can answer, often helps a newcomer speak up."
            )
        else:
            lines.append(SUGGESTIONS[found])
    return lines


def development_line(found: Development) -> str:
    line = f"*Stage of development:* {found.stage.label}: {found.stage.meaning}."
    if found.overridden:
        line += f" _(Set by a coordinator; the figures suggest {found.derived.value}.)_"
    else:
        line += f" _(From the checklist and activity: {found.why}.)_"
    return line


def health_blocks(
    figures: HealthFigures,
    found: Development,
    *,
    title: str,
    told: StoryTally | None = None,
) -> list[Block]:
    lines = figure_lines(figures) + (story_lines(told, figures.timezone) if told else [])
    blocks: list[Block] = [
        header(title),
        context(
            f"{escape(figures.community_name)} · {period_words(figures.period, figures.timezone)}"
        ),
        section("\n".join(lines)),
        section(development_line(found)),
    ]
    suggestions = suggestion_lines(figures)
    if suggestions:
        blocks.append(section("*Suggestions*\n" + "\n".join(suggestions)))
    return blocks


# -- drawing ------------------------------------------------------------------------------


async def upload_pictures(
    client: AsyncWebClient,
    database: Database,
    clock: Clock,
    *,
    record: CommunityRecord,
    figures: HealthFigures,
    user_id: str,
    comment: str,
) -> list[tuple[UploadedPicture, str]]:
    """Draw the three pictures and share them in the person's direct messages with the app,
    each with its alt text; keep them as the community's latest. Returns each with its
    permalink."""
    community = record.community
    assert community.id is not None
    pictures = await draw(database, record, figures)
    uploaded = await upload(
        client,
        [
            {"content": p.png, "filename": p.filename, "title": p.title, "alt_txt": p.alt_text}
            for p in pictures
        ],
        comment=comment,
        person=user_id,
    )
    by_name = uploaded.by_name()
    kept = [
        (
            UploadedPicture(p.kind, by_name[p.filename]["id"], p.title, p.alt_text),
            str(by_name[p.filename].get("permalink") or ""),
        )
        for p in pictures
        if p.filename in by_name
    ]
    await sustaining.keep_pictures(
        database,
        clock,
        team_id=community.team_id,
        community_id=community.id,
        pictures=[picture for picture, _ in kept],
    )
    return kept


def picture_blocks(pictures: Sequence[UploadedPicture]) -> list[Block]:
    """Image blocks showing uploaded pictures, with their alt text."""
    return [
        {
            "type": "image",
            "slack_file": {"id": p.file_id},
            "alt_text": p.alt_text,
            "title": {"type": "plain_text", "text": p.title},
        }
        for p in pictures
    ]


async def show_health(registry: Registry, request: CopRequest) -> None:
    """`/cop health`: the figures to the coordinator now, the pictures in a moment."""
    database, clock = registry.runtime.database, registry.runtime.clock
    record = request.community
    figures, found = await current_figures(database, clock, record)
    told = await stories.tally(database, record, period=figures.period)
    blocks = health_blocks(figures, found, title="Community health", told=told)
    blocks.append(
        context("I'm drawing the pictures: they'll be in your messages with me in a moment.")
    )
    await request.tell(f"How {escape(record.community.name)} is doing", blocks=blocks)
    await upload_pictures(
        request.client,
        database,
        clock,
        record=record,
        figures=figures,
        user_id=request.user_id,
        comment=f"*{escape(record.community.name)}*: pictures of its health, "
        f"{period_words(figures.period, figures.timezone)}.",
    )
    await sustaining.ensure_scheduled(
        database, clock, team_id=request.team_id, community_id=record.community.id or 0
    )


# -- the digest ---------------------------------------------------------------------------


async def digest_round(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    runtime = registry.runtime
    await run_round(runtime.database, runtime.clock, due, sustaining.DIGEST)


async def send_digest(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """One coordinator's digest: the figures over the period, then the pictures."""
    database, clock = registry.runtime.database, registry.runtime.clock
    found = await figures_of(database, clock, due)
    record, period, plan, figures = found.record, found.period, found.plan, found.figures
    user_id = str(due.payload["user"])
    name = escape(record.community.name)
    told = await stories.tally(database, record, period=period)
    blocks = health_blocks(figures, found.development, title="Health digest", told=told)
    blocks += overdue_blocks(await overdue(database, clock, record=record))
    blocks.insert(
        1,
        section(
            f"Here is how *{name}* (<#{record.community.channel_id}>) did over the "
            f"{plan.digest.noun}. Pictures follow."
        ),
    )
    await client.chat_postMessage(
        channel=user_id, text=f"Health digest: {escape(record.community.name)}", blocks=blocks
    )
    await upload_pictures(
        client,
        database,
        clock,
        record=record,
        figures=figures,
        user_id=user_id,
        comment=f"*{name}*: {period_words(period, figures.timezone)} in pictures.",
    )


# -- status and App Home ------------------------------------------------------------------


async def health_section(
    registry: Registry, record: CommunityRecord, viewer: str, surface: Surface
) -> list[Block]:
    """The stage of development for everyone; to coordinators in App Home, the latest pictures."""
    database, clock = registry.runtime.database, registry.runtime.clock
    community = record.community
    assert community.id is not None
    _, found = await current_figures(database, clock, record)
    blocks = [section(development_line(found))]
    if not record.is_coordinator(viewer):
        return blocks
    await sustaining.ensure_scheduled_for(database, clock, record)
    if surface == Surface.HOME:
        blocks += await latest_pictures(database, community.id)
    return blocks


async def latest_pictures(database: Database, community_id: int) -> list[Block]:
    latest = await sustaining.latest_pictures(database, community_id=community_id)
    if not latest:
        return [context("`/cop health` draws pictures of the community's health.")]
    drawn = min(p.drawn_at for p in latest)
    return [
        context(f"*Health pictures*, drawn {calendar_date(drawn.date())}:"),
        *picture_blocks([UploadedPicture(p.kind, p.file_id, p.title, p.alt_text) for p in latest]),
    ]


def register(registry: Registry) -> None:
    registry.cop.subcommand(
        "health",
        summary="coordinators: is the community alive? figures and pictures",
        coordinators_only="see its health",
    )(partial(show_health, registry))
    senders = registry.senders
    senders.register(
        sustaining.DIGEST, partial(digest_round, registry), description="a round of health digests"
    )
    senders.register(
        sustaining.DIGEST_DM, partial(send_digest, registry), description="a health digest"
    )
    registry.sections.append(partial(health_section, registry))
