"""The community's health as pictures: members and activity over time, the participation
levels as a pyramid, and the stakeholder map. Drawn headless (matplotlib's Agg canvas, no
pyplot, so drawing is safe off the event loop's thread) as PNG, each with alt text that says
in words what it shows.

Sized and lettered to be read at Slack's preview size: 960 x 540 pixels (the stakeholder map
1200 wide, for its key), with no type under 13 points, so it stays legible when Slack scales the
picture to half that. The stakeholder map names nobody on the map itself: each point carries
numbers and a key beside it names them, so names never print over each other.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.catalogue import GOVERNANCE
from bot.services.communities import CommunityRecord
from bot.services.health import HealthFigures, Week, history
from bot.services.members import AnyLevel, Level
from bot.text import calendar_date, truncate
from storage.db import Database

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 8.0, 4.5, 120  # inches at DPI: 960 x 540 pixels
ALT_MAX = 1000  # Slack's limit for a file's alt text
# Points at DPI. Nothing is lettered smaller than SMALL_SIZE: 13 points is 22 pixels here, still
# 11 when Slack shows the picture at half its width.
TITLE_SIZE, LABEL_SIZE, TICK_SIZE, SMALL_SIZE = 19, 15, 14, 13
# The stakeholder map is wider, for its key, and taller when the key has many lines.
MAP_WIDTH, MAP_HEIGHT = 10.0, 5.625  # 1200 x 675 pixels
KEY_PITCH = SMALL_SIZE * 1.45  # points from one line of the key to the next
KEY_NUMBERS = SMALL_SIZE * 1.3  # points from the key's edge to the right of its numbers
KEY_MARGIN = 1.3  # inches of the figure's height outside the key: the title, the x axis
INK, ACCENT, SOFT, MUTED = "#1f3b2a", "#d9822b", "#9cc5a1", "#6b6b6b"

MEMBERS_ACTIVITY = "members_activity"
LEVELS = "levels"
STAKEHOLDERS = "stakeholders"

SUPPORT_SCALE = {"opposed": -2, "sceptical": -1, "neutral": 0, "supportive": 1, "champion": 2}
INFLUENCE_SCALE = {"low": 1, "medium": 2, "high": 3}
# The pyramid, from its top to its base.
PYRAMID = (Level.COORDINATOR, Level.CORE, Level.ACTIVE, Level.PERIPHERAL)  # the default four
SHADES = ("#3f7a52", "#6fa77b", SOFT)  # the most involved level darkest, below coordinators


def _rungs(levels: dict[AnyLevel, int]) -> list[AnyLevel]:
    """The levels, most involved first: the ones counted, or the default four."""
    return list(levels) or list(PYRAMID)


def _colour(level: AnyLevel, rungs: list[AnyLevel]) -> str:
    if level == Level.COORDINATOR:
        return INK
    below = [r for r in rungs if r != Level.COORDINATOR]
    place = below.index(level)
    return SHADES[round(place * (len(SHADES) - 1) / max(len(below) - 1, 1))]


@dataclass(frozen=True)
class Picture:
    kind: str
    filename: str
    title: str
    png: bytes
    alt_text: str


def _figure(width: float = WIDTH, height: float = HEIGHT) -> Figure:
    # Imported when first drawing, not at start-up: matplotlib's first import builds a font
    # cache, which would hold up the app's start (and its first ack) by seconds.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _title(figure: Figure, name: str, what: str) -> None:
    """ "<community>: <what>" across the top, the name cut short (…) until it fits."""
    shown = truncate(name, 40)
    title = figure.suptitle(f"{shown}: {what}", fontsize=TITLE_SIZE, parse_math=False)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    while title.get_window_extent(renderer).width > figure.bbox.width * 0.96 and len(shown) > 1:
        shown = shown[:-1]
        title.set_text(f"{shown.rstrip()}…: {what}")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def _alt(text: str) -> str:
    return truncate(text, ALT_MAX)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# -- members and activity over time -------------------------------------------------------


def members_figure(name: str, weeks: Sequence[Week], timezone: str) -> Figure:
    zone = ZoneInfo(timezone)
    figure = _figure()
    people, talk = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    x = list(range(len(weeks)))
    people.plot(x, [w.members for w in weeks], color=INK, linewidth=3, marker="o", label="Members")
    people.plot(
        x,
        [w.active for w in weeks],
        color=ACCENT,
        linewidth=3,
        marker="o",
        label="Active (posted in 30 days)",
    )
    people.set_ylim(bottom=0, top=max([*(w.members for w in weeks), 1]) * 1.25 + 0.5)
    people.legend(loc="upper left", fontsize=TICK_SIZE, frameon=False, ncols=2)
    people.set_ylabel("People", fontsize=LABEL_SIZE)
    talk.bar(x, [w.messages for w in weeks], color=SOFT, edgecolor=INK, linewidth=0.5)
    talk.set_ylabel("Messages\na week", fontsize=LABEL_SIZE)
    talk.set_ylim(bottom=0, top=max([*(w.messages for w in weeks), 1]) * 1.15)
    step = max(1, len(weeks) // 6)
    ticks = list(range(len(weeks) - 1, -1, -step))[::-1]
    talk.set_xticks(ticks, [_short(weeks[i].ends, zone) for i in ticks])
    talk.set_xlabel("Week ending", fontsize=LABEL_SIZE)
    for axes in (people, talk):
        axes.tick_params(labelsize=TICK_SIZE)
        axes.spines[["top", "right"]].set_visible(False)
        axes.yaxis.get_major_locator().set_params(integer=True)
    _title(figure, name, "members and activity")
    return figure


def members_and_activity(name: str, weeks: Sequence[Week], timezone: str) -> Picture:
    zone = ZoneInfo(timezone)
    first, last = weeks[0], weeks[-1]
    busiest = max(weeks, key=lambda w: w.messages)
    end = calendar_date(last.ends.astimezone(zone).date())
    alt = (
        f"Chart of {name} week by week over the {_plural(len(weeks), 'week')} to {end}. "
        f"Members went from {first.members} to {last.members}. Members active in the past 30 "
        f"days went from {first.active} to {last.active}. Messages a week: "
        f"{last.messages} in the last week, at most {busiest.messages} "
        f"(week ending {calendar_date(busiest.ends.astimezone(zone).date())})."
    )
    return Picture(
        MEMBERS_ACTIVITY,
        "members-and-activity.png",
        "Members and activity over time",
        _png(members_figure(name, weeks, timezone)),
        _alt(alt),
    )


def _short(moment: datetime, zone: ZoneInfo) -> str:
    day = moment.astimezone(zone).date()
    return f"{day.day} {day:%b}"


# -- the participation pyramid ------------------------------------------------------------


def levels_figure(name: str, levels: dict[AnyLevel, int]) -> Figure:
    figure = _figure()
    axes = figure.subplots()
    rungs = _rungs(levels)
    counts = [levels.get(level, 0) for level in rungs]
    widest = max([*counts, 1])
    y = list(range(len(rungs)))[::-1]  # the coordinators at the top
    axes.barh(
        y,
        counts,
        left=[-c / 2 for c in counts],
        height=0.8,
        color=[_colour(level, rungs) for level in rungs],
    )
    for row, count in zip(y, counts, strict=True):
        axes.text(
            count / 2 + widest * 0.03,
            row,
            str(count),
            va="center",
            ha="left",
            fontsize=LABEL_SIZE,
            color=INK,
            fontweight="bold",
        )
    axes.set_yticks(y, [level.label for level in rungs])
    axes.set_xlim(-widest * 0.65, widest * 0.65)
    axes.set_xticks([])
    axes.tick_params(labelsize=LABEL_SIZE, length=0)
    axes.spines[["top", "right", "bottom", "left"]].set_visible(False)
    total = sum(counts)
    _title(figure, name, f"{_plural(total, 'member')} by participation")
    return figure


def levels_pyramid(name: str, levels: dict[AnyLevel, int]) -> Picture:
    rungs = _rungs(levels)
    counts = [levels.get(level, 0) for level in rungs]
    total = sum(counts)
    described = ", ".join(
        f"{c} {level.label.lower()}" for level, c in zip(rungs, counts, strict=True)
    )
    alt = (
        f"Pyramid of {name}'s {_plural(total, 'member')} by level of participation, from the "
        f"top: {described}. Each bar's width is the number of members at that level."
    )
    png = _png(levels_figure(name, levels))
    return Picture(LEVELS, "participation-levels.png", "Levels of participation", png, _alt(alt))


# -- the stakeholder map ------------------------------------------------------------------


@dataclass(frozen=True)
class Stakeholder:
    name: str  # as typed: drawn as plain text, never parsed as mathtext
    organisation: str
    support: str | None
    influence: str | None

    @property
    def placed(self) -> bool:
        return self.support in SUPPORT_SCALE and self.influence in INFLUENCE_SCALE


def stakeholders_of(answers: dict[str, Any]) -> list[Stakeholder]:
    """The governance stage's stakeholders list."""
    return [
        Stakeholder(
            name=str(item.get("name") or "").strip(),
            organisation=str(item.get("organisation") or "").strip(),
            support=item.get("support"),
            influence=item.get("influence"),
        )
        for item in answers.get(GOVERNANCE.question("stakeholders").key) or []
        if isinstance(item, dict)
    ]


