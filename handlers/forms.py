"""The catalogue's fields as Block Kit inputs, and submitted view state back as answers.

One function each way, so every modal built from the catalogue (stage forms, list items)
renders and reads its inputs the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from bot.catalogue import (
    PERSON_NAME,
    PERSON_ORGANISATION,
    PERSON_USER,
    Field,
    Kind,
    Option,
    Question,
)
from bot.services.document import Line, Person, Strong
from bot.services.errors import CommunityError, InvalidAnswers
from bot.services.writing import inline
from bot.stand_ins import FORMER_MEMBER
from bot.text import escape, mention, truncate
from handlers.blocks import Block, plain
from handlers.requests import refusal

if TYPE_CHECKING:
    from handlers.requests import Submission

RADIO_LIMIT = 5  # more options than this read better as a select

T = TypeVar("T")


def input_block(spec: Field, value: Any, *, block_id: str | None = None) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id or spec.key,
        "label": plain(truncate(spec.label, 2000)),
        "optional": not spec.required,
        # The action_id repeats the block_id: Slack wants both unique within a view.
        "element": {**_element(spec, value), "action_id": block_id or spec.key},
    }
    if spec.hint:
        block["hint"] = plain(spec.hint)
    return block


def _element(spec: Field, value: Any) -> Block:
    element: Block
    match spec.kind:
        case Kind.TEXT | Kind.LINE:
            element = {
                "type": "plain_text_input",
                "multiline": spec.kind == Kind.TEXT,
                "max_length": min(spec.max_length, 3000),
            }
            if isinstance(value, str) and value:
                element["initial_value"] = value
        case Kind.CHOICE:
            kind = "radio_buttons" if len(spec.options) <= RADIO_LIMIT else "static_select"
            element = {"type": kind, "options": [_option(o) for o in spec.options]}
            chosen = next((o for o in spec.options if o.value == value), None)
            if chosen:
                element["initial_option"] = _option(chosen)
        case Kind.CHOICES:
            element = {"type": "checkboxes", "options": [_option(o) for o in spec.options]}
            chosen = [_option(o) for o in spec.options if o.value in (value or [])]
            if chosen:
                element["initial_options"] = chosen
        case Kind.USER | Kind.USERS | Kind.DATE | Kind.TIME:
            kind, initial, shown = _PICKERS[spec.kind]
            element = {"type": kind}
            if value:
                element[initial] = shown(value)
        case Kind.NUMBER:
            element = {
                "type": "number_input",
                "is_decimal_allowed": False,
                "min_value": str(spec.minimum),
                "max_value": str(spec.maximum),
            }
            if value not in (None, ""):
                element["initial_value"] = str(value)
        case Kind.ZONE:
            # Slack asks Cultivate for the options as the person types (block_suggestion).
            element = {"type": "external_select", "min_query_length": 1}
            if value:
                element["initial_option"] = zone_option(str(value))
        case _:
            raise ValueError(f"{spec.kind} has no input element")
    if spec.placeholder and element["type"] not in ("radio_buttons", "checkboxes"):
        element["placeholder"] = plain(spec.placeholder)
    return element


# A picker's element type, the key of its initial value, and that value as Slack wants it.
_PICKERS: dict[Kind, tuple[str, str, Callable[[Any], Any]]] = {
    Kind.USER: ("users_select", "initial_user", lambda value: value),
    Kind.USERS: ("multi_users_select", "initial_users", list),
    Kind.DATE: ("datepicker", "initial_date", lambda value: value),
    Kind.TIME: ("timepicker", "initial_time", lambda value: str(value)[:5]),  # "HH:MM"
}


def zone_option(zone: str) -> Block:
    """A time zone as an option: its IANA name is both what is shown and what is kept."""
    return {"text": plain(zone, emoji=False), "value": zone}


def _option(option: Option) -> Block:
    return {"text": plain(option.label), "value": option.value}


def read_state(fields: tuple[Field, ...], state: dict[str, Any]) -> dict[str, Any]:
    """Answers from a view_submission's `view.state.values`, for the fields present in it."""
    values = state.get("values") or {}
    answers: dict[str, Any] = {}
    for spec in fields:
        element = (values.get(spec.key) or {}).get(spec.key)
        if isinstance(element, dict):
            answers[spec.key] = _value_of(spec, element)
    return answers


