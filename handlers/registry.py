"""What a feature module registers itself with."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from slack_bolt.async_app import AsyncApp

from bot.dispatch import Dispatcher, Senders
from bot.runtime import Runtime
from bot.services.communities import CommunityRecord
from bot.settings import Settings
from handlers.blocks import Block
from handlers.cop import CopCommand
from handlers.requests import (
    ClickListener,
    CommunityOfAction,
    SubmissionListener,
    wire_click,
    wire_submission,
)


class Surface(StrEnum):
    """Where a community is being shown."""

    STATUS = "status"  # `/cop status`, to one person in the channel
    HOME = "home"  # the person's App Home tab


# A feature's part of how a community is shown: blocks for this viewer on this surface
# (often none). `/cop status` and App Home show the checklist's progress, then each section.
CommunitySection = Callable[[CommunityRecord, str, Surface], Awaitable[list[Block]]]


@dataclass(frozen=True)
class Registry:
    app: AsyncApp  # Bolt listeners: actions, views, events
    cop: CopCommand  # `/cop` subcommands
    senders: Senders  # how each kind of scheduled row is sent
    runtime: Runtime  # the database and the clock
    settings: Settings  # what the deployment configured
    dispatcher: Dispatcher  # sends rows scheduled for "now" at once: `dispatcher.send_now(ids)`
    sections: list[CommunitySection] = field(default_factory=list)

    def click(
        self,
        action_id: str | re.Pattern[str],
        listener: ClickListener,
        *,
        community: CommunityOfAction | None = None,
        coordinators_only: str | None = None,
    ) -> None:
        """Wire a module-level `listener(click)` to a button (see `handlers.requests`)."""
        wire_click(
            self, action_id, listener, community=community, coordinators_only=coordinators_only
        )

    def submission(self, callback_id: str | re.Pattern[str], listener: SubmissionListener) -> None:
        """Wire a module-level `listener(submission)` to a modal's save (see
        `handlers.requests`)."""
        wire_submission(self, callback_id, listener)
