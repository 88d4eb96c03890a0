"""Welcoming newcomers: join and leave events, the welcome DM and the channel's batched
greeting, introductions, the 7- and 30-day follow-ups, pairing, and `/cop welcome` where
coordinators edit what the welcome says.

The events only record and schedule (a few database writes after Bolt's ack); every message
goes out from a scheduled row, so a burst of joins is paced by the dispatcher and nothing is
lost to a rate limit or a restart.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Drop, Due
from bot.services import welcomes
from bot.services.communities import CommunityClosed, is_closed
from bot.services.errors import CommunityError, InvalidAnswers, NoCommunity, NotCoordinator
from bot.services.members import member_joined, member_left
from bot.services.welcomes import PROFILE_FIELDS, WELCOME_TEXT, WelcomeContent
from bot.text import escape, mention, slack_time, truncate
from handlers.blocks import (
    Block,
    actions,
    as_id,
    button,
    context,
    metadata_of,
    modal,
    plain,
    section,
)
from handlers.coordinator_forms import show_closed
from handlers.cop import CopRequest, community_here
from handlers.forms import input_block, read_state
from handlers.registry import Registry
from handlers.views import TOO_SLOW, open_modal, tell_privately

INTRODUCE = "introduce"
INTRODUCTION_FORM = "introduction"
WELCOME_EDITOR = "welcome_editor"
PREVIEW = "welcome_preview"
PAIRING_INPUT = "pair_newcomers"
GREETING_NAMES = 100  # mentions in one greeting; beyond that, "and N others"
CONDUCT_EXCERPT = 1500
# The introduction posted in the channel speaks of the person, not to them.
INTRODUCTION_LABELS = {
    "role": "Role",
    "organisation": "Organisation",
    "interests": "Interests",
    "hopes_to_give": "Hopes to give",
    "hopes_to_get": "Hopes to get",
}


# -- what the welcome says ----------------------------------------------------------------


def placeholder_values(content: WelcomeContent, user_id: str) -> dict[str, str]:
    meeting = content.next_meeting
    return {
        "name": mention(user_id),
        "community": escape(content.community.name),
        "purpose": escape(content.purpose or "") or "_not written down yet_",
        "next_meeting": f"{escape(meeting.title)}, {slack_time(meeting.starts_at)}"
        if meeting
        else "_not planned yet_",
    }


def _safe_link(url: str) -> str | None:
    """A typed link Slack can show as a link, or None (then it is shown as text)."""
    url = url.strip()
    if url.startswith(("https://", "http://")) and not any(c in url for c in "<>| \n"):
        return url
    return None


def welcome_blocks(
    content: WelcomeContent, user_id: str, *, template: str | None = None
) -> list[Block]:
    """The welcome DM: the coordinators' words, then what a newcomer needs to take part."""
    community = content.community
    opening = welcomes.render(template or content.text, placeholder_values(content, user_id))
    blocks: list[Block] = [section(opening)]
    blocks.append(
        section(
            "*What we're here for*\n"
            + (
                escape(content.purpose)
                if content.purpose
                else "_The coordinators haven't written it down yet._"
            )
        )
    )
    ways = "\n".join(f"• {escape(m)}" for m in content.modes)
    blocks.append(
        section(
            "*How it works*\n"
            + (f"{ways}\n" if ways else "")
            + f"The conversation happens in <#{community.channel_id}>."
        )
    )
    conduct = content.code_of_conduct
    if conduct is None:
        conduct_text = (
            "_No code of conduct has been written down yet._ Be kind, and ask a coordinator "
            "if you're unsure about anything."
        )
    else:
        conduct_text = escape(truncate(conduct.text, CONDUCT_EXCERPT)) if conduct.text else ""
        if conduct.link:
            link = _safe_link(conduct.link)
            conduct_text += (
                f"\n<{escape(link)}|Read it in full>" if link else f"\n{escape(conduct.link)}"
            )
        if not conduct.agreed:
            conduct_text += "\n_(a draft, still being agreed)_"
    blocks.append(section(f"*Code of conduct*\n{conduct_text.strip()}"))
    contact = f"Coordinators: {', '.join(mention(c) for c in content.coordinators)}"
    if content.facilitators:
        contact += f"\nFacilitators: {', '.join(mention(f) for f in content.facilitators)}"
    blocks.append(section(f"*Who to contact*\n{contact}"))
    if content.next_meeting is not None:
        meeting = content.next_meeting
        where = f"\n{escape(meeting.where)}" if meeting.where else ""
        blocks.append(
            section(
                f"*Next meeting*\n{escape(meeting.title)}, {slack_time(meeting.starts_at)}{where}"
            )
        )
    blocks.append(actions(introduce_button(community.id or 0)))
    return blocks


