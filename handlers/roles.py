"""Someone newly made a coordinator or facilitator in the roles stage is told, by a direct
message, what the role means and what to do first, and is added to the community's channel.
If Slack will not add them, whoever named them is told whom to add.

The rows are scheduled where the roles stage is saved (`bot/services/roles.py`); the stage
form's handler sends them after its ack, and the heartbeat sends any it could not.
"""

from __future__ import annotations

from functools import partial

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Drop, Due
from bot.services import roles
from bot.services.roles import COORDINATOR, FACILITATOR, Notice
from bot.text import escape, mention
from handlers.blocks import Block, context, section
from handlers.membership import invite
from handlers.registry import Registry

# What each role means, and the first thing to do in it, in the checklist's own words.
MEANING = {
    COORDINATOR: "Coordinators organise and co-ordinate the community's interactions and "
    "activities. You can change every stage of its setup, plan its meetings and launch, "
    "welcome its newcomers and keep an eye on its health.",
    FACILITATOR: "Facilitators run the community's interactions, such as its meetings and "
    "workshops. You can plan, change and cancel its meetings, and write up their notes.",
}
FIRST_STEP = {
    COORDINATOR: "Type `/cop status` in {channel} to see where the community stands and what "
    "to do next.",
    FACILITATOR: "Type `/cop meetings` in {channel} to see what is planned; `/cop meeting` "
    "plans a meeting.",
}


def role_words(roles: list[str]) -> str:
    return " and ".join(f"a {r}" for r in roles)


def notice_message(found: Notice, *, in_channel: str) -> tuple[str, list[Block]]:
    """The direct message to the person named: the role, what it means, what to do first.
    `in_channel` says whether they were added to the channel just now ("added"), were in it
    ("already"), or could not be added ("refused")."""
    community = found.record.community
    channel = f"<#{community.channel_id}>"
    name = escape(community.name)
    text = f"{mention(found.saved_by)} named you {role_words(found.roles)} of *{name}*."
    where = {
        "added": f"I've added you to {channel}, where the community talks.",
        "already": f"The community talks in {channel}.",
        "refused": f"The community talks in {channel}; I couldn't add you to it, so I've "
        f"asked {mention(found.saved_by)} to.",
    }[in_channel]
    blocks: list[Block] = [section(f"👋 {text} {where}")]
    for role in found.roles:
        blocks.append(section(f"*What it means*\n{MEANING[role]}"))
    # The most a role can do first: a coordinator's step covers a facilitator's.
    first = COORDINATOR if COORDINATOR in found.roles else FACILITATOR
    blocks.append(section(f"*What to do first*\n{FIRST_STEP[first].format(channel=channel)}"))
    blocks.append(context("`/cop roster` shows the community's coordinators and members."))
    return f"You are now {role_words(found.roles)} of {name}", blocks


async def send_notice(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """Tells someone newly named what their role means, adding them to the channel."""
    if due.community_id is None:
        raise Drop("no community")
    found = await roles.notice(
        registry.runtime.database,
        team_id=due.team_id,
        community_id=due.community_id,
        payload=due.payload,
    )
    if found is None:
        raise Drop("they no longer hold the role, or the community has closed")
    user_id, community = found.user_id, found.record.community
    person = (await client.users_info(user=user_id)).get("user") or {}
    if person.get("is_bot"):
        raise Drop("a bot was named")
    if person.get("deleted"):
        raise Drop("the account was deactivated")
    try:
        in_channel = (
            "added"
            if await invite(client, channel_id=community.channel_id, user_id=user_id)
            else "already"
        )
    except SlackApiError as error:
        if error.response.status_code == 429:
            raise  # the dispatcher waits a rate limit out
        # A private channel the app is not in, a guest, an archived channel: a person
        # can still add them, so tell the one who named them whom to add.
        reason = str(error.response.get("error") or "refused")
        in_channel = "refused"
        await client.chat_postMessage(
            channel=found.saved_by,
            text=f"I couldn't add {mention(user_id)} to <#{community.channel_id}> "
            f"(Slack said `{escape(reason)}`). You named them {role_words(found.roles)} "
            f"of *{escape(community.name)}*: please add them to the channel yourself.",
        )
    text, blocks = notice_message(found, in_channel=in_channel)
    await client.chat_postMessage(channel=user_id, text=text, blocks=blocks)


def register(registry: Registry) -> None:
    registry.senders.register(
        roles.ROLE_NOTICE,
        partial(send_notice, registry),
        description="a note telling someone they were made a coordinator or facilitator",
    )