def _cell(stakeholder: Stakeholder) -> tuple[int, int]:
    return SUPPORT_SCALE[stakeholder.support or ""], INFLUENCE_SCALE[stakeholder.influence or ""]


def _numbered(stakeholders: Sequence[Stakeholder]) -> list[tuple[int, Stakeholder]]:
    """The placed stakeholders numbered in reading order of the map (top row first, left to
    right), so those sharing a point have consecutive numbers and one short label ("4-7")."""
    placed = sorted(
        (s for s in stakeholders if s.placed), key=lambda s: (-_cell(s)[1], _cell(s)[0])
    )
    return list(enumerate(placed, start=1))


def _numbers(numbers: Sequence[int]) -> str:
    if len(numbers) == 1:
        return str(numbers[0])
    if len(numbers) == 2:
        return f"{numbers[0]}, {numbers[1]}"
    return f"{numbers[0]}–{numbers[-1]}"


def stakeholder_figure(name: str, stakeholders: Sequence[Stakeholder]) -> Figure:
    """The map: each point carries the numbers of the stakeholders there, and a key beside it
    names them, so names never print over each other however many share a point."""
    numbered = _numbered(stakeholders)
    unplaced = [s for s in stakeholders if not s.placed]
    key_lines = len(numbered) + (1 + len(unplaced) if unplaced else 0)
    # Taller only when the key needs it; the width, and so the type at preview size, stays.
    height = max(MAP_HEIGHT, KEY_MARGIN + key_lines * KEY_PITCH / 72)
    figure = _figure(MAP_WIDTH, height)
    axes, key = figure.subplots(1, 2, width_ratios=(3, 2))
    # The four quarters, faintly, with what each suggests doing, named in their outer corners
    # (clear of the points). Neutral stakeholders sit between them; medium influence counts
    # as enough to matter.
    quarters = (
        (-2.6, -0.5, 1.5, 3.6, "#f6e3d3", "Win over"),
        (0.5, 2.6, 1.5, 3.6, "#dcebdc", "Involve closely"),
        (-2.6, -0.5, 0.4, 1.5, "#f3f3f3", "Monitor"),
        (0.5, 2.6, 0.4, 1.5, "#eef5ee", "Keep informed"),
    )
    for left, right, bottom, top, colour, label in quarters:
        axes.axvspan(left, right, (bottom - 0.4) / 3.2, (top - 0.4) / 3.2, color=colour, zorder=0)
        axes.text(
            left + 0.08 if left < 0 else right - 0.08,
            top - 0.06 if top > 3 else bottom + 0.06,
            label,
            ha="left" if left < 0 else "right",
            va="top" if top > 3 else "bottom",
            fontsize=SMALL_SIZE,
            color=MUTED,
            style="italic",
        )
    cells: dict[tuple[int, int], list[int]] = {}
    for number, stakeholder in numbered:
        cells.setdefault(_cell(stakeholder), []).append(number)
    for (x, y), numbers in cells.items():
        axes.text(
            x,
            y,
            _numbers(numbers),
            ha="center",
            va="center",
            fontsize=SMALL_SIZE,
            fontweight="bold",
            color="white",
            bbox={"boxstyle": "round,pad=0.35", "facecolor": INK, "edgecolor": "none"},
            zorder=4,
        )
    axes.set_xlim(-2.6, 2.6)
    axes.set_ylim(0.4, 3.6)
    axes.set_xticks(
        list(SUPPORT_SCALE.values()), [s.capitalize() for s in SUPPORT_SCALE], fontsize=SMALL_SIZE
    )
    axes.set_yticks(
        list(INFLUENCE_SCALE.values()),
        [i.capitalize() for i in INFLUENCE_SCALE],
        fontsize=SMALL_SIZE,
    )
    axes.set_xlabel("Support", fontsize=LABEL_SIZE)
    axes.set_ylabel("Influence", fontsize=LABEL_SIZE)
    axes.spines[["top", "right"]].set_visible(False)
    if not numbered:
        axes.text(0, 2, "No stakeholder placed yet", ha="center", va="center", fontsize=LABEL_SIZE)
    _title(figure, name, "stakeholder map")
    _draw_key(figure, key, numbered, unplaced)
    return figure


