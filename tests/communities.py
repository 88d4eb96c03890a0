"""Whole communities as hypothesis strategies, generated from the catalogue: every stage, every
question present or absent, every list with none to its most items, every optional field of
an item present or absent, and text that tries to break things (Markdown, mrkdwn, `<!channel>`,
a typed mention and link, emoji, right-to-left scripts, the longest answer a field takes)."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import strategies as st

from bot.answers import clean
from bot.catalogue import ROLES, SETUP_STAGES, Field, Kind, Question, Stage
from bot.value import MAX_ANSWER, VALUE_KINDS, Consent
from tests.conftest import ASHA, BEN, CARMEN, NOOR

GONE = "U0GONE"  # a person Slack no longer knows
PEOPLE = (ASHA, BEN, CARMEN, NOOR, GONE)
NASTY = (
    "<!channel>",
    "<!here|here> <@U0BEN>",
    "*bold* _italic_ ~strike~ `code`",
    "# Not a heading",
    "[Reset password](https://x.example)",
    "![picture](https://x.example/p.png)",
    "@handle",
    "&amp; &lt; > <",
    "| a | b |",
    "> not a quote",
    "- not a list",
    "\\ backslash",
    "🎉🌱 :tada: 👩🏽‍💻",
    "مرحبا بالعالم",
    "שלום עולם",
    "Ünïcödé ñ 中文",
)
WORDS = st.one_of(
    st.sampled_from(NASTY),
    st.text(
        alphabet=st.characters(
            codec="utf-8",
            categories=("L", "N", "P", "S"),
            exclude_characters="\u2028\u2029\x85",
        ),
        min_size=1,
        max_size=20,
    ),
)
LONG = "Long answer <!channel> *x* [y](z) مرحبا 🎉 & more. "


def text(max_length: int, *, multiline: bool) -> st.SearchStrategy[str]:
    separators = st.sampled_from([" ", "\n", "\n\n"] if multiline else [" "])

    def joined(parts: list[tuple[str, str]]) -> str:
        return "".join(word + sep for word, sep in parts)

    short = st.lists(st.tuples(WORDS, separators), min_size=1, max_size=6).map(joined)
    longest = st.just((LONG * (max_length // len(LONG) + 1))[:max_length])
    return (
        st.one_of(short, longest)
        .map(lambda s: s[:max_length].strip())
        .filter(lambda s: bool(s) and len(s) <= max_length)
    )


def value(spec: Field) -> st.SearchStrategy[Any]:
    match spec.kind:
        case Kind.TEXT:
            return text(spec.max_length, multiline=True)
        case Kind.LINE:
            return text(spec.max_length, multiline=False)
        case Kind.CHOICE:
            return st.sampled_from([o.value for o in spec.options])
        case Kind.CHOICES:
            options = [o.value for o in spec.options]
            return st.lists(st.sampled_from(options), min_size=1, unique=True)
        case Kind.USER:
            return st.sampled_from(PEOPLE)
        case Kind.USERS:
            return st.lists(st.sampled_from(PEOPLE), min_size=1, unique=True)
        case Kind.DATE:
            return st.dates(date(2026, 1, 1), date(2028, 12, 31)).map(date.isoformat)
        case Kind.TIME:
            return st.times().map(lambda t: t.strftime("%H:%M"))
        case Kind.LIST:
            assert isinstance(spec, Question)
            return st.lists(item(spec), max_size=spec.max_items)
        case Kind.PEOPLE:
            # Each a Slack user or someone outside the workspace, by name.
            assert isinstance(spec, Question)
            person = item(spec).filter(lambda i: bool(i.get("user") or i.get("name")))
            return st.lists(person, min_size=1, max_size=spec.max_items)
    raise AssertionError(f"no strategy for {spec.kind}")


def item(question: Question) -> st.SearchStrategy[dict[str, Any]]:
    fields = {
        f.key: value(f) if f.required else st.one_of(st.none(), value(f))
        for f in question.item_fields
    }
    return st.fixed_dictionaries(fields).map(
        lambda found: {k: v for k, v in found.items() if v is not None}
    )


def stage_answers(stage: Stage) -> st.SearchStrategy[dict[str, Any]]:
    questions = {}
    for question in stage.questions:
        if question.answered_by is not None:
            continue
        if question is ROLES.question("coordinators"):
            # The person saving stays a coordinator, so every stage can be saved.
            questions[question.key] = value(question).map(lambda people: [ASHA, *people])
        elif question.required:
            questions[question.key] = value(question)
        else:
            questions[question.key] = st.one_of(st.none(), value(question))
    return st.fixed_dictionaries(questions).map(
        lambda found: clean(
            {
                k: list(dict.fromkeys(v)) if k == "coordinators" else v
                for k, v in found.items()
                if v is not None
            }
        )
    )


def communities() -> st.SearchStrategy[dict[str, dict[str, Any]]]:
    """Each setup stage's answers, as the forms and list editors would have saved them."""
    return st.fixed_dictionaries({s.key: stage_answers(s) for s in SETUP_STAGES})


def value_stories() -> st.SearchStrategy[list[dict[str, Any]]]:
    """Members' value stories for one period, as the form would have saved them: one a
    person, each with at least one of the five answers and a consent."""
    answers = st.fixed_dictionaries(
        {k.key: st.one_of(st.none(), text(MAX_ANSWER, multiline=True)) for k in VALUE_KINDS}
    ).map(lambda found: {k: v for k, v in found.items() if v is not None})
    story = st.fixed_dictionaries(
        {
            "user": st.sampled_from(PEOPLE),
            "answers": answers.filter(bool),
            "consent": st.sampled_from([c.value for c in Consent]),
        }
    )
    return st.lists(story, max_size=len(PEOPLE), unique_by=lambda s: s["user"])
