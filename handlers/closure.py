"""`/cop close`, `/cop archive`, `/cop export`: closing a community, capturing what its members
learned, the celebration, the archive, sub-communities, and archiving the channel.

The services decide and store (`bot.services.closure`, `archive`, `splitting`, `communities.is_closed`);
this module draws the forms and messages and talks to Slack.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalogue import Field, Kind
from bot.dispatch import Drop, Due
from bot.once import post_once
from bot.publishing import put_canvas, upload_document
from bot.services import closure as closing
from bot.services.archive import CommunityArchive, compile_archive, render_json
from bot.services.archive import build as build_archive
from bot.services.communities import (
    CommunityRecord,
    community_by_id,
    community_in_channel,
    is_closed,
)
from bot.services.errors import CommunityError, InvalidAnswers
from bot.services.milestones import today_for
from bot.services.splitting import (
    MAX_SUBCOMMUNITIES,
    Planned,
    plan_split,
    start_sub_community,
    taken_names,
)
from bot.text import calendar_date, escape, mention, mention_list, plural
from handlers import meeting_views
from handlers.access import community_pressed
from handlers.blocks import Block, actions, as_id, button, context, metadata_of, modal, section
from handlers.cop import CopRequest, community_here
from handlers.forms import errors_on_blocks, input_block, read_state
from handlers.names import real_names
from handlers.registry import Registry, Surface
from handlers.requests import refusal
from handlers.views import TOO_SLOW, open_modal, tell_privately
from storage.models import Closure

CLOSE_FORM = "closure_form"
CAPTURE_FORM = "capture_form"
CLOSE_CONFIRM = "closure_confirm"
EXPORT = "closure_export"
ARCHIVE_CHANNEL_FORM = "archive_channel_form"
SHARE = "capture_share"
# How long a split may spend listing channels before its ack (Slack allows 3 s in all).
LISTING_BUDGET = 1.5
ARCHIVE_CHANNEL = "closure_archive_channel"
# Names a new community's channel may take (`name`, `name-2`…) before the split gives up on it.
NAME_ATTEMPTS = 4
RECIPIENT_CHANNEL = "recipient_channel"
METADATA_LIMIT = 3000  # Slack's limit on a view's private_metadata
STALE = (
    "These answers can no longer be used (the closing date may have passed): please run "
    "`/cop close` again."
)

log = logging.getLogger(__name__)


def who_can(record: CommunityRecord, action: str) -> str:
    names = ", ".join(mention(u) for u in record.coordinators) or "its coordinators"
    return f"Only this community's coordinators can {action}: {names}."


def close_form(record: CommunityRecord, today: Any) -> dict[str, Any]:
    values = {
        "capture_days": str(closing.DEFAULT_CAPTURE_DAYS),
        "closing_date": (today + timedelta(days=closing.DEFAULT_CAPTURE_DAYS)).isoformat(),
        "recipients": record.coordinators,
    }
    blocks = [input_block(spec, values.get(spec.key)) for spec in closing.CLOSE_FIELDS]
    blocks.append(
        {
            "type": "input",
            "block_id": RECIPIENT_CHANNEL,
            "optional": True,
            "label": {"type": "plain_text", "text": "…and/or a channel that receives it"},
            "element": {
                "type": "conversations_select",
                "action_id": RECIPIENT_CHANNEL,
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            },
        }
    )
    blocks.append(
        context(
            "Closing makes the community read-only at once and cancels its pending reminders "
            "and meetings. Members are asked to share what they learned; the celebration and "
            "the archive come on the closing date."
        )
    )
    return modal(
        title="Close the community",
        blocks=blocks,
        callback_id=CLOSE_FORM,
        submit="Next",
        close="Cancel",
        metadata={"community": record.community.id},
    )


def confirm_view(
    plan: closing.ClosePlan, *, user_id: str, metadata: dict[str, Any]
) -> dict[str, Any]:
    """The closure's last step: what will happen, said before anything does. For a split, the
    sub-communities are named here too, so nothing closes until they are confirmed with it."""
    record, name = plan.record, escape(plan.record.community.name)
    split = plan.answers["reason"] == closing.SPLIT
    meetings = (
        f"Its {plural(plan.meetings, 'meeting')} still to come "
        "are cancelled, and their announcements say so; every pending reminder stops."
        if plan.meetings
        else "Every pending reminder and follow-up stops."
    )
    lines = [
        f"*Closing {name} cannot be undone.* When you press *Close the community*:",
        "• It becomes read-only at once: its stages, meetings, welcome and settings can no "
        "longer be changed.",
        f"• {meetings}",
        f"• Its {plural(plan.members, 'member')} are asked, in "
        f"<#{record.community.channel_id}> and by direct message, to share what they learned, "
        f"within {plan.capture_days} days.",
        f"• On {calendar_date(plan.closing_date)} the celebration is posted in the channel, "
        "with the archive of everything it recorded.",
    ]
    if split:
        lines.append(
            "• The new communities below start at once, each in a new channel with this "
            "community's scope; its members are invited."
        )
    blocks: list[Block] = [
        section("\n".join(lines)),
        context(
            closing.reason_words(
                str(plan.answers["reason"]), str(plan.answers.get("note") or ""), user_id
            )
        ),
    ]
    if split:
        blocks += split_blocks()
    return modal(
        title="Close the community?",
        blocks=blocks,
        callback_id=CLOSE_CONFIRM,
        submit="Close the community",
        close="Cancel",
        metadata=metadata,
    )


def capture_form(closure_id: int, name: str, earlier: dict[str, Any]) -> dict[str, Any]:
    blocks: list[Block] = [
        section(f"What did you learn in *{escape(name)}*? Answer what you can; you can come back.")
    ]
    blocks += [input_block(spec, earlier.get(spec.key)) for spec in closing.CAPTURE_FIELDS]
    return modal(
        title="Share what you learned",
        blocks=blocks,
        callback_id=CAPTURE_FORM,
        submit="Share",
        metadata={"closure": closure_id},
    )


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def split_blocks() -> list[Block]:
    blocks: list[Block] = [
        section(
            "*The new communities.* Name each one and choose its members: I'll create its channel."
        )
    ]
    for n in range(1, MAX_SUBCOMMUNITIES + 1):
        blocks.append(
            input_block(
                Field(f"sub{n}_name", f"Community {n}: name", Kind.LINE, max_length=80),
                None,
            )
        )
        blocks.append(
            input_block(
                Field(f"sub{n}_members", f"Community {n}: members", Kind.USERS),
                None,
            )
        )
    return blocks


def not_closed(why: str) -> dict[str, Any]:
    return modal(title="Not closed", blocks=[section(f"{escape(why)}\n\nNothing was closed.")])


def why(closure: Closure) -> str:
    return closing.reason_words(closure.reason, closure.note, closure.closed_by)


def share_button(closure_id: int) -> Block:
    return actions(
        button("Share what you learned", action_id=SHARE, value=str(closure_id), style="primary")
    )


def celebration_text(c: closing.Celebration) -> tuple[str, list[Block]]:
    name = escape(c.record.community.name)
    lines = [f"🎉 *Celebrating {name}*", why(c.closure), ""]
    if c.milestones_done:
        titles = ", ".join(escape(m.title) for m in c.milestones_done)
        lines.append(f"✅ {len(c.milestones_done)} milestones completed: {titles}")
    lines.append(f"📅 {c.meetings_held} meetings held")
    lines.append(f"🙌 {plural(len(c.members), 'member')} took part: {mention_list(c.members)}")
    thanks = []
    if c.coordinators:
        thanks.append("coordinating: " + ", ".join(mention(u) for u in c.coordinators))
    if c.facilitators:
        thanks.append("facilitating: " + ", ".join(mention(u) for u in c.facilitators))
    thanks += [
        f"{escape(role)}: " + ", ".join(mention(u) for u in people) for role, people in c.roles
    ]
    if thanks:
        lines.append("🙏 Thank you for " + "; ".join(thanks))
    if c.highlights:
        lines += ["", "*Highlights from what you shared*"]
        lines += [f"• {escape(text[:300])} ({mention(user)})" for user, text in c.highlights[:10]]
    text = "\n".join(lines)
    return f"Celebrating {name}", [
        section(text[:2900]),
        context("The archive of everything this community recorded follows."),
        actions(button("Archive this channel…", action_id=ARCHIVE_CHANNEL, value="confirm")),
    ]


async def channel_names(client: AsyncWebClient) -> set[str]:
    """The names of the channels the app can see, archived ones too (their names stay taken).
    Private channels it is not in are not among them: creating one of those names still fails,
    and the split then says so after the form has closed."""
    names: set[str] = set()
    cursor = ""
    while True:
        try:
            page = await client.conversations_list(
                types="public_channel,private_channel", limit=1000, cursor=cursor or None
            )
        except SlackApiError as error:  # unchecked: creating the channel will say
            log.warning("could not list channels: %s", error.response.get("error"))
            return names
        names |= {str(c.get("name")) for c in page.get("channels") or []}
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return names


async def create_channel(client: AsyncWebClient, name: str, *, is_private: bool) -> Any:
    """A new community's channel, named `name` or, where a private channel the app cannot see
    has that name (the split's check could not list it), `name-2`, `name-3`…: the community was
    confirmed and its parent is closed by now, so it starts under a near name rather than not
    at all. Raises Slack's error for any other refusal, or when every name is taken."""
    candidate = name
    for number in range(2, NAME_ATTEMPTS + 1):
        try:
            return await client.conversations_create(name=candidate, is_private=is_private)
        except SlackApiError as error:
            if error.response.get("error") != "name_taken":
                raise
        candidate = f"{name[: 80 - len(str(number)) - 1]}-{number}"
    return await client.conversations_create(name=candidate, is_private=is_private)


def register(registry: Registry) -> None:
    app, cop, runtime = registry.app, registry.cop, registry.runtime
    reminder_days = registry.settings.capture_reminder_days

    async def record_in(request: CopRequest, action: str) -> CommunityRecord | None:
        record = await community_here(runtime.database, request)
        if record is None:
            return None
        if not record.is_coordinator(request.user_id):
            await request.tell(who_can(record, action))
            return None
        return record

    async def publish(
        client: AsyncWebClient, archive: CommunityArchive, *, by: str | None
    ) -> str | None:
        """The archive as a file in the channel, a canvas where the workspace allows one, and
        sent to the closure's recipients. Returns why there is no canvas (Slack's error), or
        None when there is one."""
        community = archive.record.community
        # Real names in the files, which leave Slack; mentions in the canvas, which does not.
        names = await real_names(client, archive.people())
        document = build_archive(archive)
        who = f" by {mention(by)}" if by else ""
        uploaded = await upload_document(
            client,
            document,
            names,
            stem="community-archive",
            comment=f"📚 The archive of *{escape(community.name)}*, compiled{who} from "
            "everything this community recorded: as Markdown and as a Word document.",
            channel=community.channel_id,
        )
        canvas = await put_canvas(
            client,
            document,
            names,
            channel_id=community.channel_id,  # tabbed in the channel, beside the file
            title=f"Archive of {community.name}",
        )
        no_canvas = canvas.refused
        closure = archive.closure
        if closure is not None and closure.id is not None:
            link = uploaded.first_permalink or ""
            await closing.record_archive(
                runtime.database,
                closure_id=closure.id,
                file_id=uploaded.first_id,
                permalink=link or None,
            )
            if closure.recipient_channel and closure.recipient_channel != community.channel_id:
                try:
                    await upload_document(
                        client,
                        document,
                        names,
                        stem="community-archive",
                        comment=f"📚 What *{escape(community.name)}* learned, kept here.",
                        channel=closure.recipient_channel,
                    )
                except SlackApiError as error:
                    log.warning("archive not sent to its channel: %s", error.response.get("error"))
            for person in closure.recipients:
                await client.chat_postMessage(
                    channel=person,
                    text=f"📚 You are a keeper of what *{escape(community.name)}* learned: "
                    f"<{link}|its archive>.",
                )
        return no_canvas

    def archive_note(community: Any, no_canvas: str | None) -> str:
        """What the coordinator is told about where the archive went."""
        where = f"<#{community.channel_id}>"
        if no_canvas is None:
            return f"📚 The archive is in {where}: a Markdown file, and a canvas in the channel."
        return (
            f"📚 The archive is in {where} as a Markdown file. Slack would not make a canvas of "
            f"it here (`{escape(no_canvas)}`, often a workspace plan without canvases), so the "
            "file is the archive: nothing is missing from it."
        )

    # -- /cop close ------------------------------------------------------------------------

    @cop.subcommand("close", summary="close this community and capture what it learned")
    async def close(request: CopRequest) -> None:
        record = await record_in(request, "close it")
        if record is None:
            return
        if is_closed(record):
            await request.tell(
                "This community is already closed. `/cop archive` compiles its archive."
            )
            return
        today = today_for(record.community, runtime.clock.now())
        if not await open_modal(
            request.client,
            trigger_id=request.trigger_id,
            view=close_form(record, today),
            logger=request.logger,
        ):
            await request.tell(TOO_SLOW)

    @app.view(CLOSE_FORM)
    async def close_checked(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """The first step checks everything and closes nothing: the confirmation follows."""
        user_id = body["user"]["id"]
        state = view.get("state") or {}
        channel = ((state.get("values") or {}).get(RECIPIENT_CHANNEL) or {}).get(
            RECIPIENT_CHANNEL
        ) or {}
        submitted = read_state(closing.CLOSE_FIELDS, state)
        community_id = as_id(metadata_of(view).get("community"))
        try:
            plan = await closing.check_close(
                runtime.database,
                runtime.clock,
                team_id=context.team_id or "",
                community_id=community_id,
                user_id=user_id,
                submitted=submitted,
            )
        except InvalidAnswers as invalid:
            block_ids = [f.key for f in closing.CLOSE_FIELDS]
            await ack(response_action="errors", errors=errors_on_blocks(invalid.errors, block_ids))
            return
        except CommunityError as refused:
            await ack(
                response_action="errors",
                errors={"reason": refusal(refused, coordinators_can="close it", then="")},
            )
            return
        metadata = {
            "community": community_id,
            "answers": submitted,
            "channel": channel.get("selected_conversation"),
        }
        confirm = confirm_view(plan, user_id=user_id, metadata=metadata)
        if len(confirm["private_metadata"]) > METADATA_LIMIT:
            await ack(
                response_action="errors",
                errors={
                    "recipients": "Too many people to carry to the next step: please name "
                    "fewer here, or choose a channel that receives the knowledge instead."
                },
            )
            return
        await ack(response_action="update", view=confirm)

    @app.view(CLOSE_CONFIRM)
    async def closed(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        user_id, team_id = body["user"]["id"], context.team_id or ""
        meta = metadata_of(view)
        submitted = meta.get("answers") if isinstance(meta.get("answers"), dict) else {}
        channel = meta.get("channel") if isinstance(meta.get("channel"), str) else None
        community_id = as_id(meta.get("community"))
        planned: list[Planned] = []
        try:
            if submitted.get("reason") == closing.SPLIT:
                # The new communities are checked before anything closes or is created.
                planned = await check_subs(client, view)
            done = await closing.close_community(
                runtime.database,
                runtime.clock,
                team_id=team_id,
                community_id=community_id,
                user_id=user_id,
                submitted=submitted,
                recipient_channel=channel,
                reminder_days=reminder_days,
            )
        except InvalidAnswers as invalid:
            errors = invalid.errors
            if all(key.startswith("sub") for key in errors):
                await ack(response_action="errors", errors=errors)
            else:  # the first step's answers, gone stale (a date now past) or forged
                await ack(response_action="update", view=not_closed(STALE))
            return
        except CommunityError as refused:
            await ack(
                response_action="update",
                view=not_closed(refusal(refused, coordinators_can="close it", then="")),
            )
            return
        await ack()
        # The cancelled meetings' announcements show it, as when a coordinator cancels one.
        for subject in done.redraw:
            await meeting_views.redraw_session(
                registry, client, team_id=done.record.community.team_id, subject=subject
            )
        await registry.dispatcher.send_now(done.send_now)
        if planned:
            await start_subs(
                client,
                planned,
                closure=done.closure,
                parent=done.record,
                user_id=user_id,
                bot_user_id=context.bot_user_id,
            )

    async def check_subs(client: AsyncWebClient, view: dict[str, Any]) -> list[Planned]:
        fields = tuple(
            Field(f"sub{n}_{part}", part, kind)
            for n in range(1, MAX_SUBCOMMUNITIES + 1)
            for part, kind in (("name", Kind.LINE), ("members", Kind.USERS))
        )
        values = read_state(fields, view.get("state") or {})
        planned = plan_split(
            [
                (str(values.get(f"sub{n}_name") or ""), list(values.get(f"sub{n}_members") or []))
                for n in range(1, MAX_SUBCOMMUNITIES + 1)
            ]
        )
        # A name already taken is said on its field, before anything is created: Slack
        # would refuse that channel and leave the split half done.
        try:
            async with asyncio.timeout(LISTING_BUDGET):
                existing = await channel_names(client)
        except TimeoutError:  # a vast workspace: creating the channel will say instead
            existing = set()
        taken = taken_names(planned, existing)
        if taken:
            raise InvalidAnswers(taken)
        return planned

    # -- the capture -----------------------------------------------------------------------

    async def send_prompt(due: Due, client: AsyncWebClient) -> None:
        closure = await closing.closure_by_id(
            runtime.database, team_id=due.team_id, closure_id=int(due.payload["closure_id"])
        )
        record = await community_by_id(
            runtime.database, team_id=due.team_id, community_id=closure.community_id
        )
        name = escape(record.community.name)
        text = (
            f"📚 *{name}* is closing on {calendar_date(closure.closing_date)}. Before it does, "
            f"please share what you learned: you have {closure.capture_days} days. What you "
            "share goes into the community's archive, which outlives this channel.\n" + why(closure)
        )
        await post_once(
            client,
            due,
            channel=record.community.channel_id,
            text=text,
            blocks=[section(text), share_button(int(due.payload["closure_id"]))],
        )

    async def send_invite(due: Due, client: AsyncWebClient) -> None:
        closure_id = int(due.payload["closure_id"])
        closure = await closing.closure_by_id(
            runtime.database, team_id=due.team_id, closure_id=closure_id
        )
        record = await community_by_id(
            runtime.database, team_id=due.team_id, community_id=closure.community_id
        )
        reminder = due.kind == closing.CAPTURE_REMINDER
        if reminder and not await closing.still_waiting(
            runtime.database, team_id=due.team_id, payload=due.payload
        ):
            raise Drop("already answered, or no longer a member")
        name = escape(record.community.name)
        text = (
            (
                f"A reminder: *{name}* would value what you learned before it closes on "
                f"{calendar_date(closure.closing_date)}."
                if reminder
                else f"*{name}* is closing on {calendar_date(closure.closing_date)}. What did you "
                "learn there? Your answers go into its archive, so the knowledge is not lost."
            )
            + "\n"
            + why(closure)
        )
        await client.chat_postMessage(
            channel=str(due.payload["user"]),
            text=text,
            blocks=[section(text), share_button(closure_id)],
        )

    registry.senders.register(
        closing.CAPTURE_PROMPT, send_prompt, description="asking the channel what it learned"
    )
    registry.senders.register(
        closing.CAPTURE_INVITE, send_invite, description="asking a member what they learned"
    )
    registry.senders.register(
        closing.CAPTURE_REMINDER, send_invite, description="reminding a member to share"
    )

    @app.action(SHARE)
    async def share(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        await ack()
        user_id, closure_id = body["user"]["id"], as_id(action.get("value"))
        try:
            # Refused before the form opens, as it would be on saving: outsiders, and after
            # the closing date.
            _, record = await closing.capture_closure(
                runtime.database,
                runtime.clock,
                team_id=context.team_id or "",
                closure_id=closure_id,
                user_id=user_id,
            )
        except CommunityError as refused:
            await tell_privately(client, user_id=user_id, text=str(refused))
            return
        earlier = await closing.latest_capture(
            runtime.database, closure_id=closure_id, user_id=user_id
        )
        await open_modal(
            client,
            trigger_id=body["trigger_id"],
            view=capture_form(
                closure_id, record.community.name, earlier.answers if earlier else {}
            ),
            logger=logger,
        )

    @app.view(CAPTURE_FORM)
    async def captured(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        block_ids = [f.key for f in closing.CAPTURE_FIELDS]
        try:
            await closing.save_capture(
                runtime.database,
                runtime.clock,
                team_id=context.team_id or "",
                closure_id=as_id(metadata_of(view).get("closure")),
                user_id=body["user"]["id"],
                submitted=read_state(closing.CAPTURE_FIELDS, view.get("state") or {}),
            )
        except InvalidAnswers as invalid:
            await ack(response_action="errors", errors=errors_on_blocks(invalid.errors, block_ids))
            return
        except CommunityError as refused:
            await ack(response_action="errors", errors={block_ids[0]: str(refused)})
            return
        await ack()

    # -- the celebration and the archive -----------------------------------------------------

    async def send_celebration(due: Due, client: AsyncWebClient) -> None:
        celebration = await closing.celebrate(
            runtime.database,
            runtime.clock,
            team_id=due.team_id,
            closure_id=int(due.payload["closure_id"]),
        )
        community = celebration.record.community
        text, blocks = celebration_text(celebration)
        await post_once(client, due, channel=community.channel_id, text=text, blocks=blocks)
        if due.attempts > 1 and celebration.closure.archive_file_id:
            return  # the archive went out on the attempt that posted the celebration
        assert community.id is not None
        archive = await compile_archive(
            runtime.database, runtime.clock, team_id=due.team_id, community_id=community.id
        )
        no_canvas = await publish(client, archive, by=None)
        if no_canvas is not None:  # the coordinator who closed it hears where it went
            await client.chat_postMessage(
                channel=celebration.closure.closed_by, text=archive_note(community, no_canvas)
            )

    registry.senders.register(
        closing.CELEBRATION, send_celebration, description="the closing celebration and archive"
    )

    @cop.subcommand("archive", summary="compile the community's archive now")
    async def archive_now(request: CopRequest) -> None:
        record = await record_in(request, "compile its archive")
        if record is None or record.community.id is None:
            return
        archive = await compile_archive(
            runtime.database,
            runtime.clock,
            team_id=request.team_id,
            community_id=record.community.id,
        )
        no_canvas = await publish(request.client, archive, by=request.user_id)
        await request.tell(archive_note(record.community, no_canvas))

    @cop.subcommand("export", summary="the community's record as Markdown and JSON")
    async def export(request: CopRequest) -> None:
        record = await record_in(request, "export its record")
        if record is None:
            return
        await send_export(request.client, record, request.user_id)
        await request.tell(
            "I've sent you the record as Markdown, Word and JSON in a direct message."
        )

    @app.action(EXPORT)
    async def export_pressed(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        user_id = body["user"]["id"]
        record = await community_pressed(
            runtime.database,
            client,
            team_id=context.team_id or "",
            user_id=user_id,
            community_id=action.get("value"),
        )
        if record is None:
            return
        if not record.is_coordinator(user_id):
            await tell_privately(client, user_id=user_id, text=who_can(record, "export its record"))
            return
        await send_export(client, record, user_id)

    async def send_export(client: AsyncWebClient, record: CommunityRecord, user_id: str) -> None:
        """The community's record as Markdown, Word and JSON, in a direct message."""
        assert record.community.id is not None
        archive = await compile_archive(
            runtime.database,
            runtime.clock,
            team_id=record.community.team_id,
            community_id=record.community.id,
        )
        names = await real_names(client, archive.people())
        json_file = {
            "content": render_json(archive),
            "filename": "community-record.json",
            "title": "Community record (JSON)",
        }
        await upload_document(
            client,
            build_archive(archive),
            names,
            stem="community-record",
            comment=f"The record of *{escape(record.community.name)}*, for safekeeping.",
            person=user_id,
            extra=[json_file],
        )

    # -- sub-communities, started once the closure is confirmed --------------------------------

    async def start_subs(
        client: AsyncWebClient,
        planned: list[Planned],
        *,
        closure: Closure,
        parent: CommunityRecord,
        user_id: str,
        bot_user_id: str | None,
    ) -> None:
        team_id = parent.community.team_id
        started: list[str] = []
        for sub in planned:
            try:
                # A private community's offspring start private too.
                created = await create_channel(
                    client, sub.channel_name, is_private=parent.community.is_private
                )
            except SlackApiError as error:
                # Every name tried is taken, or Slack refused the channel (a workspace that
                # lets no app create channels): nothing was created for this one.
                problem = str(error.response.get("error"))
                why = (
                    f"#{sub.channel_name} and the names after it (#{sub.channel_name}-2…) are taken"
                    if problem == "name_taken"
                    else f"Slack refused its channel (`{escape(problem)}`)"
                )
                await tell_privately(
                    client,
                    user_id=user_id,
                    text=f"I could not start *{escape(sub.name)}*: {why}. Nothing was created "
                    "for it. Create a channel for it yourself, invite its members and run "
                    "`/cop start` there.",
                )
                continue
            channel_id = str(created["channel"]["id"])
            try:
                await start_sub_community(
                    runtime.database,
                    runtime.clock,
                    team_id=team_id,
                    parent_id=closure.community_id,
                    user_id=user_id,
                    channel_id=channel_id,
                    name=sub.name,
                    is_private=bool(created["channel"].get("is_private")),
                )
            except CommunityError as error:
                await tell_privately(
                    client,
                    user_id=user_id,
                    text=f"I could not start *{escape(sub.name)}*: {escape(str(error))}.",
                )
                continue
            if created["channel"].get("name") != sub.channel_name:
                await tell_privately(
                    client,
                    user_id=user_id,
                    text=f"#{sub.channel_name} is taken by a channel I cannot see, so "
                    f"*{escape(sub.name)}* starts in <#{channel_id}>: rename the channel if "
                    "you like.",
                )
            invited = [u for u in sub.members if u != bot_user_id]
            if user_id not in invited:
                invited.append(user_id)
            try:
                await client.conversations_invite(channel=channel_id, users=",".join(invited))
            except SlackApiError as error:
                # The community stands in its new channel either way; the coordinator can add
                # its members by hand.
                people = ", ".join(mention(u) for u in invited)
                await tell_privately(
                    client,
                    user_id=user_id,
                    text=f"*{escape(sub.name)}* has started in <#{channel_id}>, but Slack would "
                    f"not let me invite its members "
                    f"(`{escape(str(error.response.get('error')))}`): please add {people} there.",
                )
            await client.chat_postMessage(
                channel=channel_id,
                text=f"🌱 *{escape(sub.name)}* grows out of *{escape(parent.community.name)}* "
                f"(<#{parent.community.channel_id}>), whose scope it starts from: `/cop scope` "
                "to make it its own. The parent's archive is posted in its channel on its "
                f"closing date, {calendar_date(closure.closing_date)}.",
            )
            started.append(f"*{escape(sub.name)}* (<#{channel_id}>)")
        if started:
            # Members not chosen for a new community must still be able to find them.
            await client.chat_postMessage(
                channel=parent.community.channel_id,
                text=f"🌱 *{escape(parent.community.name)}* goes on as "
                f"{_and_list(started)}: join the one that fits your work.",
            )

    # -- archiving the channel, after a second confirmation -----------------------------------

    @app.action(ARCHIVE_CHANNEL)
    async def confirm_archive(
        ack: AsyncAck,
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        await ack()
        channel = str((body.get("channel") or {}).get("id") or "")
        user_id = body["user"]["id"]
        record = await community_in_channel(
            runtime.database, team_id=context.team_id or "", channel_id=channel
        )
        if record is None or not record.is_coordinator(user_id):
            await tell_privately(
                client,
                user_id=user_id,
                text="Only the community's coordinators can archive its channel.",
                channel_id=channel,
            )
            return
        await open_modal(
            client,
            trigger_id=body["trigger_id"],
            view=modal(
                title="Archive the channel?",
                blocks=[
                    section(
                        f"Archive <#{channel}>? Nobody can post in it afterwards; its history "
                        "and the archive file stay readable."
                    )
                ],
                callback_id=ARCHIVE_CHANNEL_FORM,
                submit="Archive it",
                close="Not now",
                metadata={"community": record.community.id},
            ),
            logger=logger,
        )

    @app.view(ARCHIVE_CHANNEL_FORM)
    async def archive_channel(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        team_id, user_id = context.team_id or "", body["user"]["id"]
        try:
            record = await community_by_id(
                runtime.database,
                team_id=team_id,
                community_id=as_id(metadata_of(view).get("community")),
            )
        except CommunityError as refused:
            await ack(response_action="errors", errors={"_": str(refused)})
            return
        await ack()
        if not record.is_coordinator(user_id) or not is_closed(record):
            await tell_privately(
                client, user_id=user_id, text="Only a closed community's coordinators can do that."
            )
            return
        await client.conversations_archive(channel=record.community.channel_id)

    # -- late joiners, and what coordinators see ---------------------------------------------

    async def send_closed_note(due: Due, client: AsyncWebClient) -> None:
        closure = (
            await closing.closure_for(
                runtime.database, team_id=due.team_id, community_id=due.community_id or 0
            )
            if due.community_id
            else None
        )
        where = (
            f"<{closure.archive_permalink}|its archive>"
            if closure and closure.archive_permalink
            else "the archive posted in the channel"
        )
        await client.chat_postMessage(
            channel=str(due.payload["user"]),
            text=f"Welcome! This community has closed, so the channel is kept as a record. "
            f"What it learned is in {where}.",
        )

    registry.senders.register(
        closing.CLOSED_NOTE, send_closed_note, description="a note to someone joining after closure"
    )

    async def capture_status(record: CommunityRecord, viewer: str, surface: Surface) -> list[Block]:
        """A closed community's Home: who shared what they learned, and its record to export.
        Where it stands (closing, or closed with its archive) is its next step, above."""
        if not is_closed(record) or record.community.id is None:
            return []
        progress = await closing.capture_progress(
            runtime.database, team_id=record.community.team_id, community_id=record.community.id
        )
        if progress is None:
            return []
        shared = mention_list(progress.answered, nobody="nobody")
        text = f"📚 *Shared what they learned* ({len(progress.answered)}): {shared}."
        capturing = closing.still_capturing(progress.closure, record.community, runtime.clock.now())
        coordinator = record.is_coordinator(viewer)
        if capturing and coordinator:
            text += f" Still to answer: {len(progress.waiting)}."
        export = button("Export the record", action_id=EXPORT, value=str(record.community.id))
        return [section(text, accessory=export if coordinator else None)]

    registry.sections.append(capture_status)
