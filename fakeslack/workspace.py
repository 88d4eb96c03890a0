"""In-memory state of the fake Slack workspace.

This module only holds and mutates state; what Slack's Web API methods *mean* lives in
``methods.py``. Everything here is guarded by one re-entrant lock because the HTTP
server answers each request on its own thread while tests read the state from theirs.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

TEAM_ID = "T0CULTIV8"
TEAM_NAME = "Cultivate Sandbox"
TEAM_DOMAIN = "cultivate-sandbox"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0CULTIV8"
IMAGE_TYPES = frozenset({"png", "jpg", "jpeg", "gif"})
FILE_ID_WIDTH = 10  # Slack's file ids: F and at least eight letters or digits

# Slack shows a long-form zone name; zoneinfo only knows abbreviations, so map the ones
# the seeded people can produce (standard and daylight variants) and fall back to the
# abbreviation for anything else.
_TZ_LABELS = {
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "IST": "India Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "UTC": "Coordinated Universal Time",
}


@dataclass
class Person:
    """A workspace member (human or the app's bot user)."""

    id: str
    name: str
    real_name: str
    tz: str
    display_name: str = ""
    title: str = ""
    is_bot: bool = False
    bot_id: str | None = None
    deleted: bool = False
    is_admin: bool = False  # a workspace admin (users.info says so)
    is_owner: bool = False

    def to_slack(self, now: float) -> dict[str, Any]:
        """The user object as users.info / users.list return it, with DST-correct offsets."""
        moment = datetime.fromtimestamp(now, tz=UTC).astimezone(ZoneInfo(self.tz))
        offset = moment.utcoffset()
        abbreviation = moment.tzname() or self.tz
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.display_name,
            "display_name_normalized": self.display_name,
            "first_name": self.real_name.split(" ")[0],
            "last_name": " ".join(self.real_name.split(" ")[1:]),
            "title": self.title,
            "team": TEAM_ID,
        }
        if self.bot_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": _TZ_LABELS.get(abbreviation, abbreviation),
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": profile,
            "is_admin": self.is_admin or self.is_owner,
            "is_owner": self.is_owner,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }


@dataclass
class Channel:
    """A conversation: public/private channel, DM (``D…``) or group DM (``G…``)."""

    id: str
    name: str
    is_private: bool = False
    members: list[str] = field(default_factory=list)
    topic: str = ""
    purpose: str = ""
    creator: str = BOT_USER_ID
    created: int = 1700000000
    is_archived: bool = False
    is_im: bool = False
    is_mpim: bool = False
    im_user: str | None = None  # the other party of a DM

    def to_slack(self, viewer: str = BOT_USER_ID) -> dict[str, Any]:
        """The channel object as conversations.info returns it (without num_members)."""
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        topic_or_purpose = {"creator": self.creator, "last_set": self.created}
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not (self.is_private or self.is_mpim),
            "is_group": self.is_private and not self.is_mpim,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private or self.is_mpim,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "context_team_id": TEAM_ID,
            "created": self.created,
            "creator": self.creator,
            "is_member": viewer in self.members,
            "topic": {"value": self.topic, **topic_or_purpose},
            "purpose": {"value": self.purpose, **topic_or_purpose},
        }


@dataclass
class UploadedFile:
    """A file going through the v2 upload flow; ``completed`` once it has been shared."""

    id: str
    filename: str
    length: int
    content: bytes = b""
    title: str = ""
    channel: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    uploaded: bool = False
    completed: bool = False
    created: int = 0
    user: str = BOT_USER_ID
    alt_txt: str | None = None  # a description of an image, for screen readers

    @property
    def filetype(self) -> str:
        return self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else "text"

    @property
    def is_image(self) -> bool:
        """What Block Kit's slack_file accepts: png, jpg, jpeg and gif."""
        return self.filetype in IMAGE_TYPES

    def to_slack(self) -> dict[str, Any]:
        """The file object as files.info / files.completeUploadExternal return it."""
        extension = self.filetype
        file: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.filename,
            "title": self.title or self.filename,
            "filetype": extension,
            "pretty_type": extension.upper(),
            "user": self.user,
            "user_team": TEAM_ID,
            "size": len(self.content),
            "mode": "hosted",
            "is_public": self.channel is not None and self.channel.startswith("C"),
            "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{self.id}/{self.filename}",
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{self.user}/{self.id}/{self.filename}",
            "channels": [self.channel] if self.channel else [],
            "groups": [],
            "ims": [],
        }
        if self.is_image:
            file["mimetype"] = f"image/{'jpeg' if extension == 'jpg' else extension}"
        if self.alt_txt:
            file["alt_txt"] = self.alt_txt
        return file


