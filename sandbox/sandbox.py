"""The sandbox: the real app against the local stand-in for Slack, driven from a browser page.

Every click and keystroke in the page becomes the request Slack itself would send (a slash
command, `block_actions`, `view_submission`, `view_closed`, `event_callback`), signed with a
secret made for this run and POSTed to the app's own `/slack/events`, where the signature is
verified as Slack's is (and an event kept in the inbox before its ack). The app is built by the
same composition root as production's (bot/app.py), and everything it sends goes to the
stand-in's Web API. So the sandbox exercises the same code path as a real workspace, and
nothing in `handlers/` can tell.

Time is a `ManualClock` the page moves forward; the scheduler's heartbeat runs as in
production, and after each jump the sandbox runs it until nothing more is due.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy.engine import make_url

from bot.app import Cultivate, create_app, serving
from bot.clock import ManualClock
from bot.dispatch import Dispatcher
from bot.runtime import Runtime
from bot.server import EVENTS_PATH, after_acks
from bot.settings import Settings
from bot.text import escape
from fakeslack import FakeSlack, SlackRequests, Workspace, element_action, state_values
from fakeslack.workspace import BOT_USER_ID, TEAM_ID, Channel
from handlers.cop import COMMAND
from storage.db import Database
from storage.repositories.teams import teams_other_than

log = logging.getLogger(__name__)

SANDBOX_PATH = "/sandbox"
COMMANDS = (COMMAND,)  # the slash commands the app declares in manifest.yml
# The message shortcuts it declares there (callback id: name), offered on each message in a
# channel (tests/test_sandbox.py checks they agree).
MESSAGE_SHORTCUTS = {"save_to_knowledge": "Save to knowledge"}
LONGEST_TRAVEL = timedelta(days=366)
APP_MESSAGES = "app"  # the page's name for the person's direct messages with the app
LOG_LENGTH = 100
SLACK_WAITS_SECONDS = 3  # for the app's answer to a request, before showing an error
GIVE_UP_SECONDS = 30
# Slack sends a `message` event only for the kinds of conversation the app subscribes to in
# manifest.yml (tests/test_sandbox.py checks they agree), and only where the bot is a member.
MESSAGE_EVENTS = {"channel": "message.channels", "group": "message.groups"}
# The name of the task telling the app of the people it invited, as Slack would.
INVITED_TASK = "sandbox-invited"


class SandboxError(Exception):
    """Something the page asked for that cannot be done; shown to the person as it is."""


class NotASandboxDatabase(Exception):
    """The database holds another workspace's data: the sandbox would claim its rows and
    "send" them to the stand-in, so it does not start."""


async def refuse_other_teams(database: Database) -> None:
    async with database.session() as session:
        others = await teams_other_than(session, team_id=TEAM_ID)
    if others:
        raise NotASandboxDatabase(
            f"the sandbox will not start on {_redacted(database.url)}: it holds data of "
            f"another Slack workspace ({', '.join(others)}); point DATABASE_URL at a database "
            "of its own, or leave it unset for sqlite:///cultivate.db"
        )


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@dataclass(frozen=True)
class Delivery:
    """One request the sandbox sent the app, for the page's "what Slack sent" log."""

    at: float  # sandbox time, epoch seconds
    what: str
    status: int


@dataclass(frozen=True)
class Reply:
    status: int
    body: str


