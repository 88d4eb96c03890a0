"""Value stories: every quarter (or six months, as a community chooses in `/cop sustain`) each
member is asked the value-creation questions (`bot.value`), with their consent to share.
A story is filed under the period it is about (the one they were last asked about), one per
person and period: answering again updates it.

`tally` is the one computation of what the stories add up to: the sponsor report's stories
and counts by kind of value and `/cop health`'s "how many arrived" both come from it, so they
cannot disagree. A story its teller chose not to share is counted, and nothing more: its words
never reach a report or any other document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.answers import clean, field_error, is_empty
from bot.catalogue import Field, Kind, Option
from bot.clock import Clock
from bot.services import sustaining
from bot.services.communities import (
    CommunityRecord,
    is_closed,
    load_record,
    require_open,
)
from bot.services.errors import Gone, InvalidAnswers, NotAllowed
from bot.services.health import Period
from bot.stand_ins import is_erased
from bot.value import MAX_ANSWER, VALUE_KINDS, Consent, StoryCadence, ValueKind, asked_about
from storage.db import Database
from storage.models import ValueStory
from storage.repositories import members as member_rows
from storage.repositories import stories as rows
from storage.repositories import sustaining as settings_rows

CONSENT = "consent"
# The form's inputs, from the data: one optional answer a kind of value, and the consent.
STORY_FIELDS: tuple[Field, ...] = (
    *(Field(k.key, k.question, Kind.TEXT, max_length=MAX_ANSWER, hint=k.hint) for k in VALUE_KINDS),
    Field(
        CONSENT,
        "May we share your story?",
        Kind.CHOICE,
        required=True,
        options=tuple(Option(c.value, c.label) for c in Consent),
        hint="Shared stories go into the report for the organisations taking part.",
    ),
)
AT_LEAST_ONE = "Please answer at least one question: any one will do."
MEMBERS_ONLY = "Only the community's members can tell its value story."
CLOSED_STORIES = "This community is closed, so it takes no new value stories."


async def story_cadence(database: Database, record: CommunityRecord) -> StoryCadence:
    return (await sustaining.plan_of(database, record)).stories


def _checked(submitted: dict[str, Any]) -> tuple[dict[str, str], Consent]:
    values = clean(submitted)
    answers = {
        k.key: values[k.key]
        for k in VALUE_KINDS
        if not is_empty(values.get(k.key)) and isinstance(values.get(k.key), str)
    }
    errors = {
        spec.key: error
        for spec in STORY_FIELDS
        if (error := field_error(spec, values.get(spec.key))) is not None
    }
    if not answers and VALUE_KINDS[0].key not in errors:
        errors[VALUE_KINDS[0].key] = AT_LEAST_ONE
    if errors:
        raise InvalidAnswers(errors)
    return answers, Consent(values[CONSENT])


async def save_story(
    database: Database,
    clock: Clock,
    *,
    team_id: str,
    community_id: int,
    user_id: str,
    submitted: dict[str, Any],
) -> ValueStory:
    """Keep a member's story for the period they were last asked about, or update the one they
    told for it. Checked here: the community is this team's and open, and the person one of
    its members (or a coordinator); at least one answer, and the consent."""
    answers, consent = _checked(submitted)
    try:
        return await _keep(database, clock, team_id, community_id, user_id, answers, consent)
    except IntegrityError:
        # Another window made the row for this period at the same moment: update it.
        try:
            return await _keep(database, clock, team_id, community_id, user_id, answers, consent)
        except IntegrityError:
            raise Gone("Your story could not be saved just now: please try again.") from None


async def _keep(
    database: Database,
    clock: Clock,
    team_id: str,
    community_id: int,
    user_id: str,
    answers: dict[str, str],
    consent: Consent,
) -> ValueStory:
    now = clock.now()
    async with database.session() as session:
        record = await load_record(session, team_id=team_id, community_id=community_id)
        require_open(record, CLOSED_STORIES)
        await _require_member(session, record, user_id)
        settings = await settings_rows.settings(session, community_id=community_id)
        period = asked_about(sustaining.Plan.of(settings).stories, now, record.community.timezone)
        return await rows.keep(
            session,
            team_id=team_id,
            community_id=community_id,
            user_id=user_id,
            period=period.key,
            answers=answers,
            consent=consent.value,
            answered_at=now,
        )


async def _require_member(session: AsyncSession, record: CommunityRecord, user_id: str) -> None:
    assert record.community.id is not None
    if is_erased(user_id):
        raise NotAllowed(MEMBERS_ONLY)
    latest = await member_rows.latest_membership(
        session, community_id=record.community.id, user_id=user_id
    )
    member = latest is not None and latest.left_at is None and not latest.is_bot
    if not member and not record.is_coordinator(user_id):
        raise NotAllowed(MEMBERS_ONLY)


async def may_tell(database: Database, record: CommunityRecord, user_id: str) -> str | None:
    """Why the person may not tell a story now (before the form opens), or None."""
    if is_closed(record):
        return CLOSED_STORIES
    async with database.session() as session:
        try:
            await _require_member(session, record, user_id)
        except NotAllowed as refused:
            return str(refused)
    return None


async def earlier_story(
    database: Database, clock: Clock, record: CommunityRecord, user_id: str
) -> tuple[Period, ValueStory | None]:
    """The period a story told now is about, and the person's story for it, if any."""
    assert record.community.id is not None
    cadence = await story_cadence(database, record)
    period = asked_about(cadence, clock.now(), record.community.timezone)
    async with database.session() as session:
        found = await rows.story(
            session, community_id=record.community.id, user_id=user_id, period=period.key
        )
    return period, found


# -- what they add up to ------------------------------------------------------------------


@dataclass(frozen=True)
class StoryTally:
    """The value stories that arrived over a window, for the report and `/cop health`."""

    window: Period  # the figures' period, stretched back to one whole story period at least
    arrived: int  # stories answered in the window, shared or not
    in_all: int  # stories told by the window's end
    by_kind: dict[ValueKind, int]  # how many of those that arrived speak to each kind
    shared: list[ValueStory]  # those that may be shared (named or not), oldest first

    def answered(self, story: ValueStory) -> list[tuple[ValueKind, str]]:
        return [(k, str(story.answers[k.key])) for k in VALUE_KINDS if story.answers.get(k.key)]

    @property
    def tellers(self) -> set[str]:
        """Whom the shared stories name."""
        return {s.user_id for s in self.shared if s.consent == Consent.NAMED}


def story_window(period: Period, cadence: StoryCadence) -> Period:
    """The figures' period, or one whole story period ending with it if that is longer: a
    monthly report still shows the stories members told at the quarter's start."""
    longest = period.end - relativedelta(months=cadence.months)
    start = min(period.start, longest)
    return Period(start, period.end, f"stories-{period.key}")


async def tally(database: Database, record: CommunityRecord, *, period: Period) -> StoryTally:
    """What the community's value stories add up to over `period` (see `story_window`)."""
    community_id = record.community.id
    assert community_id is not None
    window = story_window(period, await story_cadence(database, record))
    async with database.session() as session:
        arrived = await rows.answered_between(
            session, community_id=community_id, start=window.start, end=window.end
        )
        in_all = await rows.count(session, community_id=community_id, before=window.end)
    return StoryTally(
        window=window,
        arrived=len(arrived),
        in_all=in_all,
        by_kind={k: sum(bool(s.answers.get(k.key)) for s in arrived) for k in VALUE_KINDS},
        shared=[s for s in arrived if s.consent in (Consent.NAMED, Consent.UNNAMED)],
    )
