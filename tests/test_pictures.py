"""Pictures people can read: no label printed over another, type large enough at the size Slack
previews a picture, and alt text that says in words what the picture shows."""

from __future__ import annotations

import itertools
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from bot.services.health import Week
from bot.services.members import Level
from bot.services.pictures import (
    DPI,
    SMALL_SIZE,
    Stakeholder,
    levels_figure,
    levels_pyramid,
    members_and_activity,
    members_figure,
    stakeholder_figure,
    stakeholder_map,
)

# The narrowest Slack shows a picture in a message at full width on a laptop; type must stay
# at least this many pixels tall there.
PREVIEW_WIDTH, LEGIBLE_PIXELS = 600, 10

# Six at one point, two at the next point along, long names and organisations, and three not
# placed: what used to print names over each other.
CROWDED = [
    *(
        Stakeholder(
            f"Housing association number {n}", "Northern Housing Federation", "supportive", "high"
        )
        for n in range(6)
    ),
    Stakeholder("Director of Housing", "City Council", "champion", "high"),
    Stakeholder("Finance team", "City Council", "champion", "high"),
    Stakeholder("Tenants' union", "", "neutral", "high"),
    Stakeholder("Sceptical Sam $x^2$ <!channel>", "", "sceptical", "medium"),
    Stakeholder("Quiet one", "", None, None),
    Stakeholder("Half placed", "", "supportive", None),
    Stakeholder("Third", "", None, "low"),
]
SUPPORT = ("opposed", "sceptical", "neutral", "supportive", "champion")
EVERY_POINT = [  # the catalogue's limit of twenty, over every point, some twice
    Stakeholder(f"Stakeholder {n} with a long name indeed", "Department of Things", s, i)
    for n, (s, i) in enumerate(
        itertools.islice(itertools.cycle(itertools.product(SUPPORT, ("low", "medium", "high"))), 20)
    )
]
ALL_AT_ONE_POINT = [Stakeholder(f"Person {n}", "", "champion", "high") for n in range(20)]


def drawn_texts(figure: Figure) -> list[Text]:
    """Every piece of text the picture shows: tick labels only where an axis is drawn and
    its tick falls within the axis' limits."""
    figure.draw_without_rendering()
    hidden: set[int] = set()
    for axes in figure.axes:
        for axis, limits in ((axes.xaxis, axes.get_xlim()), (axes.yaxis, axes.get_ylim())):
            low, high = sorted(limits)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                for label in (tick.label1, tick.label2):
                    if not (axes.axison and axis.get_visible() and low <= tick.get_loc() <= high):
                        hidden.add(id(label))
    return [
        text
        for text in figure.findobj(Text)
        if text.get_visible() and text.get_text().strip() and id(text) not in hidden
    ]


def extent(text: Text, renderer: Any) -> Bbox:
    """The text's box, or the box drawn around it if it has one."""
    box = text.get_window_extent(renderer)
    patch = text.get_bbox_patch()
    return Bbox.union([box, patch.get_window_extent(renderer)]) if patch else box


def overlapping(figure: Figure) -> list[tuple[str, str]]:
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [(t.get_text(), extent(t, renderer)) for t in drawn_texts(figure)]
    return [
        (a, b)
        for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
        if box_a.overlaps(box_b)
    ]


def outside(figure: Figure) -> list[str]:
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    edge = figure.bbox
    return [
        t.get_text()
        for t in drawn_texts(figure)
        if not (
            edge.x0 <= extent(t, renderer).x0
            and extent(t, renderer).x1 <= edge.x1
            and edge.y0 <= extent(t, renderer).y0
            and extent(t, renderer).y1 <= edge.y1
        )
    ]


def png_width(png: bytes) -> int:
    return struct.unpack(">II", png[16:24])[0]


