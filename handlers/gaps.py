"""The checklist's gaps as a section of `/cop status` and App Home."""

from __future__ import annotations

from bot.services.communities import CommunityRecord
from bot.services.gaps import gaps
from bot.services.lifecycle import is_closed
from bot.text import escape
from handlers.blocks import Block, section
from handlers.registry import Registry, Surface

SHOWN = 8  # the first gaps in the checklist's order; the rest are counted


async def gaps_section(record: CommunityRecord, viewer: str, surface: Surface) -> list[Block]:
    if is_closed(record):  # its answers are its record now: nothing more to fill in
        return []
    found = gaps(record)
    if not found:
        return [section("*Gaps:* none. Every question is answered and every policy agreed.")]
    count = f"{len(found)} gap{'s' if len(found) != 1 else ''}"
    lines = [f"• {escape(line)}" for line in found[:SHOWN]]
    if len(found) > SHOWN:
        lines.append(f"…and {len(found) - SHOWN} more.")
    return [section(f"*Gaps:* {count}\n" + "\n".join(lines))]


def register(registry: Registry) -> None:
    registry.sections.append(gaps_section)