def _value_of(spec: Field, element: dict[str, Any]) -> Any:
    match spec.kind:
        case Kind.TEXT | Kind.LINE:
            return element.get("value")
        case Kind.CHOICE | Kind.ZONE:
            return (element.get("selected_option") or {}).get("value")
        case Kind.CHOICES:
            return [o.get("value") for o in element.get("selected_options") or []]
        case Kind.NUMBER:
            return element.get("value")
        case Kind.USER:
            return element.get("selected_user")
        case Kind.USERS:
            return list(element.get("selected_users") or [])
        case Kind.DATE:
            return element.get("selected_date")
        case Kind.TIME:
            return element.get("selected_time")
    return None


def errors_on_blocks(errors: dict[str, str], block_ids: list[str]) -> dict[str, str]:
    """Slack shows an error only under an input block: move any other error to the first one."""
    shown: dict[str, str] = {}
    for key, message in errors.items():
        target = key if key in block_ids else block_ids[0]
        shown[target] = f"{shown[target]} {message}" if target in shown else message
    return shown


async def refuse_answers(
    submission: Submission,
    refused: CommunityError,
    block_ids: list[str],
    *,
    coordinators_can: str = "change it",
) -> None:
    """A form's save refused: each invalid answer under its field; any other refusal (not a
    coordinator, saved by someone else meanwhile) on the first field. Nothing was saved."""
    if isinstance(refused, InvalidAnswers):
        await submission.errors(errors_on_blocks(refused.errors, block_ids))
    else:
        said = refusal(refused, coordinators_can=coordinators_can)
        await submission.errors({block_ids[0]: said})


async def save_and_close(
    submission: Submission,
    save: Awaitable[T],
    block_ids: list[str],
    *,
    coordinators_can: str = "change it",
) -> T | None:
    """Await the form's save and close the form; if the save is refused, keep the form open
    with the reason (`refuse_answers`) and return None."""
    try:
        saved = await save
    except CommunityError as refused:
        await refuse_answers(submission, refused, block_ids, coordinators_can=coordinators_can)
        return None
    await submission.ack()
    return saved


def mrkdwn(line: Line) -> str:
    """A line of a document as mrkdwn: people as mentions, typed text escaped."""
    parts = []
    for part in line:
        if isinstance(part, Person):
            parts.append(mention(part.user_id))
        elif isinstance(part, Strong):
            parts.append(f"*{escape(part.text)}*")
        else:
            parts.append(escape(part))
    return "".join(parts)


def describe(spec: Field, value: Any) -> str:
    """An answer as mrkdwn for people to read: written as the documents write it
    (`bot.services.writing.inline`, one writer per kind of field), with typed text escaped."""
    if spec.kind in (Kind.LIST, Kind.PEOPLE):
        assert isinstance(spec, Question)
        return "\n".join(f"• {describe_item(spec, item)}" for item in value)
    return mrkdwn(inline(spec, value))


def describe_person(item: dict[str, Any]) -> str:
    """Someone in the workspace as a mention; someone outside it by name, with their
    organisation. (A person erased with `/cop forget` is left without either.)"""
    user, name = item.get(PERSON_USER), item.get(PERSON_NAME)
    organisation = item.get(PERSON_ORGANISATION)
    shown = mention(str(user)) if user else f"*{escape(str(name))}*" if name else FORMER_MEMBER
    if organisation:
        shown += f" ({escape(str(organisation))})"
    return shown


def item_label(question: Question, item: dict[str, Any], number: int) -> str:
    """An item as a select option names it, in plain text (where no mention can be shown)."""
    if question.kind == Kind.PEOPLE:
        name = item.get(PERSON_NAME) or ("someone in Slack" if item.get(PERSON_USER) else "—")
        return truncate(f"{number}. {name}", 75)
    return truncate(str(item.get(question.item_fields[0].key) or "—"), 75)


def describe_item(question: Question, item: dict[str, Any]) -> str:
    """One list item on one line: its first field in bold, the rest after it."""
    if question.kind == Kind.PEOPLE:
        return describe_person(item)
    first, *rest = question.item_fields
    parts = [f"*{describe(first, item[first.key])}*"] if item.get(first.key) else []
    for spec in rest:
        if item.get(spec.key):
            parts.append(f"{spec.label}: {describe(spec, item[spec.key])}")
    return " · ".join(parts)
