"""The sponsor report: `/cop report` compiles it for a coordinator (with the same figures as
`/cop health`), and the settings can send it on a schedule to chosen stakeholders by DM."""

from __future__ import annotations

import re

from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.dispatch import Due
from bot.publishing import upload_document
from bot.services import report, sustaining
from bot.services.communities import CommunityRecord
from bot.services.development import Development
from bot.services.document import Document
from bot.services.health import HealthFigures
from bot.text import escape, mention
from handlers.cop import CopRequest, community_here
from handlers.health import current_figures, draw, figures_for, run_round, wanted
from handlers.names import real_names
from handlers.registry import Registry
from storage.db import Database

COORDINATORS_ONLY = "Only this community's coordinators can compile its report."


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


def register(registry: Registry) -> None:
    cop, runtime = registry.cop, registry.runtime
    database, clock = runtime.database, runtime.clock

    @cop.subcommand("report", summary="coordinators: a report for the participating organisations")
    async def compile_report(request: CopRequest) -> None:
        record = await community_here(database, request)
        if record is None:
            return
        if not record.is_coordinator(request.user_id):
            await request.tell(COORDINATORS_ONLY)
            return
        await request.tell(
            "I'm compiling the report: it will be in your messages with me in a moment."
        )
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

    async def report_round(due: Due, client: AsyncWebClient) -> None:
        await run_round(database, clock, due, sustaining.REPORT)

    async def send_scheduled(due: Due, client: AsyncWebClient) -> None:
        record, period = await wanted(database, due)
        plan = await sustaining.plan(
            database, team_id=due.team_id, community_id=record.community.id or 0
        )
        figures, development = await figures_for(
            database, clock, record, period, plan.stage_override
        )
        coordinators = ", ".join(mention(c) for c in record.coordinators)
        await send_report(
            client,
            database,
            clock,
            record=record,
            figures=figures,
            development=development,
            user_id=str(due.payload["user"]),
            comment=f"Here is the {plan.report.noun if plan.report else 'latest'} report on "
            f"*{escape(record.community.name)}*, a community of practice, for the "
            f"organisations taking part: {period.words(figures.timezone)}. Its coordinators "
            f"({coordinators}) chose to send it to you.",
        )

    senders = registry.senders
    senders.register(sustaining.REPORT, report_round, description="a round of sponsor reports")
    senders.register(sustaining.REPORT_DM, send_scheduled, description="a sponsor report")
