"""What each Slack Web API method does to the workspace, and what it answers.

Handlers receive already-decoded arguments and return the response body *without*
``ok``; a failure is raised as :class:`SlackError` carrying Slack's error code. Response
shapes follow https://docs.slack.dev/reference/methods, trimmed to the keys apps use.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from collections.abc import Callable
from typing import Any

from fakeslack.workspace import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    FILE_ID_WIDTH,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    Canvas,
    Channel,
    ResponseTarget,
    UploadedFile,
    Workspace,
)

Args = dict[str, Any]
Response = dict[str, Any]

MAX_VIEW_STACK = 3  # Slack allows a root modal plus two pushed views
CHANNEL_NAME_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


class SlackError(Exception):
    """A Slack ``{"ok": false, "error": ...}`` answer, with optional extra keys."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class Refused(SlackError):
    """A payload Slack refuses as malformed (the app's bug, not the workspace's state): the
    server records each problem, so a test fails unless it expected the refusal."""

    def __init__(self, error: str, problems: list[str]) -> None:
        super().__init__(error, response_metadata={"messages": [f"[ERROR] {p}" for p in problems]})
        self.problems = problems


SLACK_FILE_ID = re.compile(r"^F[A-Z0-9]{8,}$")


# -- argument helpers ------------------------------------------------------------------


def _required(args: Args, name: str, error: str = "invalid_arguments") -> str:
    value = args.get(name)
    if value in (None, ""):
        raise SlackError(error, detail=f"missing required argument {name!r}")
    return str(value)


def _between(args: Args) -> Callable[[dict[str, Any]], bool]:
    """Whether a message falls within the call's `oldest`, `latest` and `inclusive`, as Slack
    reads them for history and replies."""
    oldest = float(args.get("oldest") or 0)
    latest = float(args.get("latest") or "inf")
    inclusive = _flag(args, "inclusive")

    def within(message: dict[str, Any]) -> bool:
        ts = float(message["ts"])
        return oldest < ts < latest or (inclusive and ts in (oldest, latest))

    return within


def _flag(args: Args, name: str) -> bool:
    """Booleans arrive as JSON true/false, or as "1"/"0"/"true" in form bodies."""
    value = args.get(name)
    if isinstance(value, str):
        return value.lower() in ("1", "true")
    return bool(value)


def _user_list(value: Any) -> list[str]:
    """`users` arguments: a comma-separated string, or a JSON array from hand-made calls."""
    if isinstance(value, list):
        return [str(u) for u in value]
    return [u.strip() for u in str(value or "").split(",") if u.strip()]


def _paginate(items: list[Any], args: Args) -> tuple[list[Any], str]:
    """Cursor pagination as Slack does it: opaque cursor, empty next_cursor at the end."""
    limit = int(args.get("limit") or 0) or 100
    cursor = str(args.get("cursor") or "")
    start = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
    end = start + limit
    next_cursor = base64.b64encode(f"next:{end}".encode()).decode() if end < len(items) else ""
    return items[start:end], next_cursor


def _slack_files(blocks: Any, where: str = "/blocks") -> list[tuple[str, Any]]:
    """Every `slack_file` in blocks (image blocks, and image elements nested anywhere)."""
    found: list[tuple[str, Any]] = []
    if isinstance(blocks, list):
        for n, item in enumerate(blocks):
            found += _slack_files(item, f"{where}/{n}")
    elif isinstance(blocks, dict):
        for key, value in blocks.items():
            if key == "slack_file":
                found.append((f"{where}/slack_file", value))
            else:
                found += _slack_files(value, f"{where}/{key}")
    return found


def _view_hash(view_id: str, revision: int) -> str:
    return f"{1700000000 + revision}.{hashlib.sha1(view_id.encode()).hexdigest()[:8]}"


