"""What counts as a valid, and as an answered, response to the checklist's questions.

Answers are plain JSON-ready values keyed by question: text and one-line text as `str`, a choice
as its option value, several choices or people as a list of strings, a date as "YYYY-MM-DD",
a list question as a list of items (each a dict keyed by its fields).
"""

from __future__ import annotations

from datetime import date, time
from typing import Any
from zoneinfo import available_timezones

from bot.catalogue import PERSON_NAME, PERSON_USER, Field, Kind, Question, Stage

Answers = dict[str, Any]


def field_error(spec: Field, value: Any) -> str | None:
    """Why `value` is not acceptable for `spec`, or None. Slack enforces some of this in the
    client, but a submission can be forged, so the server checks everything again."""
    if is_empty(value):
        return "This is required." if spec.required else None
    match spec.kind:
        case Kind.TEXT | Kind.LINE:
            if not isinstance(value, str):
                return "Expected text."
            if len(value) > spec.max_length:
                return f"Please keep this under {spec.max_length:,} characters (it has {len(value):,})."
        case Kind.CHOICE:
            if value not in {o.value for o in spec.options}:
                return "Please choose one of the options."
        case Kind.CHOICES:
            allowed = {o.value for o in spec.options}
            if not isinstance(value, list) or not set(value) <= allowed:
                return "Please choose from the options."
        case Kind.USER:
            if not _is_user_id(value):
                return "Please choose a person."
        case Kind.USERS:
            if not isinstance(value, list) or not all(_is_user_id(v) for v in value):
                return "Please choose people."
            if len(value) > 100:
                return "Please choose at most 100 people."
        case Kind.DATE:
            try:
                date.fromisoformat(value)
            except (TypeError, ValueError):
                return "Please pick a date."
        case Kind.TIME:
            try:
                time.fromisoformat(value)
            except (TypeError, ValueError):
                return "Please pick a time."
        case Kind.NUMBER:
            # Slack's number_input submits a string; ASCII digits only ("²" is a digit to
            # str.isdigit but not to int()).
            text = str(value)
            if not (text.isascii() and text.isdigit()) or not (
                spec.minimum <= int(text) <= spec.maximum
            ):
                return f"A whole number from {spec.minimum} to {spec.maximum}."
        case Kind.ZONE:
            if not isinstance(value, str) or value not in available_timezones():
                return "Not a time zone we know; search for a name like Europe/London."
        case Kind.LIST | Kind.PEOPLE:
            if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
                return "Expected a list."
            assert isinstance(spec, Question)
            if len(value) > spec.max_items:
                return f"Please keep this to {spec.max_items} {spec.item_noun}s or fewer."
            if any(item_errors(spec, item) for item in value):
                return f"One of the {spec.item_noun}s is not valid."
    return None


def item_errors(question: Question, item: dict[str, Any]) -> dict[str, str]:
    errors = {}
    for spec in question.item_fields:
        problem = field_error(spec, item.get(spec.key))
        if problem:
            errors[spec.key] = problem
    nobody = is_empty(item.get(PERSON_USER)) and is_empty(item.get(PERSON_NAME))
    if question.kind == Kind.PEOPLE and nobody:
        errors[PERSON_USER] = (
            "Choose someone in this workspace, or type the name of someone outside it."
        )
    unknown = set(item) - {f.key for f in question.item_fields}
    if unknown:
        errors[question.item_fields[0].key] = "Unexpected fields: " + ", ".join(sorted(unknown))
    return errors


def stage_errors(stage: Stage, answers: Answers) -> dict[str, str]:
    """Errors keyed by question, for the questions present in `answers`."""
    errors = {}
    for question in stage.questions:
        if question.answered_by is not None:
            continue
        if question.key in answers or question.required:
            problem = field_error(question, answers.get(question.key))
            if problem:
                errors[question.key] = problem
    unknown = set(answers) - {q.key for q in stage.questions}
    if unknown and stage.questions:
        errors[stage.questions[0].key] = "Unexpected answers: " + ", ".join(sorted(unknown))
    return errors


def clean(value: Any) -> Any:
    """Trim text so that whitespace alone never counts as an answer."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    return value


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def is_answered(question: Question, answers: Answers) -> bool:
    if question.answered_by is not None:
        list_key, field_keys = question.answered_by
        items = answers.get(list_key) or []
        return any(all(not is_empty(i.get(k)) for k in field_keys) for i in items)
    return not is_empty(answers.get(question.key))


def progress(stage: Stage, answers: Answers) -> tuple[int, int]:
    answered = sum(is_answered(q, answers) for q in stage.questions)
    return answered, len(stage.questions)


def first_unanswered(stage: Stage, answers: Answers) -> Question | None:
    return next((q for q in stage.questions if not is_answered(q, answers)), None)


def _is_user_id(value: Any) -> bool:
    return isinstance(value, str) and 2 <= len(value) <= 32 and value[0] in "UW" and value.isalnum()
