"""The checklist's answers written as document parts: one writer per kind of question in the
catalogue, used by every document that leaves Slack (terms of reference, archive, sponsor
report), so a question the catalogue holds is written the same way everywhere and none can be
missed or read from where it is not stored.

A question answered by another's list items (the stakeholders' views, their support) is written
from those items, as the catalogue's `answered_by` says: it has no answer of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bot import policies
from bot.answers import Answers, is_answered, is_empty
from bot.catalogue import (
    GOVERNANCE,
    PERSON_NAME,
    PERSON_ORGANISATION,
    PERSON_USER,
    POLICY_AREAS,
    SETUP_STAGES,
    TERMS_OF_REFERENCE,
    WAYS_OF_WORKING,
    Field,
    Kind,
    Question,
    Stage,
    TermsSection,
    stage,
)
from bot.services.communities import CommunityRecord
from bot.services.document import (
    Bullets,
    Document,
    Heading,
    Inline,
    Line,
    Paragraph,
    Part,
    Person,
    Strong,
    paragraphs,
)
from bot.stand_ins import FORMER_MEMBER
from bot.text import calendar_date, truncate
from storage.models import Community, Meeting, MeetingAction, MeetingOccurrence


def opening(title: str, note: str, *, domain: str | None = None) -> Document:
    """A document that starts with its title and a remark on how it was made (in italics, not
    part of its content), then the community's domain when it is given and not blank."""
    document = Document(title)
    document.add(Paragraph((note,), note=True))
    if domain:
        document.add(Paragraph((Strong("Domain: "), domain)))
    return document


def _people(user_ids: Iterable[str]) -> Line:
    parts: list[Inline] = []
    for user_id in user_ids:
        parts += [", ", Person(str(user_id))] if parts else [Person(str(user_id))]
    return tuple(parts)


# What one value of each kind of field reads as, inline. A list is never inside a list.
INLINE: dict[Kind, Callable[[Field, Any], Line]] = {
    Kind.TEXT: lambda spec, value: (str(value),),
    Kind.LINE: lambda spec, value: (str(value),),
    Kind.TIME: lambda spec, value: (str(value)[:5],),
    Kind.CHOICE: lambda spec, value: (spec.option_label(str(value)),),
    Kind.CHOICES: lambda spec, value: (", ".join(spec.option_label(str(v)) for v in value),),
    Kind.USER: lambda spec, value: (Person(str(value)),),
    Kind.USERS: lambda spec, value: _people(value),
    Kind.DATE: lambda spec, value: (calendar_date(date.fromisoformat(str(value))),),
    Kind.NUMBER: lambda spec, value: (str(value),),
    Kind.ZONE: lambda spec, value: (str(value),),
}


def person_line(item: dict[str, Any]) -> Line:
    """Someone named in a PEOPLE question: a Slack user by their real name; someone outside
    the workspace by the name typed; either with their organisation in brackets."""
    user, name = item.get(PERSON_USER), item.get(PERSON_NAME)
    line: list[Inline] = [Person(str(user)) if user else str(name) if name else FORMER_MEMBER]
    if item.get(PERSON_ORGANISATION):
        line.append(f" ({item[PERSON_ORGANISATION]})")
    return tuple(line)


def inline(spec: Field, value: Any) -> Line:
    return INLINE[spec.kind](spec, value)


