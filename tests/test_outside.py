"""Fit for the world outside Slack (issue 15, item 5): an invitation to paste into an email,
closed communities apart in the directory, people from outside the workspace in the members
stage, the roster's levels, the checklist's gaps in `/cop status`, a searchable time zone and
a number for days."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.clock import ManualClock
from bot.fakeslack import FakeSlack
from storage.models import Closure
from storage.repositories import closures as closure_rows
from tests.conftest import ASHA, BEN, TEAM, Cultivate
from tests.test_communities import start_community
from tests.test_joining import RANDOM, buttons

ARCHIVE = "https://example.slack.com/files/U0ASHA/F0ARCHIVE/housing-archive.md"


async def close_directly(cultivate: Cultivate, clock: ManualClock, *, archive: str | None) -> None:
    """A closed community, as `/cop close` leaves it (closing itself is tested elsewhere)."""
    async with cultivate.database.session() as session:
        assert await closure_rows.mark_closed(
            session, team_id=TEAM, community_id=1, now=clock.now()
        )
        session.add(
            Closure(
                team_id=TEAM,
                community_id=1,
                reason="concluded",
                closing_date=date(2026, 12, 31),
                capture_days=14,
                closed_by=ASHA,
                started_at=clock.now(),
                archive_permalink=archive,
            )
        )


async def test_the_directory_lists_closed_communities_apart_with_their_archive_and_no_join(
    cultivate: Cultivate, slack: FakeSlack, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    await start_community(cultivate, name="Data", channel="C0DATA", user=BEN, timezone="UTC")
    await close_directly(cultivate, clock, archive=ARCHIVE)

    await cultivate.command("communities", user="U0LIAM", channel=RANDOM)
    blocks: list[dict[str, Any]] = (await cultivate.ephemeral())["blocks"]
    texts = [b["text"]["text"] for b in blocks if b.get("text")]
    closed_at = next(i for i, t in enumerate(texts) if t.startswith("*Closed communities*"))
    housing = next(i for i, t in enumerate(texts) if "*Housing policy*" in t)
    data = next(i for i, t in enumerate(texts) if "*Data*" in t)
    assert data < closed_at < housing  # the open one first, the closed one in its own section
    assert f"<{ARCHIVE}|Read its archive>" in texts[housing]
    # Only Data can be joined: the closed community has no button at all.
    assert [b["value"] for b in buttons(blocks)] == ["2"]

    # A Join forged for the closed community is refused where it is saved.
    reply = await cultivate.click(
        {"action_id": "directory_join:1", "type": "button", "value": "1"},
        user="U0LIAM",
        channel=RANDOM,
        message={"ts": "1.1", "blocks": blocks},
    )
    assert reply.status == 200
    told = await slack.wait_for("response_url", count=2)
    assert "has closed, so it takes no new members" in told[-1].args["text"]
    assert slack.calls_to("conversations.invite") == []


async def test_a_closed_community_without_a_published_archive_says_so(
    cultivate: Cultivate, clock: ManualClock
) -> None:
    await start_community(cultivate, timezone="UTC")
    await close_directly(cultivate, clock, archive=None)
    await cultivate.command("communities", user="U0LIAM", channel=RANDOM)
    blocks = (await cultivate.ephemeral())["blocks"]
    assert buttons(blocks) == []
    assert "archive has not been published yet" in str(blocks)
    assert "Communities of practice you can join" not in str(blocks)
