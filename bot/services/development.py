"""A community's stage of development, in Wenger's terms: potential, coalescing, maturing,
stewardship, transformation. Derived from the checklist and from activity; coordinators may
override it when they know better (the override is checked where it is saved, in
`bot.services.sustaining.save_settings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.text import plural

if TYPE_CHECKING:
    # Only in hints: health builds on the stage of development, not the other way round.
    from bot.services.health import HealthFigures

# Thresholds of the derivation, in one place.
SETUP_SHARE_TO_COALESCE = 0.1  # of the checklist's questions answered: it has begun
SETUP_SHARE_TO_MATURE = 0.8
MEMBERS_TO_COALESCE = 3
AGE_TO_MATURE = timedelta(days=90)
AGE_TO_STEWARD = timedelta(days=365)
ACTIVE_SHARE_TO_STEWARD = 0.25


class DevelopmentStage(StrEnum):
    POTENTIAL = "potential"
    COALESCING = "coalescing"
    MATURING = "maturing"
    STEWARDSHIP = "stewardship"
    TRANSFORMATION = "transformation"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def meaning(self) -> str:
        return {
            DevelopmentStage.POTENTIAL: "people with a shared concern are finding each other "
            "and discovering common ground",
            DevelopmentStage.COALESCING: "members come together, launch the community and build "
            "trust and relationships",
            DevelopmentStage.MATURING: "the community sets its focus and standards, takes "
            "charge of its practice and grows",
            DevelopmentStage.STEWARDSHIP: "the community sustains its momentum, renews interest "
            "and keeps its practice current",
            DevelopmentStage.TRANSFORMATION: "the community closes, merges or changes its "
            "purpose, and hands on what it knows",
        }[self]


@dataclass(frozen=True)
class Development:
    stage: DevelopmentStage  # what is shown: the override if there is one
    derived: DevelopmentStage
    overridden: bool
    why: str  # how the derived stage was reached, in words


def derive(figures: HealthFigures, *, closed: bool) -> tuple[DevelopmentStage, str]:
    """The stage the checklist and the last 30 days' activity suggest, and why."""
    total = figures.checklist_questions or 1
    share = figures.checklist_answered / total
    setup = (
        f"{figures.checklist_answered} of {figures.checklist_questions} setup questions answered"
    )
    days = figures.age.days
    if closed:
        return DevelopmentStage.TRANSFORMATION, "the community has closed"
    if (
        share < SETUP_SHARE_TO_COALESCE
        or figures.members < MEMBERS_TO_COALESCE
        or figures.active == 0
    ):
        return (
            DevelopmentStage.POTENTIAL,
            f"{setup}, {plural(figures.members, 'member')}, {figures.active} active",
        )
    if share < SETUP_SHARE_TO_MATURE or figures.age < AGE_TO_MATURE:
        return DevelopmentStage.COALESCING, f"{setup}, {plural(days, 'day')} old"
    if figures.age < AGE_TO_STEWARD or figures.active_share < ACTIVE_SHARE_TO_STEWARD:
        return (
            DevelopmentStage.MATURING,
            f"{plural(days, 'day')} old, {figures.active_share:.0%} of members active",
        )
    return (
        DevelopmentStage.STEWARDSHIP,
        f"{days} days old, {figures.active_share:.0%} of members active",
    )


def development(figures: HealthFigures, *, closed: bool, override: str | None) -> Development:
    derived, why = derive(figures, closed=closed)
    chosen = DevelopmentStage(override) if override in set(DevelopmentStage) else None
    return Development(
        stage=chosen or derived, derived=derived, overridden=chosen is not None, why=why
    )
