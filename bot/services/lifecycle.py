"""Where a community is in its life: whether it is closed (and so read-only)."""

from __future__ import annotations

from bot.services.communities import CommunityRecord
from bot.services.errors import NotAllowed

CLOSED_NOTE = "closed_join_note"  # the scheduled note to someone who joins after closure
CLOSED = (
    "This community is closed, so its answers can no longer be changed: they are kept as its "
    "record, in the archive."
)


class CommunityClosed(NotAllowed):
    """A change refused because the community is closed."""

    def __init__(self, explanation: str = CLOSED) -> None:
        super().__init__(explanation)


def is_closed(record: CommunityRecord) -> bool:
    """Closed from the moment a coordinator closes it with `/cop close`: from then on its
    stages are read-only while members share what they learned. A community whose channel
    was deleted or archived is closed too: nothing more is planned for it."""
    return record.community.closed_at is not None or record.community.gone_at is not None


def require_open(record: CommunityRecord, explanation: str = CLOSED) -> None:
    """Refuse a change to a closed community, saying why in words that fit the change."""
    if is_closed(record):
        raise CommunityClosed(explanation)
