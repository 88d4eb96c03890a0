"""What a listener is given, in place of Bolt's dozen keyword arguments.

A feature's listeners are module-level functions taking one small request: a `Click` (a
button, a select, an overflow) or a `Submission` (a modal saved). The request says who, in
which team, carries the Web API client and can answer the person; a click also carries the
community its payload names, already loaded and checked against the request's team and user
(`bot.services.access`). A form's save is checked by the service that saves it. The feature's `register()` only wires: `registry.click(...)`, `registry.submission(...)`.

What every listener would otherwise write out by hand happens here, once: the ack of a click,
reading the community id from the payload as forged until checked, and the "coordinators only"
refusal, with one wording (`coordinators_only="close it"`: "Only this community's coordinators
can close it.").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Self, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.services.communities import CommunityRecord
from bot.services.errors import (
    AlreadyDecided,
    CommunityError,
    EditConflict,
    InvalidAnswers,
    NoCommunity,
    NoJoinRequest,
    NotCoordinator,
)
from bot.text import mention
from handlers.access import community_pressed
from handlers.blocks import Block, metadata_of
from handlers.cop import only_coordinators_can
from handlers.views import open_form, tell_privately
from storage.db import Database, after_ack

if TYPE_CHECKING:
    from handlers.registry import Registry

# Where a button carries its community's id: a function of the action. Whatever it returns is
# checked, never trusted.
CommunityOfAction = Callable[[dict[str, Any]], Any]


def button_value(action: dict[str, Any]) -> Any:
    """The community id is the button's value."""
    return action.get("value")


@dataclass(frozen=True, kw_only=True)
class _Request:
    """What every request carries: who asked, in which team, and how to answer them."""

    registry: Registry
    team_id: str
    user_id: str
    body: dict[str, Any]
    client: AsyncWebClient
    logger: logging.Logger
    bot_user_id: str | None = None  # the app's own user in this workspace

    @classmethod
    def of(
        cls,
        registry: Registry,
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
        **own: Any,
    ) -> Self:
        """From Bolt's arguments, read the same way for every kind; `own`, the kind's fields."""
        return cls(
            registry=registry,
            team_id=context.team_id or "",
            user_id=body["user"]["id"],
            body=body,
            client=client,
            logger=logger,
            bot_user_id=context.bot_user_id,
            **own,
        )

    @property
    def database(self) -> Database:
        return self.registry.runtime.database

    @property
    def clock(self) -> Clock:
        return self.registry.runtime.clock


@dataclass(frozen=True, kw_only=True)
class Click(_Request):
    """A person pressed a button (or chose from a select) in a message, App Home or a modal.
    Already acked: a click's answer, if any, goes to the person with `tell`."""

    action: dict[str, Any]
    respond: AsyncRespond
    record: CommunityRecord | None = None  # when wired with `community=`

    @property
    def value(self) -> str:
        return str(self.action.get("value") or "")

    @property
    def trigger_id(self) -> str:
        return str(self.body.get("trigger_id") or "")

    @property
    def channel_id(self) -> str | None:
        """The conversation the button was in (None in App Home and modals)."""
        channel = self.body.get("channel") or {}
        return channel.get("id") if isinstance(channel, dict) else None

    @property
    def view(self) -> dict[str, Any]:
        """The view the button sits in (a modal or App Home); {} in a message."""
        return self.body.get("view") or {}

    @property
    def community(self) -> CommunityRecord:
        """The checked community; only for listeners wired with `community=`."""
        if self.record is None:
            raise RuntimeError("this click was wired without community=")
        return self.record

    async def tell(self, text: str, blocks: list[Block] | None = None) -> None:
        """Answer only the person who clicked: ephemeral where the button was in a channel,
        else a direct message."""
        await tell_privately(
            self.client, user_id=self.user_id, text=text, channel_id=self.channel_id, blocks=blocks
        )

    async def tell_directly(self, text: str) -> None:
        """Answer only the person who clicked, by direct message wherever the button was."""
        await tell_privately(self.client, user_id=self.user_id, text=text)

    async def open_form(self, view: dict[str, Any]) -> str | None:
        """Open `view` as a modal: its id, or None with the person told by direct message
        that Slack took too long."""
        return await open_form(
            self.client,
            trigger_id=self.trigger_id,
            view=view,
            logger=self.logger,
            tell=self.tell_directly,
        )


