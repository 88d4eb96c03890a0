"""What one person sees in the sandbox page: the workspace from their seat, as plain JSON.

Slack shows each person their own conversations, their own ephemeral answers, their own modal
and Home tab; so does this, read from the stand-in's workspace under its lock.
"""

from __future__ import annotations

import copy
from typing import Any

from fakeslack.workspace import BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, TEAM_NAME, Channel
from sandbox.sandbox import COMMANDS, MESSAGE_SHORTCUTS, Sandbox

SHOWN_REFUSALS = 20


def _kind(channel: Channel) -> str:
    if channel.is_im:
        return "app" if channel.im_user != BOT_USER_ID else "im"
    if channel.is_mpim:
        return "group"
    return "private" if channel.is_private else "channel"


def _sees(channel: Channel, viewer: str) -> bool:
    if channel.is_im:
        return channel.im_user == viewer  # the only DMs here are with the app
    if channel.is_private or channel.is_mpim:
        return viewer in channel.members
    return True


def seen_by(sandbox: Sandbox, viewer: str) -> dict[str, Any]:
    workspace = sandbox.workspace
    with workspace.lock:
        canvas_of = {c.channel_id: c.id for c in workspace.canvases.values() if c.channel_id}
        conversations = [
            {
                "id": channel.id,
                "name": channel.name,
                "kind": _kind(channel),
                "topic": channel.topic,
                "purpose": channel.purpose,
                "members": list(channel.members),
                "is_member": viewer in channel.members,
                "is_archived": channel.is_archived,
                "canvas": canvas_of.get(channel.id),
            }
            for channel in workspace.channels.values()
            if _sees(channel, viewer)
        ]
        messages = {
            c["id"]: copy.deepcopy(workspace.messages_by_channel.get(c["id"], []))
            for c in conversations
        }
        ephemerals = [copy.deepcopy(e) for e in workspace.ephemerals if e["user"] == viewer]
        modal: list[dict[str, Any]] = []
        for stack in reversed(workspace.view_stacks):
            if workspace.modal_owners.get(stack[0]) in (None, viewer):
                modal = [copy.deepcopy(workspace.views[v]) for v in stack]
                break
        people = [
            {
                "id": p.id,
                "name": p.name,
                "real_name": p.real_name,
                "display_name": p.display_name,
                "title": p.title,
                "tz": p.tz,
                "is_bot": p.is_bot,
            }
            for p in workspace.people.values()
            if not p.deleted
        ]
        files = [
            {
                "id": f.id,
                "title": f.title or f.filename,
                "name": f.filename,
                "size": len(f.content),
                "channel": f.channel,
                "created": f.created,
            }
            for f in workspace.files.values()
            if f.completed
        ]
        canvases = [
            {
                "id": c.id,
                "title": c.title,
                "channel": c.channel_id,
                "markdown": str((c.document_content or {}).get("markdown") or ""),
            }
            for c in workspace.canvases.values()
        ]
        home = copy.deepcopy(workspace.homes.get(viewer))
    return {
        "now": sandbox.clock.now().timestamp(),
        "team": {"id": TEAM_ID, "name": TEAM_NAME, "domain": TEAM_DOMAIN},
        "viewer": viewer,
        "bot": BOT_USER_ID,
        "commands": list(COMMANDS),
        "shortcuts": [{"callback_id": k, "name": v} for k, v in MESSAGE_SHORTCUTS.items()],
        "people": people,
        "conversations": conversations,
        "messages": messages,
        "ephemerals": ephemerals,
        "modal": modal,
        "home": home,
        "files": files,
        "canvases": canvases,
        "deliveries": [
            {"at": d.at, "what": d.what, "status": d.status} for d in sandbox.deliveries
        ],
        "refusals": list(sandbox.slack.problems[-SHOWN_REFUSALS:]),
    }
