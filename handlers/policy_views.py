"""How the seven policies look in the ways-of-working form: each with its state (not written,
draft, agreed), a glimpse of its words and, for coordinators, *Use a starter*, *Edit* and
*Mark agreed*; and the editor pushed over the form, pre-filled with the starter or the saved
words. Shared by the stage forms and the policies feature; registers nothing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.policies import KINDS, LINK, POLICIES, TEXT, Starter, State, policy_of, state_of
from bot.text import escape, truncate
from handlers.blocks import Block, actions, button, context, modal, section
from handlers.forms import input_block

POLICY_FORM = "policy_form"
STARTER, EDIT, AGREE = "policy_starter", "policy_edit", "policy_agree"
GLIMPSE = 160  # characters of a policy's words shown in the form

_SHOWN = {
    State.EMPTY: "_not written yet_",
    State.DRAFTED: "draft, not agreed yet",
    State.AGREED: ":white_check_mark: agreed",
}


def policy_value(community_id: int, version: int) -> str:
    """A policy button's value: the community, and the stage version the form showed (so a
    co-coordinator's newer words are never agreed unseen)."""
    return f"{community_id}:{version}"


def community_of_policy(action: dict[str, Any]) -> str:
    return str(action.get("value") or "").partition(":")[0]


def policy_blocks(
    answers: dict[str, Any], *, community_id: int, version: int, editable: bool
) -> list[Block]:
    """The policies question, one row per kind: buttons only where the viewer may edit."""
    blocks: list[Block] = [
        section(
            f"*{POLICIES.label}*\nStart each from a starter text, make it your own, and mark it "
            "agreed once the community has agreed it. The terms of reference include each one.",
            block_id=f"list.{POLICIES.key}",
        )
    ]
    value = policy_value(community_id, version)
    for kind in KINDS:
        item = policy_of(answers, kind.area)
        state = state_of(item)
        blocks.append(section(_row(kind, item, state, editable=editable)))
        if editable:
            blocks.append(actions(*_buttons(kind, state, value), block_id=f"policy.{kind.area}"))
    return blocks


def _row(kind: Starter, item: dict[str, Any] | None, state: State, *, editable: bool) -> str:
    line = f"*{kind.label}* · {_SHOWN[state]}"
    if item is None or state is State.EMPTY:
        return f"{line}\n{kind.guidance}" if editable else line
    if item.get(TEXT):
        line += f"\n>{escape(truncate(' '.join(str(item[TEXT]).split()), GLIMPSE))}"
    if item.get(LINK):
        line += f"\nFull text: {escape(str(item[LINK]))}"
    return line


def _buttons(kind: Starter, state: State, value: str) -> list[Block]:
    if state is State.EMPTY:
        return [
            button(
                "Use a starter", action_id=f"{STARTER}:{kind.area}", value=value, style="primary"
            ),
            button("Write your own", action_id=f"{EDIT}:{kind.area}", value=value),
        ]
    shown = [button("Edit", action_id=f"{EDIT}:{kind.area}", value=value)]
    if state is State.DRAFTED:
        shown.append(button("Mark agreed", action_id=f"{AGREE}:{kind.area}", value=value))
    return shown


def policy_form(
    kind: Starter, item: dict[str, Any] | None, *, starter: bool, metadata: dict[str, Any]
) -> dict[str, Any]:
    """The editor for one policy: the starter's words (or the saved ones) to edit and save."""
    text_field = replace(
        POLICIES.item_field(TEXT),
        label=kind.label,
        hint="Plain words your community can agree. Empty this and the link to remove it.",
    )
    words = kind.text if starter else (item or {}).get(TEXT)
    blocks = [
        context(f"*{'Starter' if starter else 'Guidance'}:* {kind.guidance}"),
        input_block(text_field, words),
        input_block(POLICIES.item_field(LINK), (item or {}).get(LINK)),
    ]
    if state_of(item) is State.AGREED:
        blocks.append(
            context("Agreed. Changing its words makes it a draft again, to be agreed again.")
        )
    return modal(
        title=kind.label,
        blocks=blocks,
        callback_id=POLICY_FORM,
        submit="Save",
        close="Back",
        metadata=metadata,
    )


def policy_fields() -> tuple[Any, ...]:
    """The editor's inputs, to read its state back."""
    return (POLICIES.item_field(TEXT), POLICIES.item_field(LINK))