@dataclass(frozen=True)
class ResponseTarget:
    """Where a ``response_url`` posts: the conversation and person it was made for and, for a
    click on a message, that message (so ``replace_original`` knows what to replace)."""

    channel_id: str
    user_id: str
    message_ts: str | None = None
    ephemeral: bool = False


@dataclass
class Canvas:
    """A canvas, either standalone or a channel canvas (``channel_id`` set)."""

    id: str
    title: str | None
    document_content: dict[str, Any] | None
    channel_id: str | None = None


def default_people() -> list[Person]:
    """The seeded humans: spread over time zones so scheduling code has something to chew on."""
    return [
        Person("U0ASHA", "asha.raman", "Asha Raman", "Asia/Kolkata", "Asha", "Policy Analyst"),
        Person("U0BEN", "ben.okafor", "Ben Okafor", "Europe/London", "Ben", "Data Engineer"),
        Person(
            "U0CARMEN", "carmen.diaz", "Carmen Díaz", "America/New_York", "Carmen", "Researcher"
        ),
        Person("U0LIAM", "liam.walsh", "Liam Walsh", "Australia/Sydney", "Liam", "Tech Lead"),
        Person("U0NOOR", "noor.haddad", "Noor Haddad", "Europe/London", "", "Programme Manager"),
    ]


def default_channels() -> list[Channel]:
    """Seeded channels; the bot is in all of them so posting works out of the box."""
    return [
        Channel(
            "C0HOUSING",
            "housing-policy",
            members=[BOT_USER_ID, "U0ASHA", "U0CARMEN", "U0NOOR"],
            topic="Housing policy community of practice",
            purpose="Share research, drafts and questions about housing policy.",
        ),
        Channel(
            "C0DATA",
            "data-engineering",
            members=[BOT_USER_ID, "U0BEN", "U0LIAM", "U0ASHA"],
            topic="Pipelines, warehouses and the occasional outage",
            purpose="The data engineering community of practice.",
        ),
        Channel(
            "C0RANDOM",
            "random",
            members=[BOT_USER_ID, "U0ASHA", "U0BEN", "U0CARMEN", "U0LIAM", "U0NOOR"],
            purpose="Non-work banter and water cooler conversation.",
        ),
    ]