def introduce_button(community_id: int) -> Block:
    return button(
        "Introduce yourself", action_id=INTRODUCE, value=str(community_id), style="primary"
    )


def greeting_text(community_name: str, people: list[str]) -> str:
    named = [mention(p) for p in people[:GREETING_NAMES]]
    others = len(people) - len(named)
    if others:
        named.append(f"{others} other{'s' if others != 1 else ''}")
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    yourselves = "yourself" if len(people) == 1 else "yourselves"
    return (
        f":wave: Please welcome {listed} to *{escape(community_name)}*! Say hello, and "
        f"introduce {yourselves} when you're ready."
    )


def introduction_text(user_id: str, answers: dict[str, Any]) -> str:
    lines = [f":raised_hand: *{mention(user_id)} introduces themselves*"]
    for spec in PROFILE_FIELDS:
        value = str(answers.get(spec.key) or "").strip()
        if value:
            lines.append(f"*{INTRODUCTION_LABELS[spec.key]}:* {escape(value)}")
    return "\n".join(lines)


def introduction_view(community_id: int, name: str, saved: dict[str, Any]) -> dict[str, Any]:
    return modal(
        title="Introduce yourself",
        callback_id=INTRODUCTION_FORM,
        submit="Post",
        close="Cancel",
        metadata={"community": community_id},
        blocks=[
            context(
                f"What you write here is posted in *{escape(name)}*'s channel, so members "
                "can get to know you."
            ),
            *(input_block(spec, saved.get(spec.key)) for spec in PROFILE_FIELDS),
        ],
    )


def editor_view(
    content: WelcomeContent, viewer: str, *, text: str, pair: bool, problem: str | None = None
) -> dict[str, Any]:
    """The welcome editor: the text, the pairing option, and a preview of the DM as the
    viewer would receive it."""
    text_input = input_block(WELCOME_TEXT, text)
    option = {
        "text": plain("Pair each newcomer with an active member in a group DM"),
        "value": "yes",
    }
    pairing: Block = {
        "type": "input",
        "block_id": PAIRING_INPUT,
        "optional": True,
        "label": plain("Pairing"),
        "element": {"type": "checkboxes", "action_id": PAIRING_INPUT, "options": [option]},
    }
    if pair:
        pairing["element"]["initial_options"] = [option]
    preview: list[Block]
    if problem:
        preview = [section(f":warning: {escape(problem)}")]
    else:
        preview = welcome_blocks(content, viewer, template=text)[:-1]  # no live button
    return modal(
        title="Welcome message",
        callback_id=WELCOME_EDITOR,
        submit="Save",
        close="Cancel",
        metadata={"community": content.community.id},
        blocks=[
            text_input,
            pairing,
            actions(button("Preview", action_id=PREVIEW), block_id="preview_actions"),
            context("*Preview*, as a newcomer would see it (with you as the newcomer):"),
            *preview,
        ],
    )


def _typed(state: dict[str, Any]) -> tuple[str, bool]:
    values = state.get("values") or {}
    text = str(read_state((WELCOME_TEXT,), state).get(WELCOME_TEXT.key) or "")
    chosen = ((values.get(PAIRING_INPUT) or {}).get(PAIRING_INPUT) or {}).get(
        "selected_options"
    ) or []
    return text, bool(chosen)


