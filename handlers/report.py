"""The sponsor report: `/cop report` compiles it for a coordinator (with the same figures as
`/cop health`), and the settings can send it on a schedule to chosen stakeholders by DM."""

from __future__ import annotations

import re

from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.dispatch import Due
from bot.services import report, sustaining
from bot.services.communities import CommunityRecord
from bot.services.development import Development
from bot.services.health import HealthFigures
from bot.services.report import ReportPicture
from bot.text import escape, mention
from handlers.cop import CopRequest, community_here
from handlers.health import current_figures, figures_for, run_round, upload_pictures, wanted
from handlers.registry import Registry
from storage.db import Database

COORDINATORS_ONLY = "Only this community's coordinators can compile its report."


def filename(record: CommunityRecord, figures: HealthFigures) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", record.community.name.lower()).strip("-") or "community"
    return f"{slug}-report-{figures.today.isoformat()}.md"


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
) -> str:
    """Upload the pictures, then the report that links to them, to the person's direct
    messages with the app. Returns the report's Markdown."""
    uploaded = await upload_pictures(
        client,
        database,
        clock,
        record=record,
        figures=figures,
        user_id=user_id,
        comment=f"Pictures for the report on *{escape(record.community.name)}*.",
    )
    found = await report.content(
        database, clock, record=record, figures=figures, development=development
    )
    markdown = report.compile_report(
        found, [ReportPicture(p.title, p.alt_text, link) for p, link in uploaded]
    )
    opened = await client.conversations_open(users=user_id)
    await client.files_upload_v2(
        channel=opened["channel"]["id"],
        content=markdown,
        filename=filename(record, figures),
        title=f"{record.community.name}: report for participating organisations",
        initial_comment=comment,
    )
    return markdown


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
        await send_report(
            request.client,
            database,
            clock,
            record=record,
            figures=figures,
            development=development,
            user_id=request.user_id,
            comment=f"The report on *{escape(record.community.name)}* for the participating "
            f"organisations, {figures.period.words(figures.timezone)}. Its figures are those "
            "of `/cop health`.",
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
