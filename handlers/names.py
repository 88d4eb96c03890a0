"""People's names for documents that leave Slack, where a mention would show as `<@U…>`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.document import Names
from bot.stand_ins import FORMER_MEMBER, is_erased

UNKNOWN = FORMER_MEMBER  # someone Slack no longer knows (deactivated, erased)


async def real_names(client: AsyncWebClient, people: Iterable[str]) -> Names:
    """Look each person up once (users.info) and name them as their colleagues know them:
    their real name, else their display name. Never their id or @handle."""
    found: dict[str, str] = {}
    for user_id in sorted(set(people)):
        if is_erased(user_id):  # a stand-in for someone erased: no one to look up
            continue
        user = await slack_user(client, user_id)
        if user is None:
            continue
        profile = user.get("profile") or {}
        name = user.get("real_name") or profile.get("real_name") or profile.get("display_name")
        if name:
            found[user_id] = str(name).strip()
    return lambda user_id: found.get(user_id) or UNKNOWN


async def slack_user(client: AsyncWebClient, user_id: str) -> dict[str, Any] | None:
    """The person as Slack describes them (users.info); None if Slack will not say."""
    try:
        return (await client.users_info(user=user_id)).get("user") or {}
    except SlackApiError:
        return None


async def every_name(client: AsyncWebClient, user_id: str) -> list[str]:
    """Every name a document may have written the person by: display and real name."""
    user = await slack_user(client, user_id) or {}
    profile = user.get("profile") or {}
    found = (profile.get("display_name"), user.get("real_name"), profile.get("real_name"))
    return sorted({str(n) for n in found if n})
