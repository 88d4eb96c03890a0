"""How a coordinators' settings form answers when saving it is refused, shared by the forms
on the members' side (welcome, sustaining, perspectives, invitation). Not a feature: it
registers nothing."""

from __future__ import annotations

from bot.services.communities import CommunityClosed
from bot.services.errors import CommunityError, InvalidAnswers, NotCoordinator
from handlers.requests import Submission

GONE = "This community no longer exists."


async def refuse_save(
    submission: Submission, error: CommunityError, *, field: str, coordinators_only: str
) -> None:
    """Keep the form open with the reason: each bad answer under its own field; anything else
    under `field` (`coordinators_only` for someone who is not a coordinator)."""
    if isinstance(error, InvalidAnswers):
        await submission.errors(error.errors)
    elif isinstance(error, NotCoordinator):
        await submission.errors({field: coordinators_only})
    elif isinstance(error, CommunityClosed):
        await submission.errors({field: str(error)})
    else:
        await submission.errors({field: GONE})
