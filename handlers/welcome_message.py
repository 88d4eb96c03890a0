"""The welcome direct message a newcomer receives: the coordinators' words (their template,
filled in), then what a newcomer needs to take part, and the "Introduce yourself" button. Built
here for the welcome itself and for the editor's preview. Not a feature: it registers nothing."""

from __future__ import annotations

from bot.services import welcomes
from bot.services.welcomes import WelcomeContent
from bot.text import escape, mention, slack_time, truncate
from handlers.blocks import Block, actions, button, section

INTRODUCE = "introduce"
CONDUCT_EXCERPT = 1500


def placeholder_values(content: WelcomeContent, user_id: str) -> dict[str, str]:
    meeting = content.next_meeting
    return {
        "name": mention(user_id),
        "community": escape(content.community.name),
        "purpose": escape(content.purpose or "") or "_not written down yet_",
        "next_meeting": f"{escape(meeting.title)}, {slack_time(meeting.starts_at)}"
        if meeting
        else "_not planned yet_",
    }


def _safe_link(url: str) -> str | None:
    """A typed link Slack can show as a link, or None (then it is shown as text)."""
    url = url.strip()
    if url.startswith(("https://", "http://")) and not any(c in url for c in "<>| \n"):
        return url
    return None


def welcome_blocks(
    content: WelcomeContent, user_id: str, *, template: str | None = None
) -> list[Block]:
    """The welcome DM: the coordinators' words, then what a newcomer needs to take part."""
    community = content.community
    opening = welcomes.render(template or content.text, placeholder_values(content, user_id))
    blocks: list[Block] = [section(opening)]
    blocks.append(
        section(
            "*What we're here for*\n"
            + (
                escape(content.purpose)
                if content.purpose
                else "_The coordinators haven't written it down yet._"
            )
        )
    )
    ways = "\n".join(f"• {escape(m)}" for m in content.modes)
    blocks.append(
        section(
            "*How it works*\n"
            + (f"{ways}\n" if ways else "")
            + f"The conversation happens in <#{community.channel_id}>."
        )
    )
    conduct = content.code_of_conduct
    if conduct is None:
        conduct_text = (
            "_No code of conduct has been written down yet._ Be kind, and ask a coordinator "
            "if you're unsure about anything."
        )
    else:
        conduct_text = escape(truncate(conduct.text, CONDUCT_EXCERPT)) if conduct.text else ""
        if conduct.link:
            link = _safe_link(conduct.link)
            conduct_text += (
                f"\n<{escape(link)}|Read it in full>" if link else f"\n{escape(conduct.link)}"
            )
        if not conduct.agreed:
            conduct_text += "\n_(a draft, still being agreed)_"
    blocks.append(section(f"*Code of conduct*\n{conduct_text.strip()}"))
    contact = f"Coordinators: {', '.join(mention(c) for c in content.coordinators)}"
    if content.facilitators:
        contact += f"\nFacilitators: {', '.join(mention(f) for f in content.facilitators)}"
    blocks.append(section(f"*Who to contact*\n{contact}"))
    if content.next_meeting is not None:
        meeting = content.next_meeting
        where = f"\n{escape(meeting.where)}" if meeting.where else ""
        blocks.append(
            section(
                f"*Next meeting*\n{escape(meeting.title)}, {slack_time(meeting.starts_at)}{where}"
            )
        )
    blocks.append(actions(introduce_button(community.id or 0)))
    return blocks


def introduce_button(community_id: int) -> Block:
    return button(
        "Introduce yourself", action_id=INTRODUCE, value=str(community_id), style="primary"
    )
