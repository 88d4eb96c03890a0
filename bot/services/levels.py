"""Levels of participation: the default four (coordinator, core, active, peripheral) or the ones
a community's members stage named, and the level suggested from a member's last 30 days."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.catalogue import MEMBERS
from bot.services.communities import CommunityRecord
from bot.text import plural


class Level(StrEnum):
    COORDINATOR = "coordinator"
    CORE = "core"
    ACTIVE = "active"
    PERIPHERAL = "peripheral"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    def counted(self, count: int) -> str:
        """ "1 coordinator", "2 coordinators", "3 active": the others describe members, and
        say no number."""
        if self == Level.COORDINATOR:
            return plural(count, self.value)
        return f"{count} {self.value}"


@dataclass(frozen=True)
class NamedLevel:
    """A level of participation the members stage defined ("Steering group", "Observers"):
    stored by its name, shown by it."""

    value: str
    label: str

    def counted(self, count: int) -> str:
        """A name the community chose is shown as it was written, never made plural."""
        return f"{self.label}: {count}"


# A level is one of the default four, or one the members stage named.
AnyLevel = Level | NamedLevel

# Coordinators are chosen in the roles stage, where editing rights come from; the roster sets
# the other levels.
SETTABLE_LEVELS: tuple[AnyLevel, ...] = (Level.CORE, Level.ACTIVE, Level.PERIPHERAL)

# The suggestion from the last 30 days: core posts on 8 days or more (or 20 messages),
# active at least 3 messages, peripheral fewer. Coordinators can always choose otherwise.
CORE_DAYS, CORE_MESSAGES, ACTIVE_MESSAGES = 8, 20, 3


def settable_levels(record: CommunityRecord) -> tuple[AnyLevel, ...]:
    """The levels a coordinator chooses from: the ones the members stage defined, in its
    order, or core, active and peripheral when it defined none."""
    names: dict[str, str] = {}
    for item in record.stages[MEMBERS.key].answers.get("levels") or []:
        name = str(item.get("name") or "").strip()
        if name and name.casefold() not in names:
            names[name.casefold()] = name
    return tuple(NamedLevel(n, n) for n in names.values()) or SETTABLE_LEVELS


def levels_of(record: CommunityRecord) -> tuple[AnyLevel, ...]:
    """Every level, most involved first: the coordinators, then the settable levels."""
    return (Level.COORDINATOR, *settable_levels(record))


def chosen_level(settable: tuple[AnyLevel, ...], stored: str | None) -> AnyLevel | None:
    """The level a coordinator chose, if it is still one of the levels (a level renamed or
    removed in the members stage falls back to the suggestion)."""
    if not stored:
        return None
    wanted = stored.casefold()
    return next((lv for lv in settable if lv.value.casefold() == wanted), None)


def suggest_level(
    messages: int, days: int, settable: tuple[AnyLevel, ...] = SETTABLE_LEVELS
) -> AnyLevel:
    """Most active, active or less: the first, middle or last of the levels (for the default
    three, core, active and peripheral)."""
    if days >= CORE_DAYS or messages >= CORE_MESSAGES:
        tier = 0
    elif messages >= ACTIVE_MESSAGES:
        tier = 1
    else:
        tier = 2
    return settable[round(tier * (len(settable) - 1) / 2)]
