"""Sub-communities: when a community splits, each new one starts with its parent's scope."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.catalogue import SCOPE, Field, Kind
from bot.clock import Clock
from bot.services.communities import (
    community_by_id,
    is_closed,
    require_coordinator,
    start_community,
)
from bot.services.errors import InvalidAnswers, NotAllowed
from storage.db import Database
from storage.models import Community
from storage.repositories import stages as stage_rows

MAX_SUBCOMMUNITIES = 3
CHANNEL_NAME = re.compile(r"[^a-z0-9_-]+")
# The split's part of the closing form: a name and members for each new community.
SPLIT_FIELDS: tuple[Field, ...] = tuple(
    spec
    for n in range(1, MAX_SUBCOMMUNITIES + 1)
    for spec in (
        Field(f"sub{n}_name", f"Community {n}: name", Kind.LINE, max_length=80),
        Field(f"sub{n}_members", f"Community {n}: members", Kind.USERS),
    )
)


@dataclass(frozen=True)
class Planned:
    name: str
    channel_name: str
    members: list[str]
    number: int  # its place in the form: its fields are sub<number>_name and _members


def channel_name(name: str) -> str:
    """A Slack channel name for a community's name: lower case, dashes, at most 80."""
    return CHANNEL_NAME.sub("-", name.lower()).strip("-")[:80]


def plan_split(entries: list[tuple[str, list[str]]]) -> list[Planned]:
    """The sub-communities a coordinator named, checked. Errors are keyed `sub<n>_name`."""
    planned, errors = [], {}
    for number, (name, members) in enumerate(entries, start=1):
        name = name.strip()
        if not name:
            if members:
                errors[f"sub{number}_name"] = "Please name this community."
            continue
        if len(name) > 80:
            errors[f"sub{number}_name"] = "Please keep the name under 80 characters."
        elif not channel_name(name):
            errors[f"sub{number}_name"] = "Please use some letters or digits in the name."
        elif any(p.channel_name == channel_name(name) for p in planned):
            errors[f"sub{number}_name"] = "Two new communities would share a channel name."
        else:
            planned.append(Planned(name, channel_name(name), members, number))
    if not planned and not errors:
        errors["sub1_name"] = "Please name at least one new community."
    if errors:
        raise InvalidAnswers(errors)
    return planned


def plan_from_answers(answers: dict[str, Any]) -> list[Planned]:
    """`plan_split` of the answers to `SPLIT_FIELDS`."""
    return plan_split(
        [
            (str(answers.get(f"sub{n}_name") or ""), list(answers.get(f"sub{n}_members") or []))
            for n in range(1, MAX_SUBCOMMUNITIES + 1)
        ]
    )


def taken_names(planned: list[Planned], taken: set[str]) -> dict[str, str]:
    """Errors, keyed by field, for the new communities whose channel name is already taken."""
    return {
        f"sub{sub.number}_name": f"There is already a channel called #{sub.channel_name}: "
        "please choose another name. Nothing has been created yet."
        for sub in planned
        if sub.channel_name in taken
    }


async def start_sub_community(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    parent_id: int,
    user_id: str,
    channel_id: str,
    name: str,
    is_private: bool,
) -> Community:
    """Start the new channel as a community, its scope pre-filled from the parent's.
    `is_private`: what Slack said of the channel it created."""
    parent = await community_by_id(database, team_id=team_id, community_id=parent_id)
    require_coordinator(parent, user_id)
    if not is_closed(parent):
        raise NotAllowed("Only a community that is closing can split into sub-communities.")
    community = await start_community(
        database,
        clock,
        team_id=team_id,
        channel_id=channel_id,
        name=name,
        domain=parent.community.domain,
        timezone=parent.community.timezone,
        starter=user_id,
        is_private=is_private,
    )
    scope = parent.stages[SCOPE.key].answers
    if scope and community.id is not None:
        async with database.session() as session:
            await stage_rows.add_revision(
                session,
                team_id=team_id,
                community_id=community.id,
                stage=SCOPE.key,
                version=1,
                answers=dict(scope),
                edited_by=user_id,
                edited_at=clock.now(),
            )
    return community
