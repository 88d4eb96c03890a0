"""Every message a scheduled row posts goes out once, even when the row is tried again.

A row is tried again when its last attempt's outcome is unknown: the process died after Slack
took the message but before the row was marked sent, or the answer was lost. So the dispatcher
hands each sender a client whose `chat_postMessage` marks the post with the row's id (and which
of the row's posts it is) as message metadata, and which, on a second or later attempt, first
looks in the conversation's recent history for that post: a channel's own, or for a person the
DM that `conversations.open` finds. Found, the earlier post is returned as if just made.

Every other method passes straight through to the team's client.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, cast

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

if TYPE_CHECKING:
    from bot.dispatch import Due

# Message metadata marking a post as (part of) the delivery of one scheduled row.
SCHEDULED_EVENT = "cultivate_scheduled_send"
HISTORY_PAGES = 2  # how far back (in pages of 100 messages) to look for an earlier delivery


class _OncePerRow:
    def __init__(self, client: AsyncWebClient, send_id: int, retrying: bool) -> None:
        self._client = client
        self.send_id = send_id
        self._retrying = retrying
        self._posts: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def chat_postMessage(self, *, channel: str, **kwargs: Any) -> AsyncSlackResponse:
        # A row may post several messages (one to each coordinator, say): each is told apart
        # by where it goes and how many the row posted there before it, as the caller named
        # the conversation, so the key is the same on every attempt.
        part = f"{channel}#{self._posts[channel]}"
        self._posts[channel] += 1
        if self._retrying:
            earlier = await self._earlier_post(channel, part, kwargs.get("thread_ts"))
            if earlier is not None:
                return earlier
        kwargs["metadata"] = {
            "event_type": SCHEDULED_EVENT,
            "event_payload": {"send_id": self.send_id, "part": part},
        }
        return await self._client.chat_postMessage(channel=channel, **kwargs)

    async def _earlier_post(
        self, channel: str, part: str, thread_ts: str | None
    ) -> AsyncSlackResponse | None:
        conversation = channel
        if channel.startswith(("U", "W")):  # a person: the post went to the DM with the app
            opened = await self._client.conversations_open(users=channel)
            conversation = str(opened["channel"]["id"])
        cursor = None
        for _ in range(HISTORY_PAGES):
            if thread_ts:
                page = await self._client.conversations_replies(
                    channel=conversation,
                    ts=thread_ts,
                    include_all_metadata=True,
                    limit=100,
                    cursor=cursor,
                )
            else:
                page = await self._client.conversations_history(
                    channel=conversation, include_all_metadata=True, limit=100, cursor=cursor
                )
            for message in page.get("messages") or []:
                if _marks(message, self.send_id, part):
                    return AsyncSlackResponse(
                        client=self._client,
                        http_verb="POST",
                        api_url="chat.postMessage",
                        req_args={},
                        data={
                            "ok": True,
                            "channel": conversation,
                            "ts": message["ts"],
                            "message": message,
                        },
                        headers={},
                        status_code=200,
                    )
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None


def _marks(message: dict[str, Any], send_id: int, part: str) -> bool:
    metadata: dict[str, Any] = message.get("metadata") or {}
    payload: dict[str, Any] = metadata.get("event_payload") or {}
    if metadata.get("event_type") != SCHEDULED_EVENT or payload.get("send_id") != send_id:
        return False
    # Posts made before posts carried a part were a row's only post in its channel.
    return payload.get("part", part) == part


def once_per_row(client: AsyncWebClient, send_id: int, attempts: int) -> AsyncWebClient:
    """The client a sender gets for the row `send_id`, on its `attempts`-th try."""
    if isinstance(client, _OncePerRow) and client.send_id == send_id:
        return cast(AsyncWebClient, client)
    return cast(AsyncWebClient, _OncePerRow(client, send_id, retrying=attempts > 1))


async def post_once(
    client: AsyncWebClient,
    due: Due,
    *,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
) -> str:
    """Post a scheduled row's message in a channel, once, and return its ts.

    The client the dispatcher hands a sender already does this for every post; this wraps
    any other client the same way."""
    response = await once_per_row(client, due.id, due.attempts).chat_postMessage(
        channel=channel, text=text, blocks=blocks
    )
    return str(response["ts"])