def _draw_key(
    figure: Figure,
    key: Any,
    numbered: Sequence[tuple[int, Stakeholder]],
    unplaced: Sequence[Stakeholder],
) -> None:
    """The names, one a line from the key's top, each cut short (…) to stay inside the key."""
    from matplotlib.transforms import ScaledTranslation

    key.set_axis_off()
    # (number, text, bold): names line up after the numbers; a heading starts at the edge.
    lines: list[tuple[str, str, bool]] = []
    for number, s in numbered:
        where = f" ({s.organisation})" if s.organisation else ""
        lines.append((str(number), f"{s.name}{where}", False))
    if unplaced:
        lines.append(("", "Not placed yet:", True))
        lines += [("", s.name, False) for s in unplaced]
    if not lines:
        lines.append(("", "No stakeholders listed yet", True))
    figure.draw_without_rendering()  # lays the figure out, so the key's width is known
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    right = key.get_window_extent(renderer).x1
    for row, (number, text, bold) in enumerate(lines):
        down = -row * KEY_PITCH / 72

        def at(points: float, down: float = down) -> Any:
            return key.transAxes + ScaledTranslation(points / 72, down, figure.dpi_scale_trans)

        style = {"va": "top", "fontsize": SMALL_SIZE, "color": INK, "parse_math": False}
        if number:  # right-aligned in their own column
            key.text(0, 1, number, transform=at(KEY_NUMBERS), ha="right", **style)
        indent = 0 if bold else KEY_NUMBERS + SMALL_SIZE * 0.6
        weight = "bold" if bold else "normal"
        drawn = key.text(0, 1, text, transform=at(indent), ha="left", fontweight=weight, **style)
        shown = text
        while drawn.get_window_extent(renderer).x1 > right and len(shown) > 1:
            shown = shown[:-1]
            drawn.set_text(shown.rstrip() + "…")