def register(registry: Registry) -> None:
    app, cop, runtime = registry.app, registry.cop, registry.runtime
    database, clock = runtime.database, runtime.clock
    batch_seconds = registry.settings.welcome_batch_seconds

    # -- events: record and schedule, nothing slow ---------------------------------------

    @app.event("member_joined_channel")
    async def joined(event: dict[str, Any], context: AsyncBoltContext) -> None:
        await member_joined(
            database,
            clock,
            team_id=context.team_id or str(event.get("team") or ""),
            channel_id=str(event.get("channel") or ""),
            user_id=str(event.get("user") or ""),
            inviter=event.get("inviter"),
            bot_user_id=context.bot_user_id,
            batch_seconds=batch_seconds,
        )

    @app.event("member_left_channel")
    async def left(event: dict[str, Any], context: AsyncBoltContext) -> None:
        await member_left(
            database,
            clock,
            team_id=context.team_id or str(event.get("team") or ""),
            channel_id=str(event.get("channel") or ""),
            user_id=str(event.get("user") or ""),
            bot_user_id=context.bot_user_id,
        )

    # -- senders --------------------------------------------------------------------------

    async def newcomer_of(due: Due) -> welcomes.Newcomer:
        found = await welcomes.newcomer(
            database, clock, team_id=due.team_id, membership_id=int(due.payload["membership"])
        )
        if found is None:
            raise Drop("they are no longer a member")
        if found.holds_role:
            raise Drop("they coordinate or facilitate the community now")
        return found

    async def send_welcome(due: Due, client: AsyncWebClient) -> None:
        found = await newcomer_of(due)
        user_id = found.membership.user_id
        person = (await client.users_info(user=user_id)).get("user") or {}
        if person.get("is_bot"):
            await welcomes.mark_bot(database, membership_id=found.membership.id or 0)
            raise Drop("a bot joined")
        if person.get("deleted"):
            raise Drop("the account was deactivated")
        content = found.content
        await client.chat_postMessage(
            channel=user_id,
            text=f"Welcome to {escape(content.community.name)}!",
            blocks=welcome_blocks(content, user_id),
            unfurl_links=False,
        )

    async def send_greeting(due: Due, client: AsyncWebClient) -> None:
        if due.community_id is None:
            raise Drop("no community")
        try:
            window = await welcomes.greeting(
                database,
                team_id=due.team_id,
                community_id=due.community_id,
                start=datetime.fromisoformat(due.payload["start"]),
                end=datetime.fromisoformat(due.payload["end"]),
            )
        except NoCommunity:
            raise Drop("the community is gone") from None
        people = []
        for membership in window.people:
            # The welcome DM looks each newcomer up; for anyone whose DM has not gone yet
            # (a rate limit delayed it), look here, so a bot is never greeted.
            if membership.id in window.unchecked:
                person = (await client.users_info(user=membership.user_id)).get("user") or {}
                if person.get("is_bot"):
                    await welcomes.mark_bot(database, membership_id=membership.id or 0)
                    continue
            people.append(membership.user_id)
        if not people:
            raise Drop("everyone who joined has left again")
        await client.chat_postMessage(
            channel=window.record.community.channel_id,
            text=greeting_text(window.record.community.name, people),
        )

    async def send_nudge(due: Due, client: AsyncWebClient) -> None:
        found = await newcomer_of(due)
        if not await welcomes.stayed_silent(database, membership=found.membership):
            raise Drop("they have taken part")
        community = found.content.community
        coordinators = ", ".join(mention(c) for c in found.content.coordinators)
        text = (
            f"Hi {mention(found.membership.user_id)}, it's been a week since you joined "
            f"*{escape(community.name)}* (<#{community.channel_id}>). What would help you take "
            "part? You could reply to a conversation, ask the question you came with, or "
            f"introduce yourself. If something's in the way, {coordinators} would like to know."
        )
        await client.chat_postMessage(
            channel=found.membership.user_id,
            text=text,
            blocks=[section(text), actions(introduce_button(community.id or 0))],
        )

    async def send_check_in(due: Due, client: AsyncWebClient) -> None:
        found = await newcomer_of(due)
        community = found.content.community
        coordinators = ", ".join(mention(c) for c in found.content.coordinators)
        await client.chat_postMessage(
            channel=found.membership.user_id,
            text=(
                f"It's been a month since you joined *{escape(community.name)}*. How is it "
                f"going? If anything would help you get more from <#{community.channel_id}>, "
                f"{coordinators} would like to hear it: just send them a message."
            ),
        )

    async def send_pairing(due: Due, client: AsyncWebClient) -> None:
        found = await newcomer_of(due)
        buddy = await welcomes.pairing_partner(database, clock, membership=found.membership)
        if buddy is None:
            raise Drop("no active member to pair with yet")
        newcomer_id = found.membership.user_id
        opened = await client.conversations_open(users=f"{newcomer_id},{buddy}")
        community = found.content.community
        await client.chat_postMessage(
            channel=opened["channel"]["id"],
            text=(
                f"{mention(newcomer_id)}, meet {mention(buddy)}, one of the most active members "
                f"of *{escape(community.name)}*. {mention(buddy)}, {mention(newcomer_id)} has "
                "just joined: say hello, and help them find their way around."
            ),
        )

    senders = registry.senders
    senders.register(welcomes.WELCOME_DM, send_welcome, description="a welcome message")
    senders.register(welcomes.GREETING, send_greeting, description="a greeting for newcomers")
    senders.register(welcomes.NUDGE, send_nudge, description="a newcomer's one-week nudge")
    senders.register(
        welcomes.CHECK_IN, send_check_in, description="a newcomer's one-month check-in"
    )
    senders.register(welcomes.PAIRING, send_pairing, description="a newcomer's pairing")

    # -- introductions --------------------------------------------------------------------

    @app.action(INTRODUCE)
    async def introduce(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        await ack()
        user_id = body["user"]["id"]
        try:
            record, saved = await welcomes.introducer_profile(
                database,
                team_id=context.team_id or "",
                community_id=as_id(action.get("value")),
                user_id=user_id,
            )
        except NoCommunity:
            await tell_privately(client, user_id=user_id, text="That community no longer exists.")
            return
        except CommunityError as refused:
            await tell_privately(client, user_id=user_id, text=str(refused))
            return
        if is_closed(record):  # no form that would only be refused on saving it
            await tell_privately(client, user_id=user_id, text=welcomes.INTRODUCE_CLOSED)
            return
        answers = {spec.key: getattr(saved, spec.key) for spec in PROFILE_FIELDS} if saved else {}
        view = introduction_view(record.community.id or 0, record.community.name, answers)
        if not await open_modal(client, trigger_id=body["trigger_id"], view=view, logger=logger):
            await tell_privately(client, user_id=user_id, text=TOO_SLOW)

    @app.view(INTRODUCTION_FORM)
    async def introduced(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        user_id = body["user"]["id"]
        answers = read_state(PROFILE_FIELDS, view.get("state") or {})
        try:
            record, _ = await welcomes.save_profile(
                database,
                clock,
                team_id=context.team_id or "",
                community_id=as_id(metadata_of(view).get("community")),
                user_id=user_id,
                answers=answers,
            )
        except InvalidAnswers as invalid:
            await ack(response_action="errors", errors=invalid.errors)
            return
        except NoCommunity:
            await ack(
                response_action="errors",
                errors={PROFILE_FIELDS[0].key: "This community no longer exists."},
            )
            return
        except CommunityError as refused:
            await ack(response_action="errors", errors={PROFILE_FIELDS[0].key: str(refused)})
            return
        # Saved: the form says what happens next, instead of vanishing.
        await ack(
            response_action="update",
            view=modal(
                title="Introduce yourself",
                blocks=[
                    section(
                        "Thank you! Your introduction will appear in "
                        f"<#{record.community.channel_id}> in a moment."
                    )
                ],
            ),
        )

    async def send_introduction(due: Due, client: AsyncWebClient) -> None:
        user_id = str(due.payload["user"])
        found = await welcomes.introduction(
            database, team_id=due.team_id, community_id=due.community_id or 0, user_id=user_id
        )
        if found is None:
            raise Drop("the community or the introduction is gone")
        record, profile = found
        text = introduction_text(
            user_id, {spec.key: getattr(profile, spec.key) for spec in PROFILE_FIELDS}
        )
        await client.chat_postMessage(channel=record.community.channel_id, text=text)

    senders.register(welcomes.INTRODUCTION, send_introduction, description="an introduction")

    # -- the welcome editor ---------------------------------------------------------------

    @cop.subcommand("welcome", summary="coordinators: edit the message newcomers receive")
    async def edit_welcome(request: CopRequest) -> None:
        record = await community_here(database, request)
        if record is None:
            return
        if not record.is_coordinator(request.user_id) and not is_closed(record):
            await request.tell(
                "Only this community's coordinators can change its welcome. `/cop roster` "
                "shows who they are."
            )
            return
        content = await welcomes.welcome_content(
            database, clock, team_id=request.team_id, community_id=record.community.id or 0
        )
        if is_closed(record):  # its welcome as it was, read-only: nobody is welcomed now
            why = "This community is closed, so it welcomes nobody any more."
            await show_closed(
                request,
                record,
                title="Welcome message",
                why=why,
                lines=[f"*Its welcome was:*\n{escape(content.text)}"],
            )
            return
        view = editor_view(content, request.user_id, text=content.text, pair=content.pair_newcomers)
        if not await open_modal(
            request.client, trigger_id=request.trigger_id, view=view, logger=request.logger
        ):
            await request.tell(TOO_SLOW)

    @app.action(PREVIEW)
    async def preview(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        await ack()
        view = body.get("view") or {}
        text, pair = _typed(view.get("state") or {})
        try:
            content = await welcomes.welcome_content(
                database,
                clock,
                team_id=context.team_id or "",
                community_id=as_id(metadata_of(view).get("community")),
            )
        except NoCommunity:
            return
        problem = welcomes.template_errors(text)
        await client.views_update(
            view_id=view["id"],
            hash=view.get("hash"),
            view=editor_view(content, body["user"]["id"], text=text, pair=pair, problem=problem),
        )

    @app.view(WELCOME_EDITOR)
    async def save(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        text, pair = _typed(view.get("state") or {})
        try:
            await welcomes.save_welcome(
                database,
                clock,
                team_id=context.team_id or "",
                community_id=as_id(metadata_of(view).get("community")),
                user_id=body["user"]["id"],
                text=text,
                pair_newcomers=pair,
            )
        except InvalidAnswers as invalid:
            await ack(response_action="errors", errors=invalid.errors)
            return
        except NotCoordinator:
            await ack(
                response_action="errors",
                errors={WELCOME_TEXT.key: "Only this community's coordinators can change it."},
            )
            return
        except CommunityClosed as closed:
            await ack(response_action="errors", errors={WELCOME_TEXT.key: str(closed)})
            return
        except CommunityError:
            await ack(
                response_action="errors",
                errors={WELCOME_TEXT.key: "This community no longer exists."},
            )
            return
        await ack()
