"""How a meeting's actions look in Slack: the form that gives each an owner and a due date, the
owner's message with its *Done* button, an action as a line, and the overdue actions as
`/cop status`, App Home and the health digest show them. Shared by the meetings, actions and
health features; registers nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.services.actions import ActionItem, ForEditing, due_key, owner_key
from bot.text import calendar_date, escape, mention, truncate
from handlers.blocks import Block, actions, button, context, modal, plain, section
from storage.models import MeetingAction

ACTIONS_FORM = "meeting_actions"  # owners and due dates
DONE = "action_done"  # the value is the action's id
EDIT_ACTIONS = "meeting_edit_actions"  # the value is the session's id
SHOWN = 10  # overdue actions listed in full; the rest are counted
TEXT_SHOWN = 300  # characters of an action's text in a list


def action_line(action: MeetingAction) -> str:
    """One action as mrkdwn: its text (escaped), owner, due date, and done."""
    line = escape(truncate(action.text, TEXT_SHOWN))
    if action.done_at is not None:
        line = f"~{line}~ ✅"
    said = []
    if action.owner:
        said.append(mention(action.owner))
    if action.due is not None:
        said.append(f"due {calendar_date(action.due)}")
    return line + (f" ({', '.join(said)})" if said else "")


def actions_form(editing: ForEditing) -> dict[str, Any]:
    """Each action of a session with a person (its owner) and a date (when it is due)."""
    blocks: list[Block] = [
        context(
            f"*{escape(editing.meeting.title)}*: give each action an owner and a due date. The "
            "owner gets a message with a *Done* button, and a reminder the day before."
        )
    ]
    for n, action in enumerate(editing.actions, start=1):
        assert action.id is not None
        blocks.append(section(f"*{n}.* {action_line(action)}"))
        owner: dict[str, Any] = {"type": "users_select", "action_id": owner_key(action.id)}
        if action.owner:
            owner["initial_user"] = action.owner
        due: dict[str, Any] = {"type": "datepicker", "action_id": due_key(action.id)}
        if action.due is not None:
            due["initial_date"] = action.due.isoformat()
        blocks += [
            _input(owner_key(action.id), f"Owner of action {n}", owner),
            _input(due_key(action.id), f"Due date of action {n}", due),
        ]
    return modal(
        title="Owners and dates",
        callback_id=ACTIONS_FORM,
        submit="Save",
        close="Later",
        metadata={"session": editing.occurrence.id},
        blocks=blocks[:100],
    )


def _input(block_id: str, label: str, element: dict[str, Any]) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "optional": True,
        "element": element,
    }


def chosen(
    state: dict[str, Any], action_ids: list[int]
) -> dict[int, tuple[str | None, date | None]]:
    """Each action's owner and due date as the form holds them (a date Slack sent malformed is
    taken as none)."""
    found: dict[int, tuple[str | None, date | None]] = {}
    for action_id in action_ids:
        owner = (state.get(owner_key(action_id)) or {}).get(owner_key(action_id)) or {}
        due = (state.get(due_key(action_id)) or {}).get(due_key(action_id)) or {}
        try:
            day = (
                date.fromisoformat(str(due["selected_date"])) if due.get("selected_date") else None
            )
        except ValueError:
            day = None
        found[action_id] = (owner.get("selected_user") or None, day)
    return found


def owner_message(item: ActionItem, community_name: str) -> tuple[str, list[Block]]:
    """The owner's message: the action, the meeting, the due date, and *Done* until it is."""
    action = item.action
    meeting = (
        f"agreed at *{escape(item.meeting_title)}* ({calendar_date(item.held_on)}) "
        f"in *{escape(community_name)}*"
    )
    due = f"Due {calendar_date(action.due)}." if action.due else "No due date."
    if action.done_at is not None:
        by = f" by {mention(action.done_by)}" if action.done_by else ""
        text = f"✅ Done{by}: *{escape(action.text)}*, {meeting}."
        return text, [section(text)]
    text = f"📌 An action for you: *{escape(action.text)}*, {meeting}. {due}"
    return text, [
        section(text),
        actions(button("Done", action_id=DONE, value=str(item.id), style="primary")),
    ]


def reminder_message(item: ActionItem, community_name: str) -> tuple[str, list[Block]]:
    action = item.action
    text = (
        f"⏳ Your action *{escape(action.text)}* from *{escape(item.meeting_title)}* "
        f"({escape(community_name)}) is due tomorrow, "
        f"{calendar_date(action.due or item.held_on)}."
    )
    return text, [
        section(text),
        actions(button("Done", action_id=DONE, value=str(item.id), style="primary")),
    ]


def overdue_blocks(
    items: list[ActionItem], *, viewer: str | None = None, coordinator: bool = False
) -> list[Block]:
    """Overdue actions, earliest due first. With a `viewer`, each of the first few they may
    mark done (their own, or any for a coordinator) has its *Done* button."""
    if not items:
        return []
    lines = [
        f"{n}. {action_line(i.action)}, from {escape(i.meeting_title)} ({calendar_date(i.held_on)})"
        for n, i in enumerate(items[:SHOWN], start=1)
    ]
    if len(items) > SHOWN:
        lines.append(f"and {len(items) - SHOWN} more")
    blocks: list[Block] = [section("⚠️ *Overdue actions*\n" + "\n".join(lines))]
    if viewer is not None:
        mine = [
            (n, i)
            for n, i in enumerate(items[:5], start=1)
            if coordinator or i.action.owner == viewer
        ]
        if mine:  # numbered as listed: the typed text stays in the list, escaped
            blocks.append(
                actions(
                    *(
                        button(f"{n}. Done", action_id=f"{DONE}:{i.id}", value=str(i.id))
                        for n, i in mine
                    )
                )
            )
    return blocks
