"""Who may see a community whose id arrived in a payload: one check, where it is loaded.

A button's value or a view's private_metadata is whatever the sender put there, so an id read
from one is only a claim. `community_for` turns it into a community of the request's own team
that this person may see, or refuses with a `CommunityError` the listener shows as it is. A
forged id (not a number, another team's, a private channel's the person is not in) is refused
exactly like one that never existed, so the refusal reveals nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.services.communities import CommunityRecord, load_record
from bot.services.errors import NoCommunity
from storage.db import Database
from storage.repositories import members as member_rows

# Asks Slack whether a person is in a channel: (channel id, user id) -> in it.
InChannel = Callable[[str, str], Awaitable[bool]]

UNKNOWN = "That community no longer exists, or is not one you can see."
ID_DIGITS = 18  # longer than any row id; a longer "number" is not ours


def community_id_of(value: Any) -> int | None:
    """A community id read back from a payload; None unless it is a plain positive number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= ID_DIGITS:
        return int(value) or None
    return None


async def is_current_member(database: Database, *, community_id: int, user_id: str) -> bool:
    async with database.session() as session:
        latest = await member_rows.latest_membership(
            session, community_id=community_id, user_id=user_id
        )
    return latest is not None and latest.left_at is None


async def may_see(
    database: Database, record: CommunityRecord, user_id: str, in_channel: InChannel | None
) -> bool:
    """Anyone in the team may see a public channel's community; a private channel's only the
    people in that channel (a current membership, or Slack says they are in it)."""
    community = record.community
    if not community.is_private:
        return True
    assert community.id is not None
    if await is_current_member(database, community_id=community.id, user_id=user_id):
        return True
    return in_channel is not None and await in_channel(community.channel_id, user_id)


async def community_for(
    database: Database,
    *,
    team_id: str,
    user_id: str,
    community_id: Any,
    in_channel: InChannel | None = None,
) -> CommunityRecord:
    """The community a payload names, if it is this team's and this person may see it;
    `NoCommunity` (with one message for every reason) if not."""
    number = community_id_of(community_id)
    if number is None or not team_id:
        raise NoCommunity(UNKNOWN)
    try:
        async with database.session() as session:
            record = await load_record(session, team_id=team_id, community_id=number)
    except NoCommunity:
        raise NoCommunity(UNKNOWN) from None
    if not await may_see(database, record, user_id, in_channel):
        raise NoCommunity(UNKNOWN)
    return record
