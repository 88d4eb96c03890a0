from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime


class CommunityError(Exception):
    """Something a person asked for that we refuse, with a reason we can show them."""


class NoCommunity(CommunityError):
    pass


class AlreadyACommunity(CommunityError):
    pass


class NotCoordinator(CommunityError):
    def __init__(self, coordinators: Sequence[str]) -> None:
        super().__init__("only the community's coordinators can change this")
        self.coordinators = list(coordinators)


class EditConflict(CommunityError):
    def __init__(self, edited_by: str | None, edited_at: datetime | None) -> None:
        super().__init__("someone else saved this stage since it was opened")
        self.edited_by = edited_by
        self.edited_at = edited_at


class InvalidAnswers(CommunityError):
    """Errors keyed by the question (or field) they belong to; nothing was saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotAMember(CommunityError):
    """The person has no current membership of the community."""


class NoJoinRequest(CommunityError):
    pass


class AlreadyDecided(CommunityError):
    """Another coordinator answered the join request first."""

    def __init__(self, state: str, decided_by: str | None) -> None:
        super().__init__(f"this request was already {state}")
        self.state = state
        self.decided_by = decided_by


class NotAllowed(CommunityError):
    """Someone tried a change that only certain people may make; the message says who."""


class Gone(CommunityError):
    """What the person acted on no longer exists, or has changed since they saw it."""
