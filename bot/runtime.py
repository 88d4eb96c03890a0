"""What every feature needs at hand: the one database and the clock. Built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.clock import Clock, SystemClock
from storage.db import Database


@dataclass(frozen=True)
class Runtime:
    database: Database
    clock: Clock = field(default_factory=SystemClock)
