"""Joining a community: `/cop communities` (the directory), `/cop join` and the directory's
Join buttons, the coordinators' Approve and Decline, and the notices that go with them."""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Drop, Due
from bot.services import joining
from bot.services.communities import CommunityRecord, community_in_channel, is_closed
from bot.services.errors import (
    AlreadyDecided,
    CommunityError,
    InvalidAnswers,
    NoJoinRequest,
    NotCoordinator,
)
from bot.services.joining import Listing
from bot.text import escape, mention, plural, truncate
from handlers.blocks import Block, actions, as_id, button, context, modal, plain, section
from handlers.cop import CopRequest
from handlers.membership import click_teller, invite, join_or_ask
from handlers.registry import Registry
from handlers.requests import Click, Submission, refusal
from handlers.views import open_form
from storage.db import Database
from storage.models import JoinRequest

JOIN = "directory_join"
APPROVE = "join_approve"
DECLINE = "join_decline"
DECLINE_FORM = "join_decline_form"
REASON = "reason"
LISTED_MAX = 45  # one block each, inside a message's 50
PURPOSE_EXCERPT = 300
ANSWER = "answer requests to join"  # what only coordinators may do
NO_CHANGE = "Nothing changed."

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


async def directory(registry: Registry, request: CopRequest) -> None:
    """`/cop communities`: the directory, to the person who asked."""
    listings = await joining.directory(
        registry.runtime.database, team_id=request.team_id, viewer=request.user_id
    )
    await request.tell("Communities of practice", blocks=directory_blocks(listings))


async def join_here(registry: Registry, request: CopRequest) -> None:
    """`/cop join`: join this channel's community, or ask to."""
    runtime = registry.runtime
    record = await community_in_channel(
        runtime.database, team_id=request.team_id, channel_id=request.channel_id
    )
    if record is None or record.community.id is None:
        await request.tell(
            "This channel isn't a community. `/cop communities` lists those you can join."
        )
        return
    await join_or_ask(
        runtime.database,
        runtime.clock,
        request.client,
        team_id=request.team_id,
        community_id=record.community.id,
        user_id=request.user_id,
        tell=request.tell,
        logger=request.logger,
    )


async def join_from_directory(click: Click) -> None:
    """The directory's Join (or Ask to join) button."""
    await join_or_ask(
        click.database,
        click.clock,
        click.client,
        team_id=click.team_id,
        community_id=as_id(click.action.get("value")),
        user_id=click.user_id,
        tell=click_teller(click),
        logger=click.logger,
    )


