"""Making text safe and readable in Slack messages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime

from bot.stand_ins import FORMER_MEMBER, is_erased

# Characters that would turn typed text into Markdown structure: emphasis, code, links and
# images, headings, tables, strikethrough. CommonMark lets any of them be backslash-escaped.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")


def escape(text: str) -> str:
    """Escape what a person typed before the bot posts it.

    Slack reads `<...>` as mentions and links, so a typed `<!channel>` would ping a whole channel.
    These three replacements are the escaping Slack documents for mrkdwn.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mention(user_id: str) -> str:
    """A person as Slack shows them; someone erased (their stand-in) as "a former member"."""
    return FORMER_MEMBER if is_erased(user_id) else f"<@{user_id}>"


NAMES_SHOWN = 30  # people named in one line of a message; the rest are counted


def mention_list(user_ids: Sequence[str], *, shown: int = NAMES_SHOWN, nobody: str = "") -> str:
    """People as Slack shows them, "a, b and 12 more" past `shown`; `nobody` if none."""
    named = ", ".join(mention(u) for u in user_ids[:shown])
    more = len(user_ids) - shown
    return named + (f" and {more} more" if more > 0 else "") if user_ids else nobody


def slack_time(moment: datetime, token: str = "{date_short_pretty} at {time}") -> str:
    """A time each reader sees in their own time zone, with a UTC fallback for old clients."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{token}|{fallback}>"


def calendar_date(day: date) -> str:
    """A calendar date (a deadline, not a moment) reads the same in every time zone."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def markdown_escape(text: str) -> str:
    """Escape what a person typed before it goes into a Markdown document (a file, a canvas).

    `&`, `<` and `>` become entities, as for messages, so nothing typed is read as a mention
    or as HTML; Markdown's own punctuation is backslash-escaped, so a typed `# heading` or
    `[link](…)` stays text. Rendered, the text reads exactly as it was typed.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escape(text))


# Nouns whose plural is not the noun and an "s".
_IRREGULAR = {"person": "people", "reply": "replies", "activity": "activities"}


def plural(count: int, noun: str, many: str | None = None) -> str:
    """A count with its noun agreeing: "1 member", "2 members", "0 people". `many` gives a
    plural the rules here do not know."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {many or _IRREGULAR.get(noun) or noun + 's'}"