@dataclass(frozen=True, kw_only=True)
class Submission(_Request):
    """A person saved a modal. Not yet acked: the listener answers with `close()`,
    `errors(...)` or `ack(...)` (a new view) within Slack's 3 seconds, then does slow work."""

    view: dict[str, Any]
    ack: AsyncAck

    @property
    def metadata(self) -> dict[str, Any]:
        """The private_metadata we put on the view; {} if forged or not ours."""
        return metadata_of(self.view)

    @property
    def state(self) -> dict[str, Any]:
        return (self.view.get("state") or {}).get("values") or {}

    async def close(self) -> None:
        await self.ack(response_action="clear")

    async def errors(self, errors: dict[str, str]) -> None:
        """Keep the form open with each message under its field; nothing is saved."""
        await self.ack(response_action="errors", errors=errors)

    async def tell(self, text: str, blocks: list[Block] | None = None) -> None:
        """A note to the person after the form has closed (a direct message)."""
        await tell_privately(self.client, user_id=self.user_id, text=text, blocks=blocks)


def refusal(
    error: CommunityError, *, coordinators_can: str = "change it", then: str = "Nothing was saved."
) -> str:
    """What a person is told when a change is refused: one wording for each kind of refusal.
    `coordinators_can` is what only coordinators may do; `then`, what became of the change."""
    if isinstance(error, NotCoordinator):
        said = only_coordinators_can(coordinators_can)
    elif isinstance(error, EditConflict):
        said = (
            "Someone else saved this after you opened it: close this form and open it again "
            "to see their changes."
        )
    elif isinstance(error, NoCommunity):
        said = "This community no longer exists."
    elif isinstance(error, NoJoinRequest):
        said = "That request no longer exists."
    elif isinstance(error, AlreadyDecided):
        who = f" by {mention(error.decided_by)}" if error.decided_by else ""
        said = f"This request was already {error.state}{who}."
    elif isinstance(error, InvalidAnswers):
        said = " ".join(error.errors.values())
    else:
        said = str(error)
    return f"{said} {then}".strip()


_Wrapper = TypeVar("_Wrapper", bound=Callable[..., Awaitable[None]])


def _named(wrapper: _Wrapper, kind: str, listener: Callable[..., Awaitable[None]]) -> _Wrapper:
    """Name the wrapper after its listener, so logs and tracebacks say `click:edit_list`."""
    wrapper.__qualname__ = wrapper.__name__ = f"{kind}:{listener.__qualname__}"
    return wrapper


ClickListener = Callable[[Click], Awaitable[None]]
SubmissionListener = Callable[[Submission], Awaitable[None]]


def wire_click(
    registry: Registry,
    action_id: str | re.Pattern[str],
    listener: ClickListener,
    *,
    community: CommunityOfAction | None = None,
    coordinators_only: str | None = None,
) -> None:
    """Ack at once, load the community the action names (the person told privately if they
    may not see it), refuse anyone but its coordinators when `coordinators_only` says what
    only they may do, then call `listener`."""
    if coordinators_only is not None and community is None:
        raise ValueError("coordinators_only needs community= to know whose coordinators")

    async def on_click(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        await ack()
        after_ack()
        click = Click.of(registry, body, client, context, logger, action=action, respond=respond)
        if community is not None:
            record = await community_pressed(
                registry.runtime.database,
                client,
                team_id=click.team_id,
                user_id=click.user_id,
                community_id=community(action),
            )
            if record is None:
                return
            if coordinators_only is not None and not record.is_coordinator(click.user_id):
                await click.tell(only_coordinators_can(coordinators_only))
                return
            click = replace(click, record=record)
        await listener(click)

    registry.app.action(action_id)(_named(on_click, "click", listener))


def wire_submission(
    registry: Registry, callback_id: str | re.Pattern[str], listener: SubmissionListener
) -> None:
    """Call `listener`, which acks, with the saved form. Who may save is checked by the
    service the listener calls, where the change is saved, whatever the view's metadata says."""

    async def on_submission(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        async def ack_then_give_way(**answer: Any) -> None:
            await ack(**answer)
            after_ack()  # the rest of the listener's work waits behind requests' acks

        submission = Submission.of(
            registry, body, client, context, logger, view=view, ack=ack_then_give_way
        )
        await listener(submission)

    registry.app.view(callback_id)(_named(on_submission, "submission", listener))