async def mark_decided(
    database: Database,
    client: AsyncWebClient,
    request_id: int,
    team_id: str,
    logger: logging.Logger,
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
            logger.info("could not update a join request notice: %s", error.response.get("error"))


async def approve(click: Click) -> None:
    """A coordinator's Approve (the service checks they may)."""
    try:
        request, _ = await joining.decide(
            click.database,
            click.clock,
            team_id=click.team_id,
            request_id=as_id(click.action.get("value")),
            coordinator=click.user_id,
            approve=True,
        )
    except CommunityError as refused:
        await click_teller(click)(refusal(refused, coordinators_can=ANSWER, then=NO_CHANGE))
        return
    assert request.id is not None
    await mark_decided(click.database, click.client, request.id, click.team_id, click.logger)


async def decline(click: Click) -> None:
    """A coordinator's Decline: the form for a kind reason."""
    tell = click_teller(click)
    found = await joining.join_request(
        click.database, team_id=click.team_id, request_id=as_id(click.action.get("value"))
    )
    if found is None:
        await tell(refusal(NoJoinRequest("gone"), then=""))
        return
    request, record = found
    # Checked again when the decline is saved; this only spares a non-coordinator a form.
    if not record.is_coordinator(click.user_id):
        refused = NotCoordinator(record.coordinators)
        await tell(refusal(refused, coordinators_can=ANSWER, then=NO_CHANGE))
        return
    if is_closed(record):  # no form to fill in only to be refused on saving it
        await tell(joining.CLOSED_JOINING)
        return
    if request.state != joining.PENDING:
        await tell(refusal(AlreadyDecided(request.state, request.decided_by), then=""))
        return
    assert request.id is not None
    view = decline_view(request.id, request.user_id)
    await open_form(
        click.client, trigger_id=click.trigger_id, view=view, logger=click.logger, tell=tell
    )


async def declined(submission: Submission) -> None:
    """The decline form saved: the request declined, with the reason if one was given."""
    reason = ((submission.state.get(REASON) or {}).get(REASON) or {}).get("value")
    try:
        request, _ = await joining.decide(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            request_id=as_id(submission.metadata.get("request")),
            coordinator=submission.user_id,
            approve=False,
            reason=reason,
        )
    except InvalidAnswers as invalid:
        await submission.errors(invalid.errors)
        return
    except CommunityError as refused:
        await submission.errors({REASON: refusal(refused, coordinators_can=ANSWER, then=NO_CHANGE)})
        return
    await submission.ack()
    assert request.id is not None
    await mark_decided(
        submission.database, submission.client, request.id, submission.team_id, submission.logger
    )


# -- senders ----------------------------------------------------------------------------


async def _request_of(database: Database, due: Due) -> tuple[JoinRequest, CommunityRecord]:
    """The request to join a row is about, and its community; the row dropped if it is gone."""
    found = await joining.join_request(
        database, team_id=due.team_id, request_id=int(due.payload["request"])
    )
    if found is None:
        raise Drop("the request is gone")
    return found


async def ask_coordinators(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """Sends a request to join to each coordinator not yet asked, with Approve and Decline."""
    database = registry.runtime.database
    request, record = await _request_of(database, due)
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


def answer_text(request: JoinRequest, record: CommunityRecord) -> str:
    """What the person who asked is told of the coordinators' answer."""
    community = record.community
    name = escape(community.name)
    if request.state == joining.APPROVED:
        return (
            f"Good news: {mention(request.decided_by or '')} approved your request to join "
            f"*{name}*. I've added you to <#{community.channel_id}>; a welcome is on its way."
        )
    if request.state == joining.DECLINED:
        coordinators = ", ".join(mention(c) for c in record.coordinators)
        text = (
            f"Thank you for your interest in *{name}*. The coordinators can't offer you a "
            "place just now."
        )
        if request.reason:
            quoted = "\n".join(f">{line}" for line in escape(request.reason).splitlines())
            text += f" They said:\n{quoted}\n"
        return text + f" You're welcome to ask again later, or to talk to {coordinators}."
    if request.state == joining.LAPSED:
        return (
            f"Thank you for your interest in *{name}*. It has closed, so it takes no new "
            "members; what it learned is kept in its archive."
        )
    raise Drop("the request is not answered")


async def answer_requester(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """Tells the person the coordinators' answer (adding them to the channel if approved)."""
    database = registry.runtime.database
    request, record = await _request_of(database, due)
    text = answer_text(request, record)
    if request.state == joining.APPROVED:
        await invite(client, channel_id=record.community.channel_id, user_id=request.user_id)
    await client.chat_postMessage(channel=request.user_id, text=text)
    if request.state == joining.LAPSED:  # nobody pressed a button: take them away now
        assert request.id is not None
        await mark_decided(database, client, request.id, due.team_id, log)


async def report_unapproved(registry: Registry, due: Due, client: AsyncWebClient) -> None:
    """Tells the coordinators someone joined a community by invitation without approval."""
    found = await joining.unapproved_member(
        registry.runtime.database,
        team_id=due.team_id,
        membership_id=int(due.payload["membership"]),
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


def register(registry: Registry) -> None:
    cop = registry.cop
    cop.subcommand("communities", summary="the communities of practice you can join")(
        partial(directory, registry)
    )
    cop.subcommand("join", summary="join this channel's community, or ask to")(
        partial(join_here, registry)
    )
    registry.click(re.compile(f"^{JOIN}:\\d+$"), join_from_directory)
    registry.click(APPROVE, approve)
    registry.click(DECLINE, decline)
    registry.submission(DECLINE_FORM, declined)
    senders = registry.senders
    senders.register(
        joining.JOIN_REQUEST, partial(ask_coordinators, registry), description="a request to join"
    )
    senders.register(
        joining.JOIN_ANSWER,
        partial(answer_requester, registry),
        description="an answer to a request to join",
    )
    senders.register(
        joining.UNAPPROVED_JOIN,
        partial(report_unapproved, registry),
        description="a notice of a join without approval",
    )
