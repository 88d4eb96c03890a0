"""How far a community has got through the checklist, as blocks: shared by `/cop status` and
App Home so the two never disagree."""

from __future__ import annotations

from bot.answers import progress
from bot.catalogue import SETUP_STAGES
from bot.services.communities import CommunityRecord
from bot.services.journey import NextStep, next_step
from bot.text import escape, mention, slack_time
from handlers.blocks import Block, context, section
from handlers.registry import Registry, Surface
from handlers.stage_forms import open_stage_button


async def community_blocks(
    registry: Registry, record: CommunityRecord, viewer: str, surface: Surface
) -> list[Block]:
    """A community as `/cop status` and App Home show it: the checklist's progress, then what
    each feature adds for this viewer."""
    record = record.shown()  # what one section reads, the next reuses
    async with registry.runtime.database.reading():
        step = await next_step(registry.runtime.database, registry.runtime.clock, record)
        blocks = progress_blocks(record, viewer, step)
        for contribute in registry.sections:
            blocks += await contribute(record, viewer, surface)
    return blocks


def progress_blocks(record: CommunityRecord, user_id: str, step: NextStep) -> list[Block]:
    community = record.community
    assert community.id is not None
    # A closed community's answers are its record: anyone may view them, nobody edit them.
    editing = record.is_coordinator(user_id) and not step.closed
    title = f"*{escape(community.name)}* in <#{community.channel_id}>"
    if community.domain:
        title += f"\n{escape(community.domain)}"
    blocks: list[Block] = [section(title)]
    for stage in SETUP_STAGES:
        saved = record.stages[stage.key]
        answered, total = progress(stage, saved.answers)
        mark = "✅" if answered == total else ("◐" if answered else "○")
        line = f"{mark} *{stage.number}. {stage.title}* — {answered}/{total} answered"
        if saved.edited_by and saved.edited_at:
            line += f"\nLast edited by {mention(saved.edited_by)}, {slack_time(saved.edited_at)}"
        blocks.append(
            section(
                line,
                accessory=open_stage_button(
                    community.id, stage, label="Edit" if editing else "View"
                ),
            )
        )
    blocks.append(context(step.text))
    return blocks