def items_in_order(question: Question, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if question.order_by is None:
        return list(items)
    key = question.order_by
    return sorted(items, key=lambda item: str(item.get(key) or ""))


def item_line(question: Question, item: dict[str, Any], fields: Iterable[Field] = ()) -> Line:
    """A list item as one line of prose: its first field in bold, short facts in brackets
    ("due Mon 1 Mar 2027; owner Ada Lovelace"), then what was written about it."""
    first, *rest = question.item_fields
    shown = tuple(fields) or tuple(rest)
    named = inline(first, item[first.key]) if not is_empty(item.get(first.key)) else ()
    line: list[Inline] = [Strong("".join(p for p in named if isinstance(p, str)))]
    facts: list[Inline] = []
    prose: list[Inline] = []
    for spec in shown:
        value = item.get(spec.key)
        if is_empty(value):
            continue
        if spec.kind == Kind.TEXT:
            prose += [" ", *inline(spec, value)] if prose else list(inline(spec, value))
            continue
        facts += ["; "] if facts else []
        facts += [f"{spec.heading} ", *inline(spec, value)] if spec.topic else inline(spec, value)
    if facts:
        line += [" (", *facts, ")"]
    if prose:
        line += [": ", *prose]
    return tuple(line)


def _list(question: Question, answers: Answers) -> list[Part]:
    items = items_in_order(question, answers.get(question.key) or [])
    return [Bullets(tuple(item_line(question, item) for item in items))]


def _answered_by(question: Question, answers: Answers) -> list[Part]:
    assert question.answered_by is not None
    list_key, field_keys = question.answered_by
    source = next(q for q in _stage_of(question).questions if q.key == list_key)
    fields = [source.item_field(k) for k in field_keys]
    items = [
        item
        for item in answers.get(list_key) or []
        if all(not is_empty(item.get(k)) for k in field_keys)
    ]
    return [Bullets(tuple(item_line(source, item, fields) for item in items))]


def _stage_of(question: Question) -> Stage:
    return next(s for s in SETUP_STAGES if question in s.questions)


def _policies(question: Question, answers: Answers) -> list[Part]:
    """Each policy under its own heading, in the checklist's order: its words, where the full
    text is, and whether it is agreed (a draft is there to discuss and agree)."""
    order = [o.value for o in POLICY_AREAS]
    area = question.item_field(policies.AREA)
    items = sorted(
        answers.get(question.key) or [],
        key=lambda item: (
            order.index(item[policies.AREA]) if item.get(policies.AREA) in order else len(order)
        ),
    )
    parts: list[Part] = []
    for item in items:
        parts.append(Heading(area.option_label(str(item.get(policies.AREA))), 3))
        if not is_empty(item.get(policies.TEXT)):
            parts += paragraphs(str(item[policies.TEXT]))
        if not is_empty(item.get(policies.LINK)):
            parts.append(Paragraph(("Full text: ", str(item[policies.LINK]))))
        agreed = item.get(policies.STATUS) == policies.AGREED
        status = "Agreed." if agreed else "Draft: not agreed yet."
        parts.append(Paragraph((status,), note=True))
    return parts


def answer(question: Question, answers: Answers) -> list[Part]:
    """An answered question's answer as parts (the caller checks `is_answered`)."""
    if question.answered_by is not None:
        return _answered_by(question, answers)
    if question is policies.POLICIES:
        return _policies(question, answers)
    value = answers[question.key]
    if question.kind == Kind.LIST:
        return _list(question, answers)
    if question.kind == Kind.PEOPLE:
        return [Bullets(tuple(person_line(item) for item in value))]
    if question.kind == Kind.TEXT:
        return list(paragraphs(str(value)))
    return [Paragraph(inline(question, value))]


def topics(
    record: CommunityRecord,
    *,
    sections: Iterable[TermsSection] = TERMS_OF_REFERENCE,
    empty: str = "Nothing is written down on this yet: see Gaps.",
    numbered: bool = False,
) -> list[Part]:
    """The answers under their topic headings. An unanswered question is left out: the Gaps
    section names it; a topic with no answer at all says `empty`."""
    parts: list[Part] = []
    for number, section in enumerate(sections, start=1):
        parts.append(Heading(f"{number}. {section.title}" if numbered else section.title))
        written = 0
        for stage_key, question_key in section.answers:
            question = stage(stage_key).question(question_key)
            answers = record.stages[stage_key].answers
            if is_answered(question, answers):
                # A topic of one question ("Policies") needs no second heading of that name.
                if question.heading != section.title:
                    parts.append(Heading(question.heading, 3))
                parts += answer(question, answers)
                written += 1
        if not written:
            parts.append(Paragraph((empty,), note=True))
    return parts


def people_in(record: CommunityRecord) -> set[str]:
    """Everyone the answers name, so a caller can look their names up once."""
    found: set[str] = set()
    for saved in record.stages.values():
        for question in saved.stage.questions:
            found |= _named(question, saved.answers.get(question.key))
    return found


def _named(spec: Field, value: Any) -> set[str]:
    match spec.kind:
        case Kind.USER:
            return {str(value)} if value else set()
        case Kind.USERS:
            return {str(v) for v in value or []}
        case Kind.LIST | Kind.PEOPLE:
            assert isinstance(spec, Question)
            return {
                person
                for item in value or []
                for f in spec.item_fields
                for person in _named(f, item.get(f.key))
            }
    return set()


# -- gaps -----------------------------------------------------------------------------------


def gaps(
    record: CommunityRecord, *, sections: Iterable[TermsSection] = TERMS_OF_REFERENCE
) -> list[Line]:
    """What is missing, one line each: questions not answered, policies not yet agreed,
    milestones still to do without an owner."""
    lines: list[Line] = []
    for section in sections:
        for stage_key, question_key in section.answers:
            question = stage(stage_key).question(question_key)
            if not is_answered(question, record.stages[stage_key].answers):
                lines.append((f"{section.title}: {question.heading}, not answered yet.",))
    policies = WAYS_OF_WORKING.question("policies")
    area = policies.item_field("area")
    written = {
        str(i.get("area")): i
        for i in record.stages[WAYS_OF_WORKING.key].answers.get("policies") or []
    }
    for option in POLICY_AREAS:
        item = written.get(option.value)
        if item is None:
            lines.append((f"Policies: {option.label}, not written yet.",))
        elif item.get("status") != "agreed":
            lines.append((f"Policies: {area.option_label(option.value)}, not yet agreed.",))
    milestones = GOVERNANCE.question("milestones")
    for item in items_in_order(
        milestones, record.stages[GOVERNANCE.key].answers.get("milestones") or []
    ):
        if not item.get("owner") and not item.get("done"):
            due = calendar_date(date.fromisoformat(str(item["due"])))
            lines.append((f"Milestones: {item.get('title')}, due {due}, has no owner.",))
    return lines


def gaps_section(
    record: CommunityRecord, *, sections: Iterable[TermsSection] = TERMS_OF_REFERENCE
) -> list[Part]:
    found = gaps(record, sections=sections)
    if not found:
        return [
            Heading("Gaps"),
            Paragraph(
                (
                    "None: every question is answered, every policy "
                    "agreed and every milestone owned.",
                )
            ),
        ]
    return [Heading("Gaps"), Bullets(tuple(found))]


# -- meetings -------------------------------------------------------------------------------


def meeting_held(
    community: Community,
    meeting: Meeting,
    held: MeetingOccurrence,
    actions: Sequence[MeetingAction] = (),
    *,
    notes_shown: int | None = None,
    actions_shown: int | None = None,
    name_owners: bool = True,
) -> list[Part]:
    """What a meeting produced: its notes and the actions agreed, each with its due date, done
    state and (`name_owners`) owner, in full (the archive) or shortened to `notes_shown`
    characters and `actions_shown` actions (the sponsor report, which names no member)."""
    day = calendar_date(held.starts_at.astimezone(ZoneInfo(community.timezone)).date())
    parts: list[Part] = [Heading(f"{meeting.title}, {day}", 3)]
    notes = (held.notes or "").strip()
    if notes:
        parts += paragraphs(truncate(notes, notes_shown) if notes_shown else notes)
    listed = [a for a in actions if a.text.strip()]
    if listed:
        shown: list[Line] = [
            action_line(community, a, name_owner=name_owners) for a in listed[:actions_shown]
        ]
        if len(listed) > len(shown):
            shown.append((f"and {len(listed) - len(shown)} more",))
        parts += [Paragraph(("Actions agreed:",)), Bullets(tuple(shown))]
    if not notes and not listed:
        parts.append(Paragraph(("No notes were kept.",), note=True))
    return parts


def action_line(community: Community, action: MeetingAction, *, name_owner: bool) -> Line:
    """An action as documents write it: its text, then its owner, due date and whether done."""
    said: list[Inline] = []
    if name_owner and action.owner:
        said += [Person(action.owner)]
    if action.due is not None:
        said += [f"due {calendar_date(action.due)}"]
    if action.done_at is not None:
        done_on = action.done_at.astimezone(ZoneInfo(community.timezone)).date()
        said += [f"done {calendar_date(done_on)}"]
    if not said:
        return (action.text,)
    line: list[Inline] = [action.text, " ("]
    for n, piece in enumerate(said):
        line += [", "] if n else []
        line.append(piece)
    return (*line, ")")
