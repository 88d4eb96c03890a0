"""The community-of-practice checklist, as data.

This is the one place that says what each stage asks. The stage modals, the read-only summary,
`/cop status`, App Home and every export are built from it, so a question reworded here is
reworded everywhere. Question texts are the checklist's own words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"  # multiline free text
    LINE = "line"  # one line of free text (list item fields)
    CHOICE = "choice"  # one of several options
    CHOICES = "choices"  # any of several options
    USER = "user"  # one person
    USERS = "users"  # several people
    DATE = "date"
    TIME = "time"  # a wall-clock time, "HH:MM"
    LIST = "list"  # several items, each with its own fields


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    """One input: a question of a stage, or a field of a list item."""

    key: str
    label: str
    kind: Kind
    required: bool = False
    max_length: int = 3000
    options: tuple[Option, ...] = ()
    hint: str | None = None
    placeholder: str | None = None
    # What documents that leave Slack call this answer: a topic heading for a question
    # ("Need"), a short word before a list item's field ("owner"). The form's label if empty.
    topic: str = ""

    @property
    def heading(self) -> str:
        return self.topic or self.label

    def option_label(self, value: str) -> str:
        return next((o.label for o in self.options if o.value == value), value)


@dataclass(frozen=True)
class Question(Field):
    # For LIST questions: the fields of each item, the singular noun, and a cap that keeps
    # the stage modal inside Slack's 100-block limit.
    item_fields: tuple[Field, ...] = ()
    item_noun: str = "item"
    max_items: int = 30
    # A checklist question answered by fields of another question's list items, e.g.
    # "What are the interests and views of each stakeholder?" is answered per stakeholder.
    answered_by: tuple[str, tuple[str, ...]] | None = None
    # For LIST questions: the item field documents list the items by (milestones by date).
    order_by: str | None = None

    def item_field(self, key: str) -> Field:
        return next(f for f in self.item_fields if f.key == key)


@dataclass(frozen=True)
class Stage:
    key: str
    number: int
    title: str
    summary: str
    questions: tuple[Question, ...] = field(default=())

    @property
    def has_form(self) -> bool:
        return bool(self.questions)

    def question(self, key: str) -> Question:
        return next(q for q in self.questions if q.key == key)

    @property
    def inputs(self) -> tuple[Question, ...]:
        """Questions with an input of their own in the stage modal."""
        return tuple(q for q in self.questions if q.answered_by is None and q.kind != Kind.LIST)

    @property
    def lists(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.kind == Kind.LIST)


def _options(*pairs: tuple[str, str]) -> tuple[Option, ...]:
    return tuple(Option(value, label) for value, label in pairs)


LEVELS = _options(
    ("high", "High"),
    ("medium", "Medium"),
    ("low", "Low"),
)

SUPPORT = _options(
    ("champion", "Champion"),
    ("supportive", "Supportive"),
    ("neutral", "Neutral"),
    ("sceptical", "Sceptical"),
    ("opposed", "Opposed"),
)

POLICY_AREAS = _options(
    ("membership", "Membership"),
    ("code_of_conduct", "Code of conduct"),
    ("governance", "Community governance"),
    ("security", "Security"),
    ("free_speech", "Level of free speech"),
    ("privacy", "Privacy"),
    ("copyright", "Copyright"),
)

# Milestones Cultivate records itself, so they are marked done when they happen.
LAUNCH_WORKSHOP_HELD, TERMS_AGREED = "launch_workshop", "terms_agreed"
MILESTONE_EVENTS = _options(
    (LAUNCH_WORKSHOP_HELD, "the launch workshop is held"),
    (TERMS_AGREED, "the terms of reference are agreed"),
)

MEMBERSHIP = _options(
    ("open", "Open: anyone may join"),
    ("invitation", "By invitation only"),
)

COMMUNICATION_MODES = _options(
    ("channel", "Slack channel conversations"),
    ("threads", "Threads on a topic"),
    ("video", "Video calls"),
    ("face_to_face", "Face-to-face meetings"),
    ("workshops", "Workshops and events"),
    ("documents", "Shared documents and canvases"),
    ("email", "Email"),
    ("newsletter", "Newsletter or digest"),
)

PUBLIC_DOMAIN = _options(
    ("private", "Private to members"),
    ("organisation", "Open to the whole organisation"),
    ("outputs_public", "Outputs shared publicly"),
    ("public", "Fully public"),
)

SCOPE = Stage(
    key="scope",
    number=1,
    title="Defining the scope",
    summary="Need, rationale, core issues, work to date, aims, benefits, outputs and outcomes.",
    questions=(
        Question(
            "need", "Is there a genuine need for a Community of Practice?", Kind.TEXT, topic="Need"
        ),
        Question(
            "rationale",
            "What is the rationale for developing the community?",
            Kind.TEXT,
            topic="Rationale",
        ),
        Question(
            "core_issues",
            "What are the core issues which need to be addressed?",
            Kind.TEXT,
            topic="Core issues",
        ),
        Question(
            "work_to_date",
            "What work has been done to date on this theme?",
            Kind.TEXT,
            topic="Work to date",
        ),
        Question("aims", "What is the community setting out to achieve?", Kind.TEXT, topic="Aims"),
        Question(
            "benefits",
            "What benefits can the community offer – to members, to the wider organisation?",
            Kind.TEXT,
            topic="Benefits",
        ),
        Question(
            "outputs",
            "What will be the outputs and outcomes of the community?",
            Kind.TEXT,
            topic="Outputs and outcomes",
        ),
    ),
)

GOVERNANCE = Stage(
    key="governance",
    number=2,
    title="Governance",
    summary="Decisions and accountability, context, resources, milestones and stakeholders.",
    questions=(
        Question(
            "decisions",
            "What are the decision making and accountability arrangements?",
            Kind.TEXT,
            topic="Decisions and accountability",
        ),
        Question(
            "context",
            "What is the organisational context around the community?",
            Kind.TEXT,
            topic="Organisational context",
        ),
        Question(
            "resources",
            "What are the resources available to the community – from the host organisation, "
            "from others?",
            Kind.TEXT,
            topic="Resources",
        ),
        Question(
            "milestones",
            "What are the key milestones and deadlines?",
            Kind.LIST,
            topic="Milestones",
            item_noun="milestone",
            order_by="due",
            item_fields=(
                Field("title", "Milestone", Kind.LINE, required=True, max_length=150),
                Field("due", "Due date", Kind.DATE, required=True, topic="due"),
                Field(
                    "owner",
                    "Owner",
                    Kind.USER,
                    hint="The owner gets a reminder a week and a day before it is due.",
                    topic="owner",
                ),
                Field(
                    "done", "Done on", Kind.DATE, hint="Leave empty until it is done.", topic="done"
                ),
                Field(
                    "done_when",
                    "Or done when Cultivate sees",
                    Kind.CHOICE,
                    options=MILESTONE_EVENTS,
                    hint="For a milestone Cultivate records itself: it is marked done that day.",
                    topic="done when",
                ),
            ),
        ),
        Question(
            "stakeholders",
            "Who are the key stakeholders?",
            Kind.LIST,
            topic="Stakeholders",
            item_noun="stakeholder",
            max_items=20,
            item_fields=(
                Field("name", "Name or group", Kind.LINE, required=True, max_length=150),
                Field(
                    "user", "Slack user, if they are in this workspace", Kind.USER, topic="contact"
                ),
                Field("organisation", "Organisation", Kind.LINE, max_length=150, topic="of"),
                Field("interests", "Interests and views", Kind.TEXT, max_length=1000),
                Field("support", "Support", Kind.CHOICE, options=SUPPORT, topic="support"),
                Field("influence", "Influence", Kind.CHOICE, options=LEVELS, topic="influence"),
            ),
        ),
        Question(
            "stakeholder_views",
            "What are the interests and views of each stakeholder?",
            Kind.TEXT,
            topic="Stakeholders' interests and views",
            answered_by=("stakeholders", ("interests",)),
        ),
        Question(
            "stakeholder_support",
            "How supportive and influential is each stakeholder?",
            Kind.TEXT,
            topic="Stakeholders' support and influence",
            answered_by=("stakeholders", ("support", "influence")),
        ),
    ),
)

MEMBERS = Stage(
    key="members",
    number=3,
    title="Members",
    summary="Contributors, experts, coordinators, membership, skills and levels of participation.",
    questions=(
        Question(
            "contributors",
            "Who can make a major contribution to this community?",
            Kind.USERS,
            topic="Major contributors",
        ),
        Question("experts", "Who are the subject experts?", Kind.USERS, topic="Subject experts"),
        Question(
            "possible_coordinators",
            "Who are the possible co-ordinators, facilitators?",
            Kind.USERS,
            topic="Possible coordinators and facilitators",
        ),
        Question(
            "membership",
            "Will membership be open or by invitation only?",
            Kind.CHOICE,
            topic="Open or by invitation",
            required=True,
            options=MEMBERSHIP,
        ),
        Question(
            "skills",
            "What skills and experience will be needed in the community?",
            Kind.TEXT,
            topic="Skills and experience",
        ),
        Question(
            "levels",
            "Will there be different levels of participation? If so, how will this be managed?",
            Kind.LIST,
            topic="Levels of participation",
            item_noun="level",
            max_items=8,
            item_fields=(
                Field(
                    "name",
                    "Level",
                    Kind.LINE,
                    required=True,
                    max_length=80,
                    placeholder="e.g. Core, Active, Peripheral",
                ),
                Field(
                    "description", "Who it is for and how it is managed", Kind.TEXT, max_length=1000
                ),
            ),
        ),
        Question(
            "stakeholder_involvement",
            "How can stakeholders be involved in the community?",
            Kind.TEXT,
            topic="How stakeholders are involved",
        ),
    ),
)

ROLES = Stage(
    key="roles",
    number=4,
    title="Roles",
    summary="Responsibilities, who coordinates, who facilitates, each stakeholder's part.",
    questions=(
        Question(
            "assignments",
            "What should be the roles and responsibilities within the community?",
            Kind.LIST,
            topic="Roles and responsibilities",
            item_noun="role",
            max_items=15,
            item_fields=(
                Field("role", "Role", Kind.LINE, required=True, max_length=80),
                Field("responsibilities", "Responsibilities", Kind.TEXT, max_length=1000),
                Field("people", "People", Kind.USERS, topic="held by"),
            ),
        ),
        Question(
            "coordinators",
            "Who will organise and co-ordinate the community's interactions and activities?",
            Kind.USERS,
            topic="Coordinators",
            required=True,
            hint="Co-ordinators can edit every stage. Add co-coordinators here.",
        ),
        Question(
            "facilitators",
            "Who will facilitate the interactions within the community, e.g. face-to-face meetings?",
            Kind.USERS,
            topic="Facilitators",
        ),
        Question(
            "stakeholder_roles",
            "What should be the role of each stakeholder and how should they be engaged and "
            "involved?",
            Kind.TEXT,
            topic="Stakeholders' roles",
        ),
    ),
)

WAYS_OF_WORKING = Stage(
    key="ways",
    number=5,
    title="Ways of working",
    summary="Principles, values, communication, structure, openness, risks and policies.",
    questions=(
        Question(
            "principles",
            "What should be the guiding principles underpinning the community?",
            Kind.TEXT,
            topic="Guiding principles",
        ),
        Question(
            "values",
            "What are the values of the community and how will it work?",
            Kind.TEXT,
            topic="Values",
        ),
        Question(
            "working_together",
            "How can the community be encouraged to work together most effectively?",
            Kind.TEXT,
            topic="Working together",
        ),
        Question(
            "communication_modes",
            "What modes of communication will be set up within the community?",
            Kind.CHOICES,
            topic="Modes of communication",
            options=COMMUNICATION_MODES,
        ),
        Question(
            "structure", "How should the community be structured?", Kind.TEXT, topic="Structure"
        ),
        Question(
            "public_domain",
            "To what extent should the community be in the public domain?",
            Kind.CHOICE,
            topic="Openness",
            options=PUBLIC_DOMAIN,
        ),
        Question(
            "risks",
            "What are the main risks to the success of the community, and how will they be managed?",
            Kind.LIST,
            topic="Risks",
            item_noun="risk",
            max_items=20,
            item_fields=(
                Field("risk", "Risk", Kind.LINE, required=True, max_length=200),
                Field("likelihood", "Likelihood", Kind.CHOICE, options=LEVELS, topic="likelihood"),
                Field("impact", "Impact", Kind.CHOICE, options=LEVELS, topic="impact"),
                Field("mitigation", "Mitigation", Kind.TEXT, max_length=1000),
                Field("owner", "Owner", Kind.USER, topic="owner"),
            ),
        ),
        Question(
            "stakeholder_communication",
            "How will communication with stakeholders and others be carried out?",
            Kind.TEXT,
            topic="Communicating with stakeholders",
        ),
        Question(
            "policies",
            "How will clear policies be developed (membership, codes of conduct, community "
            "governance, security, level of free speech, privacy, copyright)?",
            Kind.LIST,
            topic="Policies",
            item_noun="policy",
            max_items=len(POLICY_AREAS),
            item_fields=(
                Field("area", "Policy", Kind.CHOICE, required=True, options=POLICY_AREAS),
                Field(
                    "approach",
                    "How it will be developed, or the policy itself",
                    Kind.TEXT,
                    max_length=2000,
                ),
                Field(
                    "link", "Link to the full text", Kind.LINE, max_length=500, topic="full text at"
                ),
                Field(
                    "status",
                    "Status",
                    Kind.CHOICE,
                    options=_options(("draft", "Draft"), ("agreed", "Agreed")),
                    topic="status",
                ),
            ),
        ),
    ),
)

LAUNCH = Stage(
    key="launch",
    number=6,
    title="Launch",
    summary="A workshop where members meet and agree purpose, terms of reference and ways of working.",
)
# What the launch workshop is for, in the checklist's words: its agenda starts from these.
LAUNCH_AGENDA: tuple[str, ...] = (
    "Members meet each other and start building relationships.",
    "Explore and agree the community's purpose, terms of reference and ways of working.",
)
SUSTAINING = Stage(
    key="sustaining",
    number=7,
    title="Developing and sustaining",
    summary="Regular meetings, supportive organisations, new perspectives, recruitment, welcomes.",
)
CLOSURE = Stage(
    key="closure",
    number=8,
    title="Closure",
    summary="Celebrate what was achieved, and capture or hand on the body of knowledge.",
)

STAGES: tuple[Stage, ...] = (
    SCOPE,
    GOVERNANCE,
    MEMBERS,
    ROLES,
    WAYS_OF_WORKING,
    LAUNCH,
    SUSTAINING,
    CLOSURE,
)
SETUP_STAGES: tuple[Stage, ...] = tuple(s for s in STAGES if s.has_form)
_BY_KEY = {s.key: s for s in STAGES}


def stage(key: str) -> Stage:
    return _BY_KEY[key]


def find_stage(key: str) -> Stage | None:
    return _BY_KEY.get(key)


@dataclass(frozen=True)
class TermsSection:
    """A topic of the documents that leave Slack (terms of reference, archive), and the saved
    answers written under it, as (stage key, question key) pairs in the order they are shown.
    Every question of the checklist is under exactly one topic."""

    title: str
    answers: tuple[tuple[str, str], ...]


# The terms of reference a community agrees at its launch, drafted from its setup answers;
# the archive writes the answers under the same topics.
TERMS_OF_REFERENCE: tuple[TermsSection, ...] = (
    TermsSection(
        "Purpose",
        (("scope", "aims"), ("scope", "need"), ("scope", "rationale"), ("scope", "benefits")),
    ),
    TermsSection(
        "Scope",
        (("scope", "core_issues"), ("scope", "work_to_date"), ("scope", "outputs")),
    ),
    TermsSection(
        "Membership",
        (
            ("members", "membership"),
            ("members", "contributors"),
            ("members", "experts"),
            ("members", "possible_coordinators"),
            ("members", "skills"),
            ("members", "levels"),
        ),
    ),
    TermsSection(
        "Roles",
        (("roles", "coordinators"), ("roles", "facilitators"), ("roles", "assignments")),
    ),
    TermsSection(
        "Governance",
        (("governance", "decisions"), ("governance", "context"), ("governance", "resources")),
    ),
    TermsSection(
        "Ways of working",
        (
            ("ways", "principles"),
            ("ways", "values"),
            ("ways", "working_together"),
            ("ways", "structure"),
            ("ways", "public_domain"),
            ("ways", "communication_modes"),
            ("ways", "risks"),
        ),
    ),
    TermsSection("Policies", (("ways", "policies"),)),
    TermsSection("Milestones", (("governance", "milestones"),)),
    TermsSection(
        "Stakeholders",
        (
            ("governance", "stakeholders"),
            ("governance", "stakeholder_views"),
            ("governance", "stakeholder_support"),
            ("members", "stakeholder_involvement"),
            ("roles", "stakeholder_roles"),
            ("ways", "stakeholder_communication"),
        ),
    ),
)
