"""Joining a community: `/cop communities` (the directory), `/cop join` and the directory's
Join buttons, the coordinators' Approve and Decline, and the notices that go with them."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Drop, Due
from bot.services import access, joining
from bot.services.communities import (
    CommunityClosed,
    CommunityRecord,
    community_in_channel,
    is_closed,
)
from bot.services.errors import (
    AlreadyDecided,
    CommunityError,
    InvalidAnswers,
    NoCommunity,
    NoJoinRequest,
    NotCoordinator,
)
from bot.services.joining import Asked, Listing
from bot.text import escape, mention, plural, truncate
from handlers.access import slack_says_in_channel
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
from handlers.cop import CopRequest
from handlers.registry import Registry
from handlers.requests import refusal
from handlers.views import TOO_SLOW, open_modal, tell_privately

JOIN = "directory_join"
APPROVE = "join_approve"
DECLINE = "join_decline"
DECLINE_FORM = "join_decline_form"
REASON = "reason"
LISTED_MAX = 45  # one block each, inside a message's 50
PURPOSE_EXCERPT = 300

Tell = Callable[[str], Awaitable[None]]

log = logging.getLogger(__name__)


def directory_blocks(listings: list[Listing]) -> list[Block]:
    if not listings:
        return [
            section(
                "No communities of practice are listed here yet. In the channel where yours "
                "talks, `/cop start` makes it one."
            )
        ]
    active = [listing for listing in listings if not listing.closed]
    closed = [listing for listing in listings if listing.closed]
    blocks: list[Block] = []
    if active:
        blocks.append(section("*Communities of practice you can join*"))
    shown = 0
    for listing in active:
        if shown == LISTED_MAX:
            break
        blocks.append(_open_listing(listing))
        shown += 1
    if closed and shown < LISTED_MAX:
        blocks.append(
            section(
                "*Closed communities*: they take no new members; what they "
                "learned is kept in their archives."
            )
        )
        for listing in closed[: LISTED_MAX - shown]:
            blocks.append(section(_closed_listing(listing)))
            shown += 1
    if len(listings) > shown:
        blocks.append(context(f"And {len(listings) - shown} more."))
    return blocks


def _headline(listing: Listing) -> list[str]:
    community = listing.record.community
    lines = [f"*{escape(community.name)}*"]
    if community.domain:
        lines[0] += f" · {escape(community.domain)}"
    if listing.purpose:
        lines.append(escape(truncate(listing.purpose, PURPOSE_EXCERPT)))
    return lines


def _closed_listing(listing: Listing) -> str:
    lines = _headline(listing)
    if listing.archive:
        lines.append(f"Closed · <{listing.archive}|Read its archive>")
    else:
        lines.append("Closed · its archive has not been published yet.")
    return "\n".join(lines)


def _open_listing(listing: Listing) -> Block:
    community = listing.record.community
    lines = _headline(listing)
    people = plural(listing.members, "member")
    accessory: Block | None = None
    if listing.is_member:
        how = f"You're a member: <#{community.channel_id}>"
    elif listing.has_asked:
        how = "By invitation. You've asked to join; the coordinators will answer."
    elif listing.policy == joining.OPEN:
        how = f"Open: anyone may join <#{community.channel_id}>."
        accessory = button("Join", action_id=f"{JOIN}:{community.id}", value=str(community.id))
    else:
        how = "By invitation: ask, and a coordinator will answer."
        accessory = button(
            "Ask to join", action_id=f"{JOIN}:{community.id}", value=str(community.id)
        )
    lines.append(f"{people} · {how}")
    return section("\n".join(lines), accessory=accessory)


def request_blocks(record: CommunityRecord, user_id: str, request_id: int) -> list[Block]:
    community = record.community
    return [
        section(
            f"{mention(user_id)} asks to join *{escape(community.name)}* "
            f"(<#{community.channel_id}>). Its membership is by invitation."
        ),
        actions(
            button("Approve", action_id=APPROVE, value=str(request_id), style="primary"),
            button("Decline", action_id=DECLINE, value=str(request_id), style="danger"),
            block_id="join_request",
        ),
    ]


def decided_text(record: CommunityRecord, user_id: str, state: str, decided_by: str) -> str:
    if state == joining.LAPSED:
        return (
            f":heavy_multiplication_x: {mention(user_id)}'s request to join "
            f"*{escape(record.community.name)}* lapsed when the community closed; I told them."
        )
    mark = ":white_check_mark:" if state == joining.APPROVED else ":heavy_multiplication_x:"
    return (
        f"{mark} {mention(decided_by)} {state} {mention(user_id)}'s request to join "
        f"*{escape(record.community.name)}*."
    )


def decline_view(request_id: int, user_id: str) -> dict[str, Any]:
    return modal(
        title="Decline request",
        callback_id=DECLINE_FORM,
        submit="Decline",
        close="Back",
        metadata={"request": request_id},
        blocks=[
            section(f"I'll let {mention(user_id)} know, kindly."),
            {
                "type": "input",
                "block_id": REASON,
                "optional": True,
                "label": plain("Reason, shared with them (optional)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON,
                    "multiline": True,
                    "max_length": joining.REASON_MAX,
                },
            },
        ],
    )


async def invite(client: AsyncWebClient, *, channel_id: str, user_id: str) -> bool:
    """Add the person to the channel, joining it first if the bot is not in it. True if they
    were added, False if they were there already; any other refusal raises for the caller."""
    for attempt in range(2):
        try:
            await client.conversations_invite(channel=channel_id, users=user_id)
            return True
        except SlackApiError as error:
            reason = error.response.get("error")
            if reason == "already_in_channel":
                return False
            if reason != "not_in_channel" or attempt:
                raise
        await client.conversations_join(channel=channel_id)
    return False  # not reached: the second attempt returns or raises


def register(registry: Registry) -> None:
    app, cop, runtime = registry.app, registry.cop, registry.runtime
    database, clock = runtime.database, runtime.clock

    async def ask(
        client: AsyncWebClient,
        *,
        team_id: str,
        community_id: int,
        user_id: str,
        tell: Tell,
        logger: logging.Logger,
    ) -> None:
        try:
            asked, record = await joining.ask_to_join(
                database,
                clock,
                team_id=team_id,
                community_id=community_id,
                user_id=user_id,
                in_channel=slack_says_in_channel(client),
            )
        except NoCommunity:
            await tell(access.UNKNOWN)
            return
        except CommunityClosed as closed:
            await tell(str(closed))
            return
        community = record.community
        name, channel = escape(community.name), f"<#{community.channel_id}>"
        if asked == Asked.MEMBER:
            await tell(f"You're already a member of *{name}*: {channel}.")
        elif asked == Asked.WAITING:
            await tell(f"You've already asked to join *{name}*. The coordinators will answer.")
        elif asked == Asked.REQUESTED:
            await tell(
                f"I've asked the coordinators of *{name}*. I'll send you a message when one "
                "of them answers."
            )
        else:  # open: anyone may join, so add them now
            try:
                added = await invite(client, channel_id=community.channel_id, user_id=user_id)
            except SlackApiError as error:
                logger.info("could not add %s: %s", user_id, error.response.get("error"))
                await tell(f"*{name}* is open to everyone: open {channel} and click *Join*.")
                return
            if added:
                await tell(f"You're in! Welcome to *{name}*: {channel}.")
            else:
                await tell(f"You're already in {channel}, the channel of *{name}*.")

    @cop.subcommand("communities", summary="the communities of practice you can join")
    async def directory(request: CopRequest) -> None:
        listings = await joining.directory(
            database, team_id=request.team_id, viewer=request.user_id
        )
        await request.tell("Communities of practice", blocks=directory_blocks(listings))

    @cop.subcommand("join", summary="join this channel's community, or ask to")
    async def join(request: CopRequest) -> None:
        record = await community_in_channel(
            database, team_id=request.team_id, channel_id=request.channel_id
        )
        if record is None or record.community.id is None:
            await request.tell(
                "This channel isn't a community. `/cop communities` lists those you can join."
            )
            return
        await ask(
            request.client,
            team_id=request.team_id,
            community_id=record.community.id,
            user_id=request.user_id,
            tell=request.tell,
            logger=request.logger,
        )

    def teller(body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> Tell:
        """Answer the person who clicked: under the message if it has a response_url, else
        by direct message."""

        async def tell(text: str) -> None:
            if body.get("response_url"):
                await respond(text=text, response_type="ephemeral", replace_original=False)
            else:
                await tell_privately(client, user_id=body["user"]["id"], text=text)

        return tell

    @app.action(re.compile(f"^{JOIN}:\\d+$"))
    async def clicked_join(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        await ack()
        await ask(
            client,
            team_id=context.team_id or "",
            community_id=as_id(action.get("value")),
            user_id=body["user"]["id"],
            tell=teller(body, client, respond),
            logger=logger,
        )

    async def mark_decided(
        client: AsyncWebClient, request_id: int, team_id: str, logger: logging.Logger
    ) -> None:
        """Replace the Approve and Decline buttons in every coordinator's DM with the answer,
        so nobody answers twice."""
        found = await joining.join_request(database, team_id=team_id, request_id=request_id)
        if found is None:
            return
        request, record = found
        text = decided_text(record, request.user_id, request.state, request.decided_by or "")
        for notice in request.notices:
            try:
                await client.chat_update(
                    channel=notice["channel"], ts=notice["ts"], text=text, blocks=[section(text)]
                )
            except SlackApiError as error:
                logger.info(
                    "could not update a join request notice: %s", error.response.get("error")
                )

    @app.action(APPROVE)
    async def approve(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        await ack()
        tell = teller(body, client, respond)
        team_id = context.team_id or ""
        try:
            request, _ = await joining.decide(
                database,
                clock,
                team_id=team_id,
                request_id=as_id(action.get("value")),
                coordinator=body["user"]["id"],
                approve=True,
            )
        except CommunityError as refused:
            await tell(
                refusal(
                    refused, coordinators_can="answer requests to join", then="Nothing changed."
                )
            )
            return
        assert request.id is not None
        await mark_decided(client, request.id, team_id, logger)

    @app.action(DECLINE)
    async def decline(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        await ack()
        tell = teller(body, client, respond)
        found = await joining.join_request(
            database, team_id=context.team_id or "", request_id=as_id(action.get("value"))
        )
        if found is None:
            await tell(refusal(NoJoinRequest("gone"), then=""))
            return
        request, record = found
        # Checked again when the decline is saved; this only spares a non-coordinator a form.
        if not record.is_coordinator(body["user"]["id"]):
            await tell(
                refusal(
                    NotCoordinator(record.coordinators),
                    coordinators_can="answer requests to join",
                    then="Nothing changed.",
                )
            )
            return
        if is_closed(record):  # no form to fill in only to be refused on saving it
            await tell(joining.CLOSED_JOINING)
            return
        if request.state != joining.PENDING:
            await tell(refusal(AlreadyDecided(request.state, request.decided_by), then=""))
            return
        assert request.id is not None
        view = decline_view(request.id, request.user_id)
        if not await open_modal(client, trigger_id=body["trigger_id"], view=view, logger=logger):
            await tell(TOO_SLOW)

    @app.view(DECLINE_FORM)
    async def declined(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        values = (view.get("state") or {}).get("values") or {}
        reason = ((values.get(REASON) or {}).get(REASON) or {}).get("value")
        team_id = context.team_id or ""
        try:
            request, _ = await joining.decide(
                database,
                clock,
                team_id=team_id,
                request_id=as_id(metadata_of(view).get("request")),
                coordinator=body["user"]["id"],
                approve=False,
                reason=reason,
            )
        except InvalidAnswers as invalid:
            await ack(response_action="errors", errors=invalid.errors)
            return
        except CommunityError as refused:
            await ack(
                response_action="errors",
                errors={
                    REASON: refusal(
                        refused, coordinators_can="answer requests to join", then="Nothing changed."
                    )
                },
            )
            return
        await ack()
        assert request.id is not None
        await mark_decided(client, request.id, team_id, logger)

    # -- senders --------------------------------------------------------------------------

    async def ask_coordinators(due: Due, client: AsyncWebClient) -> None:
        found = await joining.join_request(
            database, team_id=due.team_id, request_id=int(due.payload["request"])
        )
        if found is None:
            raise Drop("the request is gone")
        request, record = found
        if request.state != joining.PENDING:
            raise Drop("the request was answered already")
        assert request.id is not None
        # Each coordinator asked is noted at once, so a retry after a rate limit asks only
        # those not yet asked.
        notices = list(request.notices)
        asked = {n.get("coordinator") for n in notices}
        for coordinator in record.coordinators:
            if coordinator in asked:
                continue
            posted = await client.chat_postMessage(
                channel=coordinator,
                text=f"{mention(request.user_id)} asks to join {escape(record.community.name)}",
                blocks=request_blocks(record, request.user_id, request.id),
            )
            notices.append(
                {"coordinator": coordinator, "channel": posted["channel"], "ts": posted["ts"]}
            )
            await joining.record_notices(database, request_id=request.id, notices=notices)

    async def answer_requester(due: Due, client: AsyncWebClient) -> None:
        found = await joining.join_request(
            database, team_id=due.team_id, request_id=int(due.payload["request"])
        )
        if found is None:
            raise Drop("the request is gone")
        request, record = found
        community = record.community
        name = escape(community.name)
        if request.state == joining.APPROVED:
            await invite(client, channel_id=community.channel_id, user_id=request.user_id)
            text = (
                f"Good news: {mention(request.decided_by or '')} approved your request to join "
                f"*{name}*. I've added you to <#{community.channel_id}>; a welcome is on its way."
            )
        elif request.state == joining.DECLINED:
            coordinators = ", ".join(mention(c) for c in record.coordinators)
            text = (
                f"Thank you for your interest in *{name}*. The coordinators can't offer you a "
                "place just now."
            )
            if request.reason:
                quoted = "\n".join(f">{line}" for line in escape(request.reason).splitlines())
                text += f" They said:\n{quoted}\n"
            text += f" You're welcome to ask again later, or to talk to {coordinators}."
        elif request.state == joining.LAPSED:
            text = (
                f"Thank you for your interest in *{name}*. It has closed, so it takes no new "
                "members; what it learned is kept in its archive."
            )
        else:
            raise Drop("the request is not answered")
        await client.chat_postMessage(channel=request.user_id, text=text)
        if request.state == joining.LAPSED:  # nobody pressed a button: take them away now
            assert request.id is not None
            await mark_decided(client, request.id, due.team_id, log)

    async def report_unapproved(due: Due, client: AsyncWebClient) -> None:
        found = await joining.unapproved_member(
            database, team_id=due.team_id, membership_id=int(due.payload["membership"])
        )
        if found is None:
            raise Drop("they have left")
        membership, record = found
        community = record.community
        text = (
            f"{mention(membership.user_id)} joined <#{community.channel_id}> "
            f"(*{escape(community.name)}*) without an approved request. Its membership is by "
            "invitation; I haven't removed anyone. If they should be there, there's nothing to "
            "do; if not, you may want to talk to them."
        )
        for coordinator in record.coordinators:
            await client.chat_postMessage(channel=coordinator, text=text)

    senders = registry.senders
    senders.register(joining.JOIN_REQUEST, ask_coordinators, description="a request to join")
    senders.register(
        joining.JOIN_ANSWER, answer_requester, description="an answer to a request to join"
    )
    senders.register(
        joining.UNAPPROVED_JOIN,
        report_unapproved,
        description="a notice of a join without approval",
    )