class Workspace:
    """All state of the fake workspace. Read it via the accessors, which return copies."""

    def __init__(
        self,
        people: list[Person] | None = None,
        channels: list[Channel] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        bot = Person(
            BOT_USER_ID, "cultivate", "Cultivate", "UTC", "Cultivate", is_bot=True, bot_id=BOT_ID
        )
        self.people: dict[str, Person] = {p.id: p for p in [bot, *(people or default_people())]}
        self.channels: dict[str, Channel] = {c.id: c for c in channels or default_channels()}
        # channel id -> messages in posting order (thread replies included, with thread_ts)
        self.messages_by_channel: dict[str, list[dict[str, Any]]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.files: dict[str, UploadedFile] = {}
        self.canvases: dict[str, Canvas] = {}
        self.views: dict[str, dict[str, Any]] = {}  # open modal views by view id
        self.view_stacks: list[list[str]] = []  # each modal stack: root first, pushed views after
        self.homes: dict[str, dict[str, Any]] = {}  # published Home tab view per user
        # The OAuth install flow: the app's credentials, and codes Slack would hand the app's
        # redirect (code -> the team that approved the install).
        self.oauth_client: tuple[str, str] = ("fake-client-id", "fake-client-secret")
        self.oauth_codes: dict[str, dict[str, str]] = {}
        # Slack knows who each trigger_id and response_url was made for; so does the fake when
        # the request builder registers them (the sandbox shows each person their own modals
        # and ephemeral answers).
        self.triggers: dict[str, str] = {}  # trigger_id -> user id
        self.modal_owners: dict[str, str] = {}  # root view id of a modal stack -> user id
        self.response_targets: dict[str, ResponseTarget] = {}  # response_url token -> target
        self._last_ts_micros = 0
        self._counters: dict[str, Iterator[int]] = {}

    # -- identifiers -------------------------------------------------------------------

    def next_id(self, prefix: str, width: int = 7) -> str:
        """Slack-looking ids, unique per prefix: V0000001, F0000000002, D0000001…"""
        with self.lock:
            counter = self._counters.setdefault(prefix, itertools.count(1))
            return f"{prefix}{next(counter):0{width}d}"

    def next_ts(self) -> str:
        """A message timestamp: follows the clock but is strictly increasing, as Slack's are."""
        with self.lock:
            micros = max(int(self.clock() * 1_000_000), self._last_ts_micros + 1)
            self._last_ts_micros = micros
            return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # -- lookups -----------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def person(self, user_id: str) -> Person | None:
        with self.lock:
            return self.people.get(user_id)

    def channel(self, channel_ref: str) -> Channel | None:
        """Find a conversation by id, or by name with or without '#', as chat.postMessage does."""
        with self.lock:
            if channel_ref in self.channels:
                return self.channels[channel_ref]
            name = channel_ref.removeprefix("#")
            return next((c for c in self.channels.values() if c.name == name and c.name), None)

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.messages_by_channel.get(channel_id, []))

    def find_message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        """The stored (mutable) message; callers must hold the lock."""
        return next(
            (m for m in self.messages_by_channel.get(channel_id, []) if m["ts"] == ts), None
        )

    # -- setting the scene (tests) ----------------------------------------------------

    def add_people(
        self,
        count: int,
        *,
        name: str = "newcomer",
        tz: str = "Europe/London",
        is_bot: bool = False,
        channels: Iterable[str] = (),
    ) -> list[str]:
        """Add `count` people (or bot users) to the workspace, and to these channels; returns
        their user ids."""
        added = []
        with self.lock:
            for _ in range(count):
                user_id = self.next_id("U")
                n = int(user_id[1:])
                bot_id = self.next_id("B") if is_bot else None
                person = Person(
                    user_id,
                    f"{name}.{n}",
                    f"{name.capitalize()} {n}",
                    tz,
                    is_bot=is_bot,
                    bot_id=bot_id,
                )
                self.people[user_id] = person
                for channel_id in channels:
                    self.channels[channel_id].members.append(user_id)
                added.append(user_id)
        return added

    def join(self, channel_id: str, user_id: str) -> None:
        """Someone joins a channel by themselves (the app hears of it by an event)."""
        with self.lock:
            channel = self.channels[channel_id]
            if user_id not in channel.members:
                channel.members.append(user_id)

    def leave(self, channel_id: str, user_id: str) -> None:
        with self.lock:
            channel = self.channels[channel_id]
            if user_id in channel.members:
                channel.members.remove(user_id)

    # -- mutations used by the API methods --------------------------------------------

    def add_message(self, channel_id: str, message: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.messages_by_channel.setdefault(channel_id, []).append(message)
            thread_ts = message.get("thread_ts")
            if thread_ts and thread_ts != message["ts"]:
                parent = self.find_message(channel_id, thread_ts)
                if parent is not None:
                    parent["thread_ts"] = thread_ts
                    parent["reply_count"] = parent.get("reply_count", 0) + 1
                    parent["latest_reply"] = message["ts"]
            return message

    def add_member(self, channel_id: str, user_id: str) -> dict[str, Any] | None:
        """A person joins a channel: Slack adds them and posts its "has joined" message.
        None if they were already a member."""
        with self.lock:
            channel = self.channels[channel_id]
            if user_id in channel.members:
                return None
            channel.members.append(user_id)
            message = {
                "type": "message",
                "subtype": "channel_join",
                "user": user_id,
                "text": f"<@{user_id}> has joined the channel",
                "ts": self.next_ts(),
            }
            return self.add_message(channel_id, message)

    def open_dm(self, user_ids: list[str]) -> tuple[Channel, bool]:
        """Return the DM/group DM for exactly these users (plus the bot), creating it once."""
        with self.lock:
            others = sorted(set(user_ids) - {BOT_USER_ID})
            wanted = sorted({BOT_USER_ID, *others})
            for channel in self.channels.values():
                if (channel.is_im or channel.is_mpim) and sorted(channel.members) == wanted:
                    return channel, True
            if len(others) == 1:
                channel = Channel(
                    self.next_id("D"),
                    "",
                    members=wanted,
                    is_im=True,
                    im_user=others[0],
                    created=int(self.now()),
                )
            else:
                channel = Channel(
                    self.next_id("G"),
                    "mpdm-" + "--".join(self.people[u].name for u in wanted) + "-1",
                    is_private=True,
                    is_mpim=True,
                    members=wanted,
                    created=int(self.now()),
                )
            self.channels[channel.id] = channel
            return channel, False
