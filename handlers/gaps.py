"""The checklist's gaps as a section of `/cop status` and App Home: the same lines the
documents' Gaps section lists (`bot.services.writing.gaps`), so the two never disagree."""

from __future__ import annotations

from bot.services.communities import CommunityRecord, is_closed
from bot.services.writing import gaps
from bot.text import plural
from handlers.blocks import Block, section
from handlers.forms import mrkdwn
from handlers.registry import Registry, Surface

SHOWN = 8  # the first gaps in the documents' order; the rest are counted


async def gaps_section(record: CommunityRecord, viewer: str, surface: Surface) -> list[Block]:
    if is_closed(record):  # its answers are its record now: nothing more to fill in
        return []
    found = gaps(record)
    if not found:
        return [section("*Gaps:* none. Every question is answered, every policy agreed.")]
    count = plural(len(found), "gap")
    lines = [f"• {mrkdwn(line)}" for line in found[:SHOWN]]
    if len(found) > SHOWN:
        lines.append(f"…and {len(found) - SHOWN} more.")
    return [section(f"*Gaps:* {count}\n" + "\n".join(lines))]


def register(registry: Registry) -> None:
    registry.sections.append(gaps_section)