@dataclass(frozen=True)
class Source:
    """Where a clicked element sits: a message, an ephemeral message, a modal or a Home tab."""

    kind: str  # "message" | "ephemeral" | "view" | "home"
    channel_id: str | None = None
    ts: str | None = None
    view_id: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> Source:
        if not isinstance(raw, Mapping) or raw.get("kind") not in (
            "message",
            "ephemeral",
            "view",
            "home",
        ):
            raise SandboxError("say where the element is: a message, a modal or the Home tab")
        return cls(
            kind=str(raw["kind"]),
            channel_id=_optional_str(raw.get("channel")),
            ts=_optional_str(raw.get("ts")),
            view_id=_optional_str(raw.get("view_id")),
        )


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class Sandbox:
    """What a person can do in the sandbox page. Built by :func:`running_sandbox`."""

    def __init__(
        self,
        *,
        slack: FakeSlack,
        clock: ManualClock,
        cultivate: Cultivate,
        signing_secret: str,
        http: aiohttp.ClientSession,
    ) -> None:
        self.slack = slack
        self.clock = clock
        self.cultivate = cultivate
        self.http = http
        # The dispatcher the heartbeat runs: time travel sends what fell due with it too.
        self.dispatcher: Dispatcher = cultivate.sender
        # Slack signs with the real time, whatever the sandbox's clock says: Bolt refuses a
        # signature more than five minutes old.
        self.requests = SlackRequests(
            signing_secret,
            workspace=slack.workspace,
            response_url_base=slack.response_url_base,
        )
        self.deliveries: deque[Delivery] = deque(maxlen=LOG_LENGTH)
        self._run = secrets.token_hex(4).upper()
        self._events = 0
        self.base_url = ""  # set once the HTTP server is listening
        self._loop = asyncio.get_running_loop()
        self._telling: set[asyncio.Task[None]] = set()
        slack.methods.on_invited = self._invited

    @property
    def workspace(self) -> Workspace:
        return self.slack.workspace

    @property
    def url(self) -> str:
        return f"{self.base_url}{SANDBOX_PATH}"

    # -- talking to the app, as Slack does ---------------------------------------------------

    async def _send(self, what: str, request: tuple[str, dict[str, str]]) -> Reply:
        body, headers = request
        started = time.monotonic()
        try:
            async with self.http.post(
                f"{self.base_url}{EVENTS_PATH}",
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=GIVE_UP_SECONDS),
            ) as r:
                reply = Reply(r.status, await r.text())
        except TimeoutError:
            raise SandboxError(f"the app did not answer {what} at all") from None
        took = time.monotonic() - started
        if took > SLACK_WAITS_SECONDS:  # the page still shows it; Slack would not have
            what += f" (answered after {took:.1f}s: Slack gives up after {SLACK_WAITS_SECONDS})"
        self.deliveries.append(Delivery(self.clock.now().timestamp(), what, reply.status))
        if reply.status >= 400:
            log.info("the app answered %s with %d", what, reply.status)
        return reply

    def _event_callback(self, event: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """An Events API delivery with an event_id no earlier run used: the app records every
        id it has handled, in the database the sandbox keeps between runs, and would take an
        id seen before for Slack's redelivery of that event and skip it."""
        self._events += 1
        return self.requests.event_callback(event, event_id=f"Ev{self._run}{self._events:06d}")

    # -- what a person does ------------------------------------------------------------------

    def person_id(self, user_id: Any) -> str:
        """The id of a person (not the bot) in the workspace, or SandboxError."""
        person = self.workspace.person(str(user_id))
        if person is None or person.is_bot:
            raise SandboxError(f"there is no person {user_id!r} in this workspace")
        return person.id

    def _conversation(self, channel_id: Any, user_id: str) -> str:
        if channel_id == APP_MESSAGES:
            with self.workspace.lock:
                return self.workspace.open_dm([user_id])[0].id
        channel = self.workspace.channel(str(channel_id))
        if channel is None or (
            (channel.is_private or channel.is_im) and user_id not in channel.members
        ):
            raise SandboxError(f"there is no conversation {channel_id!r} you can see")
        return channel.id

    async def type(self, user: Any, channel: Any, text: Any) -> dict[str, Any]:
        """What a person types in a conversation: a slash command, or a plain message."""
        user_id = self.person_id(user)
        channel_id = self._conversation(channel, user_id)
        typed = str(text or "").strip()
        if not typed:
            raise SandboxError("type a message, or a command such as /cop help")
        if not typed.startswith("/"):
            return await self.say(user_id, channel_id, typed)
        command, _, rest = typed.partition(" ")
        if command not in COMMANDS:
            raise SandboxError(f"{command} is not a command this app has. Try {COMMAND} help.")
        reply = await self._send(
            f"slash command {typed}",
            self.requests.slash_command(
                command=command, text=rest.strip(), user_id=user_id, channel_id=channel_id
            ),
        )
        if reply.status == 200:
            self.slack.answer_command(channel_id, user_id, reply.body)
        return {"status": reply.status}

    async def say(self, user_id: str, channel_id: str, text: str) -> dict[str, Any]:
        """A plain message: it appears in the conversation, and the app hears of it as Slack
        tells it, a `message` event for each channel it is in and subscribed to. Slack escapes
        `&`, `<` and `>` in what a person types (a typed `<!channel>` is text, not a ping)."""
        text = escape(text)
        with self.workspace.lock:
            channel = self.workspace.channel(channel_id)
            assert channel is not None  # checked by _conversation
            ts = self.workspace.next_ts()
            self.workspace.add_message(
                channel_id, {"type": "message", "user": user_id, "text": text, "ts": ts}
            )
            channel_type = _channel_type(channel)
            hears = BOT_USER_ID in channel.members and channel_type in MESSAGE_EVENTS
        if not hears:
            return {"posted": True, "status": None}
        event = {
            "type": "message",
            "channel": channel_id,
            "user": user_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "team": TEAM_ID,
            "channel_type": channel_type,
        }
        reply = await self._send(
            f"event {MESSAGE_EVENTS[channel_type]}", self._event_callback(event)
        )
        return {"posted": True, "status": reply.status}

    async def settle(self) -> None:
        """Wait until the app has finished what it does after its acks (the events it took,
        the listeners Bolt runs on after answering, the joins of people it invited) and what
        the heartbeat has claimed, so the clock moves on only after them. The heartbeat may
        take a row a listener scheduled for now before the listener's own `send_now` does."""
        while True:
            await after_acks(also=(INVITED_TASK,))
            if not self.dispatcher.is_sending():
                return
            await self.dispatcher.settled()

    async def act(
        self,
        user: Any,
        source: Any,
        *,
        block_index: Any,
        block_id: Any = None,
        action_id: Any,
        answer: Any = None,
        values: Any = None,
    ) -> dict[str, Any]:
        """A click on a button, or a choice in a menu, date picker…: `block_actions`."""
        user_id = self.person_id(user)
        where = Source.parse(source)
        blocks, container = self._blocks_of(where, user_id)
        block, element = _find_element(blocks, block_index, block_id, str(action_id or ""))
        action = element_action(element, block.get("block_id") or f"b{block_index}", answer)
        if where.kind in ("view", "home"):
            view = copy.deepcopy(container)
            view["state"] = {"values": self._values(view, values)}
            request = self.requests.block_actions(user_id, [action], view=view)
        else:
            request = self.requests.block_actions(
                user_id,
                [action],
                channel_id=where.channel_id,
                message=container,
                ephemeral=where.kind == "ephemeral",
            )
        reply = await self._send(f"block_actions {action['action_id']}", request)
        return {"status": reply.status}

    def _blocks_of(self, where: Source, user_id: str) -> tuple[list[Any], dict[str, Any]]:
        """The blocks the element was in, and the message or view holding them."""
        with self.workspace.lock:
            if where.kind == "home":
                home = self.workspace.homes.get(user_id)
                if home is None:
                    raise SandboxError("your Home tab is empty")
                return list(home.get("blocks") or []), copy.deepcopy(home)
            if where.kind == "view":
                view = self._open_view(where.view_id, user_id)
                return list(view.get("blocks") or []), view
            if where.kind == "ephemeral":
                found = next(
                    (
                        e
                        for e in self.workspace.ephemerals
                        if e["ts"] == where.ts and e["user"] == user_id
                    ),
                    None,
                )
            else:
                channel_id = self._conversation(where.channel_id, user_id)
                found = self.workspace.find_message(channel_id, str(where.ts))
            if found is None:
                raise SandboxError("that message is gone")
            return list(found.get("blocks") or []), copy.deepcopy(found)

    def _open_view(self, view_id: str | None, user_id: str) -> dict[str, Any]:
        """A modal view open in this person's stack (callers hold the workspace lock)."""
        for stack in self.workspace.view_stacks:
            owner = self.workspace.modal_owners.get(stack[0])
            if view_id in stack and owner in (None, user_id):
                return copy.deepcopy(self.workspace.views[view_id])
        raise SandboxError("that form is no longer open")

    def _values(self, view: Mapping[str, Any], values: Any) -> dict[str, Any]:
        return state_values(_answers(values), view)

    async def submit(self, user: Any, view_id: Any, values: Any) -> dict[str, Any]:
        """The form's submit button: `view_submission`, then what Slack does with the reply."""
        user_id = self.person_id(user)
        with self.workspace.lock:
            view = self._open_view(str(view_id), user_id)
        reply = await self._send(
            f"view_submission {view.get('callback_id') or view['id']}",
            self.requests.view_submission(view, user_id=user_id, values=_answers(values)),
        )
        if reply.status != 200:
            return {"status": reply.status, "errors": {}}
        self.slack.answer_submission(view["id"], reply.body)
        errors: dict[str, str] = {}
        try:
            answer = json.loads(reply.body) if reply.body.strip() else {}
        except json.JSONDecodeError:
            answer = {}
        if isinstance(answer, dict) and answer.get("response_action") == "errors":
            errors = {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
        return {"status": reply.status, "errors": errors}

    async def suggest(
        self, user: Any, view_id: Any, block_id: Any, action_id: Any, typed: Any
    ) -> dict[str, Any]:
        """Typing into an external select: `block_suggestion`, and the options the app gave."""
        user_id = self.person_id(user)
        with self.workspace.lock:
            view = self._open_view(str(view_id), user_id)
        try:
            request = self.requests.block_suggestion(
                view, user_id, block_id=str(block_id), action_id=str(action_id), value=str(typed)
            )
        except ValueError as refused:  # too short to ask, or not an external select
            return {"status": 200, "options": [], "note": str(refused)}
        reply = await self._send(f"block_suggestion {block_id}", request)
        try:
            answer = json.loads(reply.body) if reply.body.strip() else {}
        except json.JSONDecodeError:
            answer = {}
        options = answer.get("options") if isinstance(answer, dict) else None
        return {"status": reply.status, "options": options if isinstance(options, list) else []}

    async def close(self, user: Any, view_id: Any, *, whole_stack: bool) -> dict[str, Any]:
        """Cancel (back one view) or the X (close them all); `view_closed` if the app asked."""
        user_id = self.person_id(user)
        with self.workspace.lock:
            view = self._open_view(str(view_id), user_id)
        status = None
        if view.get("notify_on_close"):
            reply = await self._send(
                f"view_closed {view.get('callback_id') or view['id']}",
                self.requests.view_closed(view, user_id, is_cleared=whole_stack),
            )
            status = reply.status
        self.slack.close_view(view["id"], whole_stack=whole_stack)
        return {"status": status}

    async def shortcut(self, user: Any, channel: Any, ts: Any, callback_id: Any) -> dict[str, Any]:
        """A shortcut chosen from a message's menu: `message_action`, with the message as
        Slack has it."""
        user_id = self.person_id(user)
        if callback_id not in MESSAGE_SHORTCUTS:
            raise SandboxError(f"the app has no message shortcut {callback_id!r}")
        channel_id = self._conversation(channel, user_id)
        with self.workspace.lock:
            found = self.workspace.find_message(channel_id, str(ts))
            message = copy.deepcopy(found) if found is not None else None
        if message is None:
            raise SandboxError("that message is gone")
        reply = await self._send(
            f"message_action {callback_id}",
            self.requests.message_action(user_id, channel_id, message, str(callback_id)),
        )
        return {"status": reply.status}

    async def join(self, user: Any, channel: Any) -> dict[str, Any]:
        """Someone joins a channel: Slack's "has joined" message, and `member_joined_channel`."""
        user_id = self.person_id(user)
        found = self.workspace.channel(str(channel))
        if found is None or found.is_im or found.is_mpim:
            raise SandboxError(f"there is no channel {channel!r} to join")
        if self.workspace.add_member(found.id, user_id) is None:
            raise SandboxError("they are already in that channel")
        event = {
            "type": "member_joined_channel",
            "user": user_id,
            "channel": found.id,
            "channel_type": "G" if found.is_private else "C",
            "team": TEAM_ID,
        }
        reply = await self._send("event member_joined_channel", self._event_callback(event))
        return {"status": reply.status}

    def _invited(self, channel_id: str, users: list[str]) -> None:
        """The app invited people to a channel (on the stand-in's thread): Slack tells it of
        each as `member_joined_channel`, with the app as the inviter."""
        self._loop.call_soon_threadsafe(self._tell_invited, channel_id, list(users))

    def _tell_invited(self, channel_id: str, users: list[str]) -> None:
        task = self._loop.create_task(self._joined_by_invite(channel_id, users), name=INVITED_TASK)
        self._telling.add(task)  # kept until done: the loop holds tasks only weakly
        task.add_done_callback(self._telling.discard)

    async def _joined_by_invite(self, channel_id: str, users: list[str]) -> None:
        channel = self.workspace.channel(channel_id)
        for user_id in users:
            event = {
                "type": "member_joined_channel",
                "user": user_id,
                "channel": channel_id,
                "channel_type": "G" if channel is not None and channel.is_private else "C",
                "team": TEAM_ID,
                "inviter": BOT_USER_ID,
            }
            try:
                await self._send("event member_joined_channel", self._event_callback(event))
            except SandboxError as unanswered:  # the log shows it; nobody is waiting on it
                log.warning("%s", unanswered)

    async def open_home(self, user: Any) -> dict[str, Any]:
        """The person opens the app's Home tab: `app_home_opened`."""
        user_id = self.person_id(user)
        with self.workspace.lock:
            dm, _ = self.workspace.open_dm([user_id])
            home = copy.deepcopy(self.workspace.homes.get(user_id))
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": dm.id,
            "tab": "home",
        }
        if home is not None:
            event["view"] = home
        reply = await self._send("event app_home_opened", self._event_callback(event))
        return {"status": reply.status}

    async def travel(self, seconds: Any) -> dict[str, Any]:
        """Move the sandbox's clock forward, then send everything that has fallen due."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise SandboxError("say how far to travel, in seconds")
        delta = timedelta(seconds=seconds)
        if not timedelta(0) < delta <= LONGEST_TRAVEL:
            raise SandboxError("travel forward, by at most a year")
        await self.settle()  # a send in flight must not outlive its lease in the jump
        now = self.clock.advance(delta)
        sent = await self.dispatcher.run_until_idle()
        self.deliveries.append(
            Delivery(now.timestamp(), f"time travel +{_duration(delta)}: {sent} sent", 200)
        )
        return {"now": now.timestamp(), "sent": sent}


def _channel_type(channel: Channel) -> str:
    """The `channel_type` of a message event in this conversation, as Slack names it."""
    if channel.is_im:
        return "im"
    if channel.is_mpim:
        return "mpim"
    return "group" if channel.is_private else "channel"


def _answers(values: Any) -> dict[str, dict[str, Any]]:
    """What the page's form holds, as {block_id: {action_id: answer}}."""
    if values is None:
        return {}
    if not isinstance(values, Mapping) or not all(isinstance(v, Mapping) for v in values.values()):
        raise SandboxError("values must map block ids to {action id: answer}")
    return {
        str(block): {str(k): v for k, v in actions.items()} for block, actions in values.items()
    }


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds}s"


