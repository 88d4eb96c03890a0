"""The gaps in a community's checklist: questions not answered yet, and policies not written
or not yet agreed. `/cop status` lists them so nothing is left unwritten without anyone
noticing."""

from __future__ import annotations

from bot.answers import is_answered
from bot.catalogue import POLICY_AREAS, SETUP_STAGES, WAYS_OF_WORKING
from bot.services.communities import CommunityRecord


def gaps(record: CommunityRecord) -> list[str]:
    """One line each, in the checklist's order, in the catalogue's words."""
    lines: list[str] = []
    for stage in SETUP_STAGES:
        answers = record.stages[stage.key].answers
        for question in stage.questions:
            if not is_answered(question, answers):
                lines.append(f"{stage.title}: {question.label} Not answered yet.")
    written = {
        str(item.get("area")): item
        for item in record.stages[WAYS_OF_WORKING.key].answers.get("policies") or []
    }
    for area in POLICY_AREAS:
        item = written.get(area.value)
        if item is None:
            lines.append(f"Policies: {area.label}, not written yet.")
        elif item.get("status") != "agreed":
            lines.append(f"Policies: {area.label}, not yet agreed.")
    return lines
