"""An erased person's stand-in: the random id that replaces theirs in rows that still count
(a membership, a day's message count, an RSVP), so figures stay true. It is never a Slack
user: never looked up, never mentioned; it reads as "a former member"."""

from __future__ import annotations

import secrets

STAND_IN_PREFIX = "erased-"
FORMER_MEMBER = "a former member"


def is_erased(user_id: str) -> bool:
    return user_id.startswith(STAND_IN_PREFIX)


def new_stand_in() -> str:
    # Random, not derived from the id: nothing that has the id can find the rows again.
    return STAND_IN_PREFIX + secrets.token_hex(8)