@pytest.mark.parametrize("stakeholders", [CROWDED, EVERY_POINT, ALL_AT_ONE_POINT])
def test_no_label_on_the_stakeholder_map_prints_over_another(
    stakeholders: list[Stakeholder],
) -> None:
    figure = stakeholder_figure("Housing policy across councils", stakeholders)
    texts = [t.get_text() for t in drawn_texts(figure)]
    assert overlapping(figure) == []
    assert outside(figure) == []
    # Every placed stakeholder is named in the key, by number; every other one is listed.
    placed = [s for s in stakeholders if s.placed]
    for number in range(1, len(placed) + 1):
        assert str(number) in texts
    for stakeholder in stakeholders:
        assert any(t.startswith(stakeholder.name[:12]) for t in texts), (
            f"{stakeholder.name} is not in the key"
        )
    if len(placed) < len(stakeholders):
        assert "Not placed yet:" in texts


def test_stakeholders_at_one_point_share_one_numbered_label() -> None:
    figure = stakeholder_figure("Housing policy", CROWDED)
    texts = [t.get_text() for t in drawn_texts(figure)]
    # Reading order, top row first: Tenants' union (neutral), the six associations
    # (supportive), then the two champions.
    assert "1" in texts and "2–7" in texts and "8, 9" in texts and "10" in texts
    assert "Tenants' union" in texts
    assert "Sceptical Sam $x^2$ <!channel>" in texts  # as typed, not read as mathtext


def weeks(count: int) -> list[Week]:
    start = datetime(2026, 9, 1, tzinfo=UTC)
    return [Week(start + timedelta(weeks=n), 3 + n, n % 4, (n * 7) % 23) for n in range(count)]


LEVELS = {Level.COORDINATOR: 2, Level.CORE: 5, Level.ACTIVE: 11, Level.PERIPHERAL: 40}


@pytest.mark.parametrize(
    "draw",
    [
        lambda: members_figure("Housing policy across councils", weeks(13), "Europe/London"),
        lambda: members_figure("A", weeks(1), "UTC"),
        lambda: levels_figure("Housing policy across councils", LEVELS),
        lambda: levels_figure("Empty", {}),
        lambda: stakeholder_figure("Housing policy across councils", CROWDED),
        lambda: stakeholder_figure("Housing policy across councils", EVERY_POINT),
        lambda: stakeholder_figure("Nobody yet", []),
    ],
)
def test_every_picture_is_legible_at_slacks_preview_size(draw: Any) -> None:
    figure: Figure = draw()
    width = figure.get_figwidth() * DPI
    assert 800 <= width <= 1200
    assert figure.dpi == DPI
    for text in drawn_texts(figure):
        assert text.get_fontsize() >= SMALL_SIZE, text.get_text()
        pixels = text.get_fontsize() / 72 * DPI * PREVIEW_WIDTH / width
        assert pixels >= LEGIBLE_PIXELS, text.get_text()
    assert overlapping(figure) == []
    assert outside(figure) == []


def test_the_pictures_are_pngs_of_the_size_drawn_and_say_in_words_what_they_show() -> None:
    chart = members_and_activity("Housing policy", weeks(13), "UTC")
    pyramid = levels_pyramid("Housing policy", LEVELS)
    crowded = stakeholder_map("Housing policy", CROWDED[4:])
    assert [png_width(p.png) for p in (chart, pyramid, crowded)] == [960, 960, 1200]
    assert "from the top: 2 coordinator, 5 core, 11 active, 40 peripheral" in pyramid.alt_text
    alt = crowded.alt_text
    assert "numbered, with a key" in alt
    assert "1, Tenants' union: high influence, neutral" in alt
    assert "2, Housing association number 4 (Northern Housing Federation): high influence, " in alt
    assert "5, Finance team (City Council): high influence, champion" in alt
    assert "6, Sceptical Sam $x^2$ <!channel>: medium influence, sceptical" in alt
    assert "Not placed, without support or influence: Quiet one, Half placed, Third." in alt