def stakeholder_map(name: str, stakeholders: Sequence[Stakeholder]) -> Picture:
    numbered = _numbered(stakeholders)
    unplaced = [s for s in stakeholders if not s.placed]

    def said(number: int, s: Stakeholder) -> str:
        where = f" ({s.organisation})" if s.organisation else ""
        return f"{number}, {s.name}{where}: {s.influence} influence, {s.support}"

    alt = (
        f"Stakeholder map of {name}: each stakeholder placed by influence (low to high, "
        f"upwards) against support (opposed to champion, rightwards), numbered, with a key. "
    )
    alt += (
        "; ".join(said(n, s) for n, s in numbered) + "."
        if numbered
        else "No stakeholder is placed yet."
    )
    if unplaced:
        alt += " Not placed, without support or influence: " + ", ".join(s.name for s in unplaced)
        alt += "."
    figure = stakeholder_figure(name, stakeholders)
    return Picture(STAKEHOLDERS, "stakeholder-map.png", "Stakeholder map", _png(figure), _alt(alt))


def draw_all(
    name: str,
    weeks: Sequence[Week],
    levels: dict[AnyLevel, int],
    stakeholders: Sequence[Stakeholder],
    timezone: str,
) -> list[Picture]:
    """The three pictures, in the order they are shown. CPU-bound: run it in a thread."""
    return [
        members_and_activity(name, weeks, timezone),
        levels_pyramid(name, levels),
        stakeholder_map(name, stakeholders),
    ]


async def draw(
    database: Database, record: CommunityRecord, figures: HealthFigures
) -> list[Picture]:
    """The three pictures of the community's health at the end of `figures`' period."""
    community = record.community
    assert community.id is not None
    weeks = await history(
        database, team_id=community.team_id, community_id=community.id, end=figures.period.end
    )
    stakeholders = stakeholders_of(record.stages[GOVERNANCE.key].answers)
    # Drawing is CPU work: off the event loop, so Slack's other requests are answered meanwhile.
    return await asyncio.to_thread(
        draw_all, community.name, weeks, figures.levels, stakeholders, community.timezone
    )