def _find_element(
    blocks: list[Any], block_index: Any, block_id: Any, action_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The block and interactive element the page says was used."""
    candidates: list[dict[str, Any]] = []
    if isinstance(block_id, str) and block_id:
        candidates = [b for b in blocks if isinstance(b, dict) and b.get("block_id") == block_id]
    elif isinstance(block_index, int) and 0 <= block_index < len(blocks):
        candidates = [blocks[block_index]]
    for block in candidates:
        elements = [block.get("accessory"), block.get("element"), *(block.get("elements") or [])]
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block, element
    raise SandboxError("that button or menu is no longer there")


@asynccontextmanager
async def running_sandbox(
    settings: Settings, database: Database, *, host: str = "127.0.0.1"
) -> AsyncIterator[Sandbox]:
    """Start the stand-in for Slack, the app pointed at it, the HTTP server (Slack's endpoint,
    health and the sandbox page) and the scheduler's heartbeat; stop them all on exit.

    Listens on `settings.port` (0 picks a free one). Only on this machine: the page can act as
    anyone in the workspace, so it is not offered to the network.
    """
    from sandbox.api import add_routes

    if not settings.sandbox:
        raise ValueError("running_sandbox needs sandbox settings (load_sandbox_settings)")
    await refuse_other_teams(database)
    clock = ManualClock(datetime.now(UTC))
    slack = FakeSlack(Workspace(clock=lambda: clock.now().timestamp())).start()
    try:
        # Production's app and path: events kept in the inbox and acked before they are
        # handled. Only the sandbox's own team's rows are sent, whatever else the database
        # holds; nothing is tidied by a clock the person moves at will.
        cultivate = create_app(
            replace(settings, slack_api_url=slack.api_url),
            Runtime(database=database, clock=clock),
            early_ack=True,
            housekeeping=False,
            worker="sandbox",
            team_id=TEAM_ID,
        )
        async with aiohttp.ClientSession() as http:
            sandbox = Sandbox(
                slack=slack,
                clock=clock,
                cultivate=cultivate,
                signing_secret=settings.slack_signing_secret or "",
                http=http,
            )
            add_routes(cultivate.web, sandbox)
            async with serving(cultivate, host=host, port=settings.port) as port:
                sandbox.base_url = f"http://{host}:{port}"
                yield sandbox
    finally:
        slack.stop()
