"""The community's health as pictures: members and activity over time, the participation
levels as a pyramid, and the stakeholder map. Drawn headless (matplotlib's Agg canvas, no
pyplot, so drawing is safe off the event loop's thread) as PNG, each with alt text that says
in words what it shows.

Sized and lettered to be read at Slack's preview size: 960 x 540 pixels, with type large
enough to stay legible when Slack scales the picture to half that.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.catalogue import GOVERNANCE
from bot.services.health import Week
from bot.services.members import Level
from bot.text import calendar_date, truncate

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 8.0, 4.5, 120  # inches at DPI: 960 x 540 pixels
ALT_MAX = 1000  # Slack's limit for a file's alt text
TITLE_SIZE, LABEL_SIZE, TICK_SIZE = 19, 15, 14
INK, ACCENT, SOFT, MUTED = "#1f3b2a", "#d9822b", "#9cc5a1", "#6b6b6b"

MEMBERS_ACTIVITY = "members_activity"
LEVELS = "levels"
STAKEHOLDERS = "stakeholders"

SUPPORT_SCALE = {"opposed": -2, "sceptical": -1, "neutral": 0, "supportive": 1, "champion": 2}
INFLUENCE_SCALE = {"low": 1, "medium": 2, "high": 3}
# The pyramid, from its top to its base.
PYRAMID = (Level.COORDINATOR, Level.CORE, Level.ACTIVE, Level.PERIPHERAL)
LEVEL_COLOURS = {
    Level.COORDINATOR: INK,
    Level.CORE: "#3f7a52",
    Level.ACTIVE: "#6fa77b",
    Level.PERIPHERAL: SOFT,
}


@dataclass(frozen=True)
class Picture:
    kind: str
    filename: str
    title: str
    png: bytes
    alt_text: str


def _figure() -> Figure:
    # Imported when first drawing, not at start-up: matplotlib's first import builds a font
    # cache, which would hold up the app's start (and its first ack) by seconds.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def _alt(text: str) -> str:
    return truncate(text, ALT_MAX)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# -- members and activity over time -------------------------------------------------------


def members_and_activity(name: str, weeks: Sequence[Week], timezone: str) -> Picture:
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
    figure.suptitle(f"{truncate(name, 40)}: members and activity", fontsize=TITLE_SIZE)
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
        _png(figure),
        _alt(alt),
    )


def _short(moment: datetime, zone: ZoneInfo) -> str:
    day = moment.astimezone(zone).date()
    return f"{day.day} {day:%b}"


# -- the participation pyramid ------------------------------------------------------------


def levels_pyramid(name: str, levels: dict[Level, int]) -> Picture:
    figure = _figure()
    axes = figure.subplots()
    counts = [levels.get(level, 0) for level in PYRAMID]
    widest = max([*counts, 1])
    y = list(range(len(PYRAMID)))[::-1]  # the coordinators at the top
    axes.barh(
        y,
        counts,
        left=[-c / 2 for c in counts],
        height=0.8,
        color=[LEVEL_COLOURS[level] for level in PYRAMID],
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
    axes.set_yticks(y, [level.label for level in PYRAMID])
    axes.set_xlim(-widest * 0.65, widest * 0.65)
    axes.set_xticks([])
    axes.tick_params(labelsize=LABEL_SIZE, length=0)
    axes.spines[["top", "right", "bottom", "left"]].set_visible(False)
    total = sum(counts)
    figure.suptitle(
        f"{truncate(name, 40)}: {_plural(total, 'member')} by participation",
        fontsize=TITLE_SIZE,
    )
    described = ", ".join(f"{c} {level.value}" for level, c in zip(PYRAMID, counts, strict=True))
    alt = (
        f"Pyramid of {name}'s {_plural(total, 'member')} by level of participation, from the "
        f"top: {described}. Each bar's width is the number of members at that level."
    )
    return Picture(
        LEVELS, "participation-levels.png", "Levels of participation", _png(figure), _alt(alt)
    )


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


def stakeholder_map(name: str, stakeholders: Sequence[Stakeholder]) -> Picture:
    figure = _figure()
    axes = figure.subplots()
    # The four quarters, faintly, with what each suggests doing. Neutral stakeholders sit
    # between them; medium influence counts as enough to matter.
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
            top - 0.08 if top > 3 else bottom + 0.08,
            label,
            ha="left" if left < 0 else "right",
            va="top" if top > 3 else "bottom",
            fontsize=TICK_SIZE,
            color=MUTED,
            style="italic",
        )
    placed = [s for s in stakeholders if s.placed]
    cells: dict[tuple[int, int], list[Stakeholder]] = {}
    for stakeholder in placed:
        key = (
            SUPPORT_SCALE[stakeholder.support or ""],
            INFLUENCE_SCALE[stakeholder.influence or ""],
        )
        cells.setdefault(key, []).append(stakeholder)
    for (x, y), group in cells.items():
        for n, stakeholder in enumerate(group):
            # Several in one cell are stacked a little apart, so every label can be read.
            offset = (n - (len(group) - 1) / 2) * 0.22
            axes.scatter([x], [y + offset], s=110, color=INK, zorder=3)
            # Labels point inwards from the right-hand edge, so none runs off the picture.
            leftwards = x == max(SUPPORT_SCALE.values())
            axes.annotate(
                truncate(stakeholder.name, 26),
                (x, y + offset),
                xytext=(-9 if leftwards else 9, 0),
                textcoords="offset points",
                ha="right" if leftwards else "left",
                va="center",
                fontsize=TICK_SIZE,
                color=INK,
                zorder=4,
                parse_math=False,
            )
    axes.set_xlim(-2.6, 2.6)
    axes.set_ylim(0.4, 3.6)
    axes.set_xticks(
        list(SUPPORT_SCALE.values()), [s.capitalize() for s in SUPPORT_SCALE], fontsize=TICK_SIZE
    )
    axes.set_yticks(
        list(INFLUENCE_SCALE.values()),
        [i.capitalize() for i in INFLUENCE_SCALE],
        fontsize=TICK_SIZE,
    )
    axes.set_xlabel("Support", fontsize=LABEL_SIZE)
    axes.set_ylabel("Influence", fontsize=LABEL_SIZE)
    axes.spines[["top", "right"]].set_visible(False)
    unplaced = [s for s in stakeholders if not s.placed]
    if not placed:
        axes.text(
            0, 2, "No stakeholder has support and influence yet", ha="center", fontsize=LABEL_SIZE
        )
    if unplaced:
        names = ", ".join(truncate(s.name, 20) for s in unplaced[:4])
        more = f" and {len(unplaced) - 4} more" if len(unplaced) > 4 else ""
        figure.text(
            0.01,
            0.01,
            f"Not placed (no support or influence yet): {names}{more}",
            fontsize=11,
            color=MUTED,
            parse_math=False,
        )
    figure.suptitle(f"{truncate(name, 40)}: stakeholder map", fontsize=TITLE_SIZE)

    def said(s: Stakeholder) -> str:
        where = f" ({s.organisation})" if s.organisation else ""
        return f"{s.name}{where}: {s.influence} influence, {s.support}"

    alt = (
        f"Stakeholder map of {name}: each stakeholder placed by influence (low to high, "
        f"upwards) against support (opposed to champion, rightwards). "
    )
    alt += "; ".join(said(s) for s in placed) + "." if placed else "No stakeholder is placed yet."
    if unplaced:
        alt += " Not placed, without support or influence: " + ", ".join(s.name for s in unplaced)
        alt += "."
    return Picture(STAKEHOLDERS, "stakeholder-map.png", "Stakeholder map", _png(figure), _alt(alt))


def draw_all(
    name: str,
    weeks: Sequence[Week],
    levels: dict[Level, int],
    stakeholders: Sequence[Stakeholder],
    timezone: str,
) -> list[Picture]:
    """The three pictures, in the order they are shown. CPU-bound: run it in a thread."""
    return [
        members_and_activity(name, weeks, timezone),
        levels_pyramid(name, levels),
        stakeholder_map(name, stakeholders),
    ]
