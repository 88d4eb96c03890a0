"""`/cop sustain`: coordinators set how often the health digest comes, how often they are
prompted to invite a new perspective, who receives the sponsor report and how often, how often
members are asked for a value story, and the stage of development if they know better than
the figures."""

from __future__ import annotations

from functools import partial
from typing import Any

from bot.services import sustaining
from bot.services.communities import is_closed
from bot.services.development import DevelopmentStage
from bot.services.errors import CommunityError
from bot.services.health import Cadence, current_figures
from bot.services.sustaining import NEVER, Plan
from bot.text import escape
from bot.value import StoryCadence
from handlers.blocks import Block, as_id, context, modal, plain
from handlers.coordinator_forms import show_closed
from handlers.cop import CopRequest
from handlers.registry import Registry
from handlers.requests import Submission
from handlers.saving import refuse_save

SETTINGS_FORM = "sustaining_settings"
DERIVED = "derived"
NAMES_STAKEHOLDERS = "report_names_stakeholders"
LEARNING = "learning_monthly"
COORDINATORS_ONLY = "Only this community's coordinators can change how it is sustained."


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label), "value": value}


def _input(block_id: str, label: str, element: dict[str, Any], **extra: Any) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {**element, "action_id": block_id},
        **extra,
    }


def _choice(block_id: str, label: str, options: list[dict[str, Any]], chosen: str) -> Block:
    element = {
        "type": "radio_buttons" if len(options) <= 5 else "static_select",
        "options": options,
        "initial_option": next(o for o in options if o["value"] == chosen),
    }
    return _input(block_id, label, element)


def settings_view(
    community_id: int, name: str, plan: Plan, recipients: list[str], derived: DevelopmentStage
) -> dict[str, Any]:
    cadences = [_option(c.value, c.value.capitalize()) for c in Cadence]
    stages = [_option(DERIVED, f"From the figures (now: {derived.label})")]
    stages += [_option(s.value, s.label) for s in DevelopmentStage]
    people: dict[str, Any] = {"type": "multi_users_select"}
    may_name = _option(NAMES_STAKEHOLDERS, "It may name stakeholders, with their views and support")
    names: dict[str, Any] = {"type": "checkboxes", "options": [may_name]}
    if plan.names_stakeholders:
        names["initial_options"] = [may_name]
    ask = _option(LEARNING, "Ask members “What did we learn this month?” each month")
    learning: dict[str, Any] = {"type": "checkboxes", "options": [ask]}
    if plan.learning:
        learning["initial_options"] = [ask]
    if recipients:
        people["initial_users"] = recipients
    return modal(
        title="Sustaining",
        callback_id=SETTINGS_FORM,
        submit="Save",
        close="Cancel",
        metadata={"community": community_id},
        blocks=[
            context(f"How *{escape(name)}* is kept going."),
            _choice("digest_period", "Health digest for coordinators", cadences, plan.digest),
            _input(
                "perspective_weeks",
                "Prompt to invite a new perspective every … weeks",
                {
                    "type": "plain_text_input",
                    "initial_value": str(plan.perspective_weeks),
                    "max_length": 2,
                },
            ),
            _choice(
                "report_period",
                "Send the sponsor report",
                [_option(NEVER, "Never"), *cadences],
                plan.report.value if plan.report else NEVER,
            ),
            _input(
                "report_recipients",
                "Send it to",
                people,
                optional=True,
                hint=plain("Stakeholders in this workspace, e.g. the sponsors' representatives."),
            ),
            _input(
                NAMES_STAKEHOLDERS,
                "What the report may say",
                names,
                optional=True,
                hint=plain(
                    "Unticked, the report names no stakeholder: their views and support stay "
                    "on the map coordinators see in /cop health."
                ),
            ),
            _input(
                LEARNING,
                "What the community learned",
                learning,
                optional=True,
                hint=plain("Their answers go into the community's library (/cop library)."),
            ),
            _choice(
                "stories_period",
                "Ask members for a value story",
                [_option(c.value, c.label) for c in StoryCadence],
                plan.stories,
            ),
            _choice(
                "stage_override",
                "Stage of development",
                stages,
                plan.stage_override or DERIVED,
            ),
        ],
    )


def read_settings(view: dict[str, Any]) -> dict[str, Any]:
    values = (view.get("state") or {}).get("values") or {}

    def element(block_id: str) -> dict[str, Any]:
        return (values.get(block_id) or {}).get(block_id) or {}

    def chosen(block_id: str) -> str | None:
        return (element(block_id).get("selected_option") or {}).get("value")

    stage = chosen("stage_override")
    return {
        "digest_period": chosen("digest_period"),
        "perspective_weeks": element("perspective_weeks").get("value"),
        "report_period": chosen("report_period"),
        "report_recipients": list(element("report_recipients").get("selected_users") or []),
        "stage_override": None if stage in (None, DERIVED) else stage,
        "stories_period": chosen("stories_period"),
        "report_names_stakeholders": any(
            o.get("value") == NAMES_STAKEHOLDERS
            for o in element(NAMES_STAKEHOLDERS).get("selected_options") or []
        ),
        LEARNING: any(
            o.get("value") == LEARNING for o in element(LEARNING).get("selected_options") or []
        ),
    }


async def open_settings(registry: Registry, request: CopRequest) -> None:
    """`/cop sustain`: the settings form for coordinators; a closed community's read-only note
    for anyone."""
    database, clock = registry.runtime.database, registry.runtime.clock
    record = request.community
    if is_closed(record):  # a read-only note, not a form refused only at Save
        await show_closed(
            request,
            record,
            title="Sustaining",
            why=sustaining.CLOSED_SUSTAINING,
        )
        return
    if not record.is_coordinator(request.user_id):
        await request.tell(COORDINATORS_ONLY)
        return
    community_id = record.community.id or 0
    plan = await sustaining.plan(database, team_id=request.team_id, community_id=community_id)
    _, found = await current_figures(database, clock, record)
    recipients = plan.recipients or sustaining.stakeholder_users(record)
    view = settings_view(community_id, record.community.name, plan, recipients, found.derived)
    await request.open_form(view)


async def save_settings(submission: Submission) -> None:
    """The settings form saved (the service checks the person is a coordinator)."""
    try:
        await sustaining.save_settings(
            submission.database,
            submission.clock,
            team_id=submission.team_id,
            community_id=as_id(submission.metadata.get("community")),
            user_id=submission.user_id,
            values=read_settings(submission.view),
        )
    except CommunityError as refused:
        await refuse_save(
            submission, refused, field="digest_period", coordinators_only=COORDINATORS_ONLY
        )
        return
    await submission.ack()


def register(registry: Registry) -> None:
    registry.cop.subcommand(
        "sustain",
        summary="coordinators: digest, new perspectives, sponsor report, stage",
        community=True,
    )(partial(open_settings, registry))
    registry.submission(SETTINGS_FORM, save_settings)