class SlackMethods:
    """Dispatches API method names to handlers that act on a :class:`Workspace`."""

    def __init__(self, workspace: Workspace, upload_url: Callable[[str], str]) -> None:
        self.ws = workspace
        self.upload_url = upload_url  # file id -> URL the client should upload bytes to
        self._view_revisions: dict[str, int] = {}
        # Told (channel id, user ids) when the app invites people, as Slack then sends the app
        # `member_joined_channel` for each: the sandbox delivers those. Runs on the fake's
        # thread, holding the workspace's lock.
        self.on_invited: Callable[[str, list[str]], None] | None = None
        self.handlers: dict[str, Callable[[Args], Response]] = {
            "auth.test": self.auth_test,
            "oauth.v2.access": self.oauth_v2_access,
            "users.info": self.users_info,
            "users.list": self.users_list,
            "conversations.info": self.conversations_info,
            "conversations.members": self.conversations_members,
            "conversations.list": self.conversations_list,
            "conversations.open": self.conversations_open,
            "conversations.invite": self.conversations_invite,
            "conversations.join": self.conversations_join,
            "conversations.create": self.conversations_create,
            "conversations.archive": self.conversations_archive,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "chat.getPermalink": self.chat_get_permalink,
            "conversations.canvases.create": self.conversations_canvases_create,
            "canvases.create": self.canvases_create,
            "canvases.edit": self.canvases_edit,
            "chat.postMessage": self.chat_post_message,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
            "files.info": self.files_info,
        }

    def call(self, method: str, args: Args) -> Response:
        handler = self.handlers.get(method)
        if handler is None:
            raise SlackError("not_implemented", detail=f"FakeSlack does not implement {method}")
        with self.ws.lock:
            self._check_slack_files(method, args)
            return handler(args)

    # -- files referenced from blocks ----------------------------------------------------

    def _check_slack_files(self, method: str, args: Args) -> None:
        """Image blocks and elements may show an uploaded file (`slack_file`): Slack refuses
        one that names both or neither of id and url, an id not shaped like a file's, a file
        that is not there (or not an image), or one the poster cannot see."""
        if method.startswith("chat."):
            found, error = _slack_files(args.get("blocks")), "invalid_blocks"
        elif method.startswith("views."):
            found, error = _slack_files((args.get("view") or {}).get("blocks")), "invalid_arguments"
        else:
            return
        problems = []
        for where, reference in found:
            problem = self._slack_file_problem(reference)
            if problem:
                problems.append(f"invalid slack file [json-pointer:{where}]: {problem}")
        if problems:
            raise Refused(error, problems)

    def _slack_file_problem(self, reference: Any) -> str | None:
        if not isinstance(reference, dict):
            return "slack_file must be an object"
        file_id, url = reference.get("id"), reference.get("url")
        if bool(file_id) == bool(url):
            return "give exactly one of id and url"
        if file_id:
            if not SLACK_FILE_ID.match(str(file_id)):
                return f"id {file_id!r} must match {SLACK_FILE_ID.pattern}"
            file = self.ws.files.get(str(file_id))
        else:
            file = next(
                (
                    f
                    for f in self.ws.files.values()
                    if url in (f.to_slack()["url_private"], f.to_slack()["permalink"])
                ),
                None,
            )
        if file is None or not file.completed:
            return "no such file"
        if not file.is_image:
            return f"{file.filetype} is not an image Block Kit can show (png, jpg, jpeg, gif)"
        if file.user != BOT_USER_ID:
            return "the app cannot see this file"
        return None

    # -- lookups that raise Slack's errors -----------------------------------------------

    def _channel(self, ref: str, *, member: bool = False) -> Channel:
        channel = self.ws.channel(ref)
        if channel is None:
            # Posting to a user id opens (or reuses) the DM with them, as Slack does.
            if ref.startswith(("U", "W")) and self.ws.person(ref) is not None:
                return self.ws.open_dm([ref])[0]
            raise SlackError("channel_not_found")
        if member and BOT_USER_ID not in channel.members:
            raise SlackError("not_in_channel")
        return channel

    def _visible(self, ref: str) -> Channel:
        """A conversation the app may read about: as Slack, a private channel the app is not
        in is not found."""
        channel = self._channel(ref)
        if channel.is_private and not channel.is_mpim and BOT_USER_ID not in channel.members:
            raise SlackError("channel_not_found")
        return channel

    def _user(self, user_id: str) -> Any:
        person = self.ws.person(user_id)
        if person is None:
            raise SlackError("user_not_found")
        return person

    # -- auth and users ------------------------------------------------------------------

    def auth_test(self, args: Args) -> Response:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": self.ws.people[BOT_USER_ID].name,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "is_enterprise_install": False,
        }

    def oauth_v2_access(self, args: Args) -> Response:
        """Exchange an install's code for the team's bot token (each code works once)."""
        if (args.get("client_id"), args.get("client_secret")) != self.ws.oauth_client:
            raise SlackError("invalid_client_id")
        grant = self.ws.oauth_codes.pop(str(args.get("code", "")), None)
        if grant is None:
            raise SlackError("invalid_code")
        team_id = grant["team_id"]
        return {
            "access_token": f"xoxb-{team_id.lower()}-fake-token",
            "token_type": "bot",
            "scope": grant.get("scope", ""),
            "bot_user_id": BOT_USER_ID,
            "app_id": APP_ID,
            "team": {"id": team_id, "name": grant.get("team_name", team_id)},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": grant.get("user_id", "U0INSTALLER")},
        }

    def users_info(self, args: Args) -> Response:
        person = self._user(_required(args, "user", "user_not_found"))
        return {"user": person.to_slack(self.ws.now())}

    def users_list(self, args: Args) -> Response:
        now = self.ws.now()
        members = [p.to_slack(now) for p in self.ws.people.values()]
        page, next_cursor = _paginate(members, args)
        return {
            "members": page,
            "cache_ts": int(now),
            "response_metadata": {"next_cursor": next_cursor},
        }

    # -- conversations -------------------------------------------------------------------

    def conversations_info(self, args: Args) -> Response:
        channel = self._visible(_required(args, "channel", "channel_not_found"))
        info = channel.to_slack()
        # Like Slack, the member count is only computed when asked for.
        if _flag(args, "include_num_members") and not channel.is_im:
            info["num_members"] = len(channel.members)
        return {"channel": info}

    def conversations_members(self, args: Args) -> Response:
        channel = self._visible(_required(args, "channel", "channel_not_found"))
        page, next_cursor = _paginate(list(channel.members), args)
        return {"members": page, "response_metadata": {"next_cursor": next_cursor}}

    def conversations_list(self, args: Args) -> Response:
        """Channels the app can see: every public one, and private ones it is in (as Slack,
        a private channel the app is not in is not listed, though its name is taken)."""
        types = set(str(args.get("types") or "public_channel").split(","))
        unknown = types - {"public_channel", "private_channel", "mpim", "im"}
        if unknown:
            raise SlackError("invalid_types")
        exclude_archived = _flag(args, "exclude_archived")

        def listed(channel: Channel) -> bool:
            if channel.is_im or channel.is_mpim:
                return False  # the app asks for channels only
            if exclude_archived and channel.is_archived:
                return False
            if channel.is_private:
                return "private_channel" in types and BOT_USER_ID in channel.members
            return "public_channel" in types

        found = [c.to_slack() for c in self.ws.channels.values() if listed(c)]
        page, next_cursor = _paginate(found, args)
        return {"channels": page, "response_metadata": {"next_cursor": next_cursor}}

    def conversations_open(self, args: Args) -> Response:
        if args.get("channel"):
            channel = self._channel(str(args["channel"]))
            already_open = True
        else:
            users = _user_list(args.get("users"))
            if not users:
                raise SlackError("users_list_not_supplied")
            if len(users) > 8:
                raise SlackError("too_many_users")
            for user_id in users:
                self._user(user_id)
            if set(users) == {BOT_USER_ID}:
                raise SlackError("cannot_dm_bot")
            channel, already_open = self.ws.open_dm(users)
        answer: Response = {"channel": {"id": channel.id}}
        if _flag(args, "return_im"):
            answer["channel"] = channel.to_slack()
        if already_open:
            answer |= {"no_op": True, "already_open": True}
        return answer

    def conversations_invite(self, args: Args) -> Response:
        channel = self._channel(_required(args, "channel", "channel_not_found"), member=True)
        users = _user_list(args.get("users"))
        if not users:
            raise SlackError("no_user")
        if channel.is_archived:
            raise SlackError("is_archived")
        errors: list[dict[str, Any]] = []
        for user_id in users:
            if self.ws.person(user_id) is None:
                errors.append({"user": user_id, "ok": False, "error": "user_not_found"})
            elif user_id == BOT_USER_ID:
                errors.append({"user": user_id, "ok": False, "error": "cant_invite_self"})
            elif user_id in channel.members:
                errors.append({"user": user_id, "ok": False, "error": "already_in_channel"})
        if errors:
            raise SlackError(errors[0]["error"], errors=errors)
        channel.members.extend(users)
        if self.on_invited is not None:
            self.on_invited(channel.id, users)
        return {"channel": channel.to_slack()}

    def conversations_join(self, args: Args) -> Response:
        """The app joins a public channel by itself; a private one must invite it."""
        channel = self._channel(_required(args, "channel", "channel_not_found"))
        if channel.is_private or channel.is_im or channel.is_mpim:
            raise SlackError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise SlackError("is_archived")
        answer: Response = {"channel": channel.to_slack()}
        if BOT_USER_ID in channel.members:
            answer["warning"] = "already_in_channel"
        else:
            channel.members.append(BOT_USER_ID)
            answer["channel"] = channel.to_slack()
        return answer

    def conversations_create(self, args: Args) -> Response:
        name = _required(args, "name", "invalid_name_required")
        if len(name) > 80:
            raise SlackError("invalid_name_maxlength")
        if not set(name) <= CHANNEL_NAME_ALPHABET:
            raise SlackError("invalid_name_specials")
        if any(c.name == name for c in self.ws.channels.values()):
            raise SlackError("name_taken")
        channel = Channel(
            self.ws.next_id("C"),
            name,
            is_private=_flag(args, "is_private"),
            members=[BOT_USER_ID],
            created=int(self.ws.now()),
        )
        self.ws.channels[channel.id] = channel
        return {"channel": channel.to_slack()}

    def conversations_archive(self, args: Args) -> Response:
        channel = self._channel(_required(args, "channel", "channel_not_found"), member=True)
        if channel.is_archived:
            raise SlackError("already_archived")
        channel.is_archived = True
        return {}

    def conversations_history(self, args: Args) -> Response:
        """Top-level messages (thread parents, not replies), newest first, as Slack pages
        them; message metadata only when `include_all_metadata` asks for it."""
        channel = self._channel(_required(args, "channel", "channel_not_found"), member=True)
        within = _between(args)
        messages = [
            copy.deepcopy(m)
            for m in reversed(self.ws.messages_by_channel.get(channel.id, []))
            if within(m) and m.get("thread_ts", m["ts"]) == m["ts"]
        ]
        if not _flag(args, "include_all_metadata"):
            for message in messages:
                message.pop("metadata", None)
        page, next_cursor = _paginate(messages, args)
        return {
            "messages": page,
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def conversations_replies(self, args: Args) -> Response:
        """A thread: its parent first, then the replies between `oldest` and `latest`, oldest
        first, as Slack pages them. A message with no replies is a thread of one."""
        channel = self._channel(_required(args, "channel", "channel_not_found"), member=True)
        thread_ts = _required(args, "ts", "thread_not_found")
        parent = self.ws.find_message(channel.id, thread_ts)
        if parent is None or parent.get("thread_ts", thread_ts) != thread_ts:
            raise SlackError("thread_not_found")
        within = _between(args)
        replies = [
            m
            for m in self.ws.messages_by_channel.get(channel.id, [])
            if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts and within(m)
        ]
        messages = [copy.deepcopy(m) for m in [parent, *replies]]
        if not _flag(args, "include_all_metadata"):
            for message in messages:
                message.pop("metadata", None)
        page, next_cursor = _paginate(messages, args)
        return {
            "messages": page,
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    # -- canvases ------------------------------------------------------------------------

    def _document(self, args: Args) -> dict[str, Any] | None:
        document = args.get("document_content")
        if document is not None and not (
            isinstance(document, dict) and document.get("type") == "markdown"
        ):
            raise SlackError("invalid_arguments", detail="document_content must be markdown")
        return document

    def conversations_canvases_create(self, args: Args) -> Response:
        channel = self._channel(_required(args, "channel_id", "channel_not_found"), member=True)
        if any(c.channel_id == channel.id for c in self.ws.canvases.values()):
            raise SlackError("channel_canvas_already_exists")
        canvas = Canvas(self.ws.next_id("F", FILE_ID_WIDTH), None, self._document(args), channel.id)
        self.ws.canvases[canvas.id] = canvas
        return {"canvas_id": canvas.id}

    def canvases_edit(self, args: Args) -> Response:
        """Slack applies one change per call; the fake knows the whole-document ones."""
        canvas = self.ws.canvases.get(_required(args, "canvas_id", "canvas_not_found"))
        if canvas is None:
            raise SlackError("canvas_not_found")
        changes = args.get("changes")
        if not isinstance(changes, list) or len(changes) != 1 or not isinstance(changes[0], dict):
            raise SlackError("invalid_arguments", detail="changes must hold exactly one change")
        change = changes[0]
        operation = change.get("operation")
        if operation not in ("replace", "insert_at_start", "insert_at_end"):
            raise SlackError("invalid_arguments", detail=f"unsupported operation {operation!r}")
        if change.get("section_id"):
            raise SlackError("invalid_arguments", detail="the fake does not know sections")
        document = self._document({"document_content": change.get("document_content")})
        if document is None:
            raise SlackError("invalid_arguments", detail="document_content is required")
        old = (canvas.document_content or {}).get("markdown", "")
        new = document.get("markdown", "")
        markdown = {
            "replace": new,
            "insert_at_start": new + old,
            "insert_at_end": old + new,
        }[operation]
        canvas.document_content = {"type": "markdown", "markdown": markdown}
        return {}

    def canvases_create(self, args: Args) -> Response:
        channel_id = args.get("channel_id")
        if channel_id:
            self._channel(str(channel_id), member=True)
        title = args.get("title")
        canvas = Canvas(
            self.ws.next_id("F", FILE_ID_WIDTH), title, self._document(args), channel_id
        )
        self.ws.canvases[canvas.id] = canvas
        return {"canvas_id": canvas.id}

    # -- chat ----------------------------------------------------------------------------

    def _message_body(self, args: Args) -> dict[str, Any]:
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        body: dict[str, Any] = {"text": args.get("text") or ""}
        for key in ("blocks", "attachments", "metadata"):
            if args.get(key) is not None:
                body[key] = args[key]
        return body

    def _from_the_app(self, body: dict[str, Any]) -> dict[str, Any]:
        """A message the app posts in a channel, as Slack stores it (with the next ts)."""
        return {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": "",
            **body,
            "ts": self.ws.next_ts(),
        }

    def chat_post_message(self, args: Args) -> Response:
        channel = self._channel(_required(args, "channel", "channel_not_found"), member=True)
        if channel.is_archived:
            raise SlackError("is_archived")
        message = self._from_the_app(self._message_body(args))
        if args.get("thread_ts"):
            if self.ws.find_message(channel.id, str(args["thread_ts"])) is None:
                raise SlackError("thread_not_found")
            message["thread_ts"] = str(args["thread_ts"])
        self.ws.add_message(channel.id, message)
        return {"channel": channel.id, "ts": message["ts"], "message": copy.deepcopy(message)}

    def chat_get_permalink(self, args: Args) -> Response:
        """A message's link, as Slack makes it (a reply's names its thread). Slack answers
        for any conversation the app can see, in it or not."""
        channel = self._visible(_required(args, "channel", "channel_not_found"))
        ts = _required(args, "message_ts", "message_not_found")
        message = self.ws.find_message(channel.id, ts)
        if message is None:
            raise SlackError("message_not_found")
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel.id}"
        return {"channel": channel.id, "permalink": link}

    def chat_post_ephemeral(self, args: Args) -> Response:
        channel = self._channel(_required(args, "channel", "channel_not_found"), member=True)
        user_id = _required(args, "user", "user_not_found")
        self._user(user_id)
        if user_id not in channel.members:
            raise SlackError("user_not_in_channel")
        ephemeral = {
            "channel": channel.id,
            "user": user_id,
            "ts": self.ws.next_ts(),
            **self._message_body(args),
        }
        if args.get("thread_ts"):
            ephemeral["thread_ts"] = str(args["thread_ts"])
        self.ws.ephemerals.append(ephemeral)
        return {"message_ts": ephemeral["ts"]}

    def chat_update(self, args: Args) -> Response:
        channel = self._channel(_required(args, "channel", "channel_not_found"))
        message = self.ws.find_message(channel.id, _required(args, "ts", "message_not_found"))
        if message is None:
            raise SlackError("message_not_found")
        if message.get("user") != BOT_USER_ID:
            raise SlackError("cant_update_message")
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in args:
                message[key] = args[key]
        message["edited"] = {"user": BOT_USER_ID, "ts": self.ws.next_ts()}
        return {
            "channel": channel.id,
            "ts": message["ts"],
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def chat_delete(self, args: Args) -> Response:
        channel = self._channel(_required(args, "channel", "channel_not_found"))
        ts = _required(args, "ts", "message_not_found")
        message = self.ws.find_message(channel.id, ts)
        if message is None:
            raise SlackError("message_not_found")
        if message.get("user") != BOT_USER_ID:
            raise SlackError("cant_delete_message")
        self.ws.messages_by_channel[channel.id].remove(message)
        return {"channel": channel.id, "ts": ts}

    # -- views ---------------------------------------------------------------------------

    def _render_view(
        self, view: dict[str, Any], view_id: str, root_id: str, previous_id: str | None
    ) -> dict[str, Any]:
        """The view as Slack echoes it back: the app's fields plus Slack's bookkeeping."""
        revision = self._view_revisions.get(view_id, 0) + 1
        self._view_revisions[view_id] = revision
        return {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view.get("type"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": _view_hash(view_id, revision),
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": previous_id,
            "root_view_id": root_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }

    def _check_external_id(self, view: dict[str, Any], own_id: str | None = None) -> None:
        external_id = view.get("external_id")
        if external_id and any(
            v["external_id"] == external_id and v["id"] != own_id for v in self.ws.views.values()
        ):
            raise SlackError("duplicate_external_id")

    def views_open(self, args: Args) -> Response:
        if not (args.get("trigger_id") or args.get("interactivity_pointer")):
            raise SlackError("invalid_arguments", detail="trigger_id is required")
        view = args.get("view") or {}
        self._check_external_id(view)
        view_id = self.ws.next_id("V")
        rendered = self._render_view(view, view_id, view_id, None)
        self.ws.views[view_id] = rendered
        self.ws.view_stacks.append([view_id])
        owner = self._trigger_owner(args)
        if owner is not None:
            self.ws.modal_owners[view_id] = owner
        return {"view": copy.deepcopy(rendered)}

    def _trigger_owner(self, args: Args) -> str | None:
        trigger = args.get("trigger_id") or args.get("interactivity_pointer")
        return self.ws.triggers.get(str(trigger))

    def _stack_for(self, owner: str | None) -> list[str]:
        """The modal stack a push lands on: the trigger's person's newest stack, as Slack
        finds it from the trigger; the newest stack when the trigger is not one we made."""
        if owner is not None:
            for stack in reversed(self.ws.view_stacks):
                if self.ws.modal_owners.get(stack[0]) == owner:
                    return stack
        return self.ws.view_stacks[-1]

    def views_push(self, args: Args) -> Response:
        if not (args.get("trigger_id") or args.get("interactivity_pointer")):
            raise SlackError("invalid_arguments", detail="trigger_id is required")
        if not self.ws.view_stacks:
            raise SlackError("not_found", detail="no open modal to push onto")
        stack = self._stack_for(self._trigger_owner(args))
        if len(stack) >= MAX_VIEW_STACK:
            raise SlackError("push_limit_reached")
        view = args.get("view") or {}
        self._check_external_id(view)
        view_id = self.ws.next_id("V")
        rendered = self._render_view(view, view_id, stack[0], stack[-1])
        self.ws.views[view_id] = rendered
        stack.append(view_id)
        return {"view": copy.deepcopy(rendered)}

    def answer_submission(self, view_id: str, answer: dict[str, Any]) -> None:
        """What Slack does with the app's reply to a view_submission: close the view (an
        empty ack), close the whole stack (`clear`), replace it (`update`), push another
        (`push`), or keep it open showing errors (`errors`)."""
        stack = next((s for s in self.ws.view_stacks if view_id in s), None)
        if stack is None:
            return
        action = answer.get("response_action")
        if action == "errors":
            return
        if action == "update":
            current = self.ws.views[view_id]
            self.ws.views[view_id] = self._render_view(
                dict(answer.get("view") or {}),
                view_id,
                current["root_view_id"],
                current["previous_view_id"],
            )
            return
        if action == "push":
            pushed_id = self.ws.next_id("V")
            self.ws.views[pushed_id] = self._render_view(
                dict(answer.get("view") or {}), pushed_id, stack[0], stack[-1]
            )
            stack.append(pushed_id)
            return
        if action == "clear":
            del stack[:]
        else:
            del stack[stack.index(view_id) :]
        if not stack:
            self.ws.view_stacks.remove(stack)

    def respond(self, target: ResponseTarget, args: Args) -> None:
        """What Slack does with a message posted to a ``response_url``: replace or delete the
        message the click came from, post in the channel (``in_channel``), or show it only to
        the person (ephemeral, the default)."""
        body = {k: args[k] for k in ("text", "blocks", "attachments") if args.get(k) is not None}
        if target.message_ts and (
            _flag(args, "delete_original") or _flag(args, "replace_original")
        ):
            source = self._original(target)
            if source is not None:
                container, original = source
                if _flag(args, "delete_original"):
                    container.remove(original)
                else:
                    for key in ("text", "blocks", "attachments"):
                        original.pop(key, None)
                    original.update(body)
                return
        if not body:
            return
        if args.get("response_type") == "in_channel":
            message = self._from_the_app(body)
            self.ws.add_message(target.channel_id, message)
            return
        self.ws.ephemerals.append(
            {
                "channel": target.channel_id,
                "user": target.user_id,
                "ts": self.ws.next_ts(),
                "text": "",
                **body,
            }
        )

    def _original(
        self, target: ResponseTarget
    ) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
        """The message a response_url's click came from, and the list that holds it."""
        if target.ephemeral:
            container = self.ws.ephemerals
            found = next(
                (
                    e
                    for e in container
                    if e["ts"] == target.message_ts and e["user"] == target.user_id
                ),
                None,
            )
        else:
            container = self.ws.messages_by_channel.get(target.channel_id, [])
            found = self.ws.find_message(target.channel_id, str(target.message_ts))
        return (container, found) if found is not None else None

    def views_update(self, args: Args) -> Response:
        view_id, external_id = args.get("view_id"), args.get("external_id")
        if not (view_id or external_id):
            raise SlackError("invalid_arguments", detail="view_id or external_id is required")
        candidates = list(self.ws.views.values()) + list(self.ws.homes.values())
        current = next(
            (
                v
                for v in candidates
                if (view_id and v["id"] == view_id)
                or (external_id and v["external_id"] == external_id)
            ),
            None,
        )
        if current is None:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = dict(args.get("view") or {})
        view.setdefault("external_id", current["external_id"])
        self._check_external_id(view, current["id"])
        rendered = self._render_view(
            view, current["id"], current["root_view_id"], current["previous_view_id"]
        )
        if current["type"] == "home":
            user_id = next(u for u, v in self.ws.homes.items() if v["id"] == current["id"])
            self.ws.homes[user_id] = rendered
        else:
            self.ws.views[current["id"]] = rendered
        return {"view": copy.deepcopy(rendered)}

    def views_publish(self, args: Args) -> Response:
        user_id = _required(args, "user_id", "user_not_found")
        self._user(user_id)
        current = self.ws.homes.get(user_id)
        if current and args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view_id = current["id"] if current else self.ws.next_id("V")
        rendered = self._render_view(args.get("view") or {}, view_id, view_id, None)
        self.ws.homes[user_id] = rendered
        return {"view": copy.deepcopy(rendered)}

    # -- files ---------------------------------------------------------------------------

    def files_get_upload_url_external(self, args: Args) -> Response:
        filename = _required(args, "filename")
        try:
            length = int(_required(args, "length"))
        except ValueError:
            raise SlackError("invalid_arguments", detail="length must be an integer") from None
        file = UploadedFile(
            self.ws.next_id("F", FILE_ID_WIDTH),
            filename,
            length,
            created=int(self.ws.now()),
            title=filename,
            alt_txt=args.get("alt_txt") or None,
        )
        self.ws.files[file.id] = file
        return {"upload_url": self.upload_url(file.id), "file_id": file.id}

    def receive_upload(self, file_id: str, content: bytes) -> bool:
        """Store bytes POSTed to an upload URL; False if no such pending upload."""
        with self.ws.lock:
            file = self.ws.files.get(file_id)
            if file is None or file.completed:
                return False
            file.content, file.uploaded = content, True
            return True

    def files_complete_upload_external(self, args: Args) -> Response:
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments", detail="files must be a non-empty JSON array")
        channel_ids = _user_list(args.get("channels")) or (
            [str(args["channel_id"])] if args.get("channel_id") else []
        )
        channels = [self._channel(c, member=True) for c in channel_ids]
        files: list[UploadedFile] = []
        for entry in entries:
            file = self.ws.files.get(str(entry.get("id")))
            if file is None or not file.uploaded:
                raise SlackError("file_not_found", detail=f"no uploaded file {entry.get('id')}")
            file.title = entry.get("title") or file.title
            file.completed = True
            file.initial_comment = args.get("initial_comment")
            file.thread_ts = args.get("thread_ts")
            file.channel = channels[0].id if channels else None
            files.append(file)
        # Sharing a file posts a message carrying it, which is what users see in the channel.
        for channel in channels:
            message: dict[str, Any] = {
                "type": "message",
                "subtype": "file_share",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "text": args.get("initial_comment") or "",
                "files": [f.to_slack() for f in files],
                "upload": True,
                "ts": self.ws.next_ts(),
            }
            if args.get("thread_ts"):
                message["thread_ts"] = str(args["thread_ts"])
            self.ws.add_message(channel.id, message)
        return {"files": [f.to_slack() for f in files]}

    def files_info(self, args: Args) -> Response:
        file = self.ws.files.get(_required(args, "file", "file_not_found"))
        if file is None or not file.completed:
            raise SlackError("file_not_found")
        return {"file": file.to_slack(), "comments": [], "response_metadata": {"next_cursor": ""}}
