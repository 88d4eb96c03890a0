"""The sponsor report: `/cop report` compiles it for a coordinator (with the same figures as
`/cop health`), and the settings can send it on a schedule to chosen stakeholders by DM."""

from __future__ import annotations

import re
from functools import partial

from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.dispatch import Due
from bot.publishing import upload_document
from bot.services import report, sustaining
from bot.services.communities import CommunityRecord
from bot.services.development import Development
from bot.services.document import Document
from bot.services.health import HealthFigures, current_figures
from bot.services.pictures import draw
from bot.services.rounds import figures_of, run_round
from bot.text import escape, mention
from handlers.cop import CopRequest
from handlers.names import real_names
from handlers.registry import Registry
from storage.db import Database


def stem(record: CommunityRecord, figures: HealthFigures) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", record.community.name.lower()).strip("-") or "community"
    return f"{slug}-report-{figures.today.isoformat()}"


async def send_report(
    client: AsyncWebClient,
    database: Database,
    clock: Clock,
    *,
    record: CommunityRecord,
    figures: HealthFigures,
    development: Development,
    user_id: str,
    comment: str,
) -> Document:
    """Draw the pictures and send the report, as Markdown and as Word (pictures inside), with
    the pictures beside the Markdown, to the person's direct messages with the app. Nothing
    in it points at a Slack file: readers outside Slack could not open one."""
    found = await report.content(
        database, clock, record=record, figures=figures, development=development
    )
    document = report.build(found, await draw(database, record, figures))
    names = await real_names(client, found.people())
    await upload_document(
        client, document, names, stem=stem(record, figures), comment=comment, person=user_id
    )
    return document


async def compile_report(registry: Registry, request: CopRequest) -> None:
    """`/cop report`: the report to the coordinator who asked, in their messages with the app."""
    database, clock = registry.runtime.database, registry.runtime.clock
    record = request.community
    await request.tell("I'm compiling the report: it will be in your messages with me in a moment.")
    figures, development = await current_figures(database, clock, record)
    plan = await sustaining.plan(
        database, team_id=request.team_id, community_id=record.community.id or 0
    )
    naming = (
        "it names stakeholders, as the community's settings allow."
        if plan.names_stakeholders
        else "it names no stakeholder (`/cop sustain` can allow it)."
    )
    await send_report(
        request.client,
        database,
        clock,
        record=record,
        figures=figures,
        development=development,
        user_id=request.user_id,
        comment=f"The report on *{escape(record.community.name)}* for the participating "
        f"organisations, {figures.period.words(figures.timezone)}, as Markdown and as a Word "
        f"document. Its figures are those of `/cop health`; {naming}",
    )


async def report_round(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    runtime = registry.runtime
    await run_round(runtime.database, runtime.clock, due, sustaining.REPORT)


async def send_scheduled(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """One stakeholder's scheduled report, if the round is still wanted."""
    database, clock = registry.runtime.database, registry.runtime.clock
    found = await figures_of(database, clock, due)
    record, period, plan, figures = found.record, found.period, found.plan, found.figures
    coordinators = ", ".join(mention(c) for c in record.coordinators)
    await send_report(
        client,
        database,
        clock,
        record=record,
        figures=figures,
        development=found.development,
        user_id=str(due.payload["user"]),
        comment=f"Here is the {plan.report.noun if plan.report else 'latest'} report on "
        f"*{escape(record.community.name)}*, a community of practice, for the "
        f"organisations taking part: {period.words(figures.timezone)}. Its coordinators "
        f"({coordinators}) chose to send it to you.",
    )


def register(registry: Registry) -> None:
    registry.cop.subcommand(
        "report",
        summary="coordinators: a report for the participating organisations",
        coordinators_only="compile its report",
    )(partial(compile_report, registry))
    senders = registry.senders
    senders.register(
        sustaining.REPORT, partial(report_round, registry), description="a round of sponsor reports"
    )
    senders.register(
        sustaining.REPORT_DM, partial(send_scheduled, registry), description="a sponsor report"
    )
