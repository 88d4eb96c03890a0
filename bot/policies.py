"""The seven policies the ways-of-working stage asks about, and a starter text for each.

A coordinator facing "clear policies for membership, codes of conduct, …" can start from the
starter, edit it, and mark it agreed once the community has agreed it. The starters are plain,
short and written for a UK public-sector community; words in square brackets are for the
community to fill in. They are data, here and nowhere else: the ways-of-working form offers
them, and what is saved is an ordinary answer (a `policies` item), written into the terms of
reference like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.catalogue import POLICY_AREAS, WAYS_OF_WORKING

POLICIES = WAYS_OF_WORKING.question("policies")
# A policy item's fields (the catalogue's): which policy, its text, a link, its status.
AREA, TEXT, LINK, STATUS = "area", "approach", "link", "status"
DRAFT, AGREED = "draft", "agreed"


class State(StrEnum):
    EMPTY = "empty"  # nothing written yet
    DRAFTED = "drafted"  # written, not agreed yet
    AGREED = "agreed"


@dataclass(frozen=True)
class Starter:
    area: str  # a POLICY_AREAS value
    guidance: str  # one line of plain advice, shown beside the starter
    text: str

    @property
    def label(self) -> str:
        return POLICIES.item_field(AREA).option_label(self.area)


_STARTERS = (
    Starter(
        "membership",
        "Who may join and how; match it to the members stage's open or by invitation. "
        "Replace the words in square brackets.",
        "Membership is open to anyone working in or with [our organisation and its partners] "
        "who has an interest in [our domain]. If membership is by invitation, the coordinators "
        "answer every request to join, and say why when they decline one.\n\n"
        "Members are asked to introduce themselves when they join, to take part in whatever "
        "way suits them, from reading to leading, and to keep to the code of conduct.\n\n"
        "Colleagues from partner organisations, the voluntary sector and universities are "
        "welcome. Everyone takes part as an individual; suppliers do not use the community "
        "to sell, and nobody uses it to lobby.\n\n"
        "Anyone may leave at any time by leaving the channel. The coordinators may remove "
        "someone who seriously or repeatedly breaks the code of conduct, and will tell them "
        "why.",
    ),
    Starter(
        "code_of_conduct",
        "How members treat each other and what happens when someone does not. Short enough "
        "to read in a minute; newcomers see it in their welcome.",
        "We learn from each other by sharing openly, so we look after the space that makes "
        "that possible.\n\n"
        "We are kind, courteous and patient, and assume good intent. We respect every role, "
        "organisation, profession and level of experience. We disagree about ideas, never "
        "about people. We make room for others to speak, welcome newcomers, and credit other "
        "people's work.\n\n"
        "We keep to the standards of our own organisations here as at work, including the "
        "Seven Principles of Public Life. We do not tolerate harassment, bullying, "
        "discrimination or personal attacks.\n\n"
        "If something worries you, tell a coordinator privately (or another coordinator, if "
        "it concerns one of them). The coordinators will listen, be fair, and act in "
        "proportion: a quiet word, a reminder, removing a message or, for serious or repeated "
        "breaches, removing someone from the community. Conduct that may be misconduct at "
        "work may be raised with the person's employer.",
    ),
    Starter(
        "governance",
        "How decisions are made, recorded and reviewed, and who the community answers to.",
        "The coordinators look after the community on its members' behalf. They are "
        "accountable to [the sponsoring director or board], whom they update every "
        "[quarter].\n\n"
        "We make decisions openly, in the channel or at a meeting, and by consensus where we "
        "can. Where we cannot agree, the coordinators decide and say why. Decisions and "
        "actions are recorded in the meeting notes.\n\n"
        "The terms of reference and these policies are agreed by the members and reviewed at "
        "least once a year; anyone may propose a change. Coordinators and facilitators are "
        "chosen from the members for a year at a time and may stand again.\n\n"
        "Anyone with a conflict of interest in a decision says so and stays out of it. "
        "Concerns about how the community is run go to the coordinators, and then to "
        "[the sponsor].",
    ),
    Starter(
        "security",
        "What may and may not be shared here. Check it with your information security or "
        "information governance team.",
        "This community is for information at OFFICIAL under the Government Security "
        "Classifications. Do not share anything marked OFFICIAL-SENSITIVE or above, personal "
        "data about the public or service users, commercially confidential material, or "
        "details of systems' security.\n\n"
        "Share documents as links to where your organisation keeps them, so that its access "
        "controls still apply, rather than uploading copies.\n\n"
        "Sign in to Slack with your organisation's account and two-factor authentication, and "
        "never share a password, token or access link here.\n\n"
        "If something is posted that should not be, tell a coordinator straight away and "
        "report it to your organisation's information security team as a possible "
        "incident. The coordinators will remove it and, where personal data is involved, "
        "tell the data protection officer.",
    ),
    Starter(
        "free_speech",
        "How openly people may speak, and where the limits are.",
        "We want open, honest discussion, including challenge to current policy and practice: "
        "that is how we learn.\n\n"
        "Speak for yourself, not for your organisation, unless you say that you are. What is "
        "said here may be used elsewhere but not attributed to a person or their "
        "organisation without their agreement (the Chatham House Rule).\n\n"
        "The limits are the code of conduct, the law (including defamation, equality and "
        "data protection law), and the duties of our jobs, such as political impartiality "
        "for civil servants and politically restricted posts in local government. Do not "
        "share what you were told in confidence. Concerns about wrongdoing belong in your "
        "organisation's whistleblowing procedure, not here.\n\n"
        "The coordinators may remove a post that crosses these limits, and will tell its "
        "author why.",
    ),
    Starter(
        "privacy",
        "How members' personal data is handled, under the UK GDPR and the Data Protection Act "
        "2018. Check it with your data protection officer and fill in the square brackets.",
        "[Organisation] is the controller of the personal data this community holds about its "
        "members: names and Slack profiles, roles, what members choose to post or save, "
        "meeting attendance, and counts of activity (never the content of messages). We "
        "handle it under the UK GDPR and the Data Protection Act 2018.\n\n"
        "Our lawful basis is public task (UK GDPR Article 6(1)(e)): helping staff share "
        "knowledge to improve public services. [An organisation that is not a public "
        "authority may rely on legitimate interests, Article 6(1)(f), instead.] We do not ask "
        "for special category data; please do not post it, or personal data about the public "
        "or service users.\n\n"
        "We keep members' data while the community runs and for [12 months] after it closes, "
        "then delete it; what members chose to share is kept in the archive under "
        "[Organisation]'s records retention schedule.\n\n"
        "You have the right to see the data held about you, and to have it corrected or "
        "erased, or its use restricted or objected to. In Slack, /cop forget shows what is "
        "held about you and erases it. Ask [the data protection officer, contact] about "
        "anything else; you may also complain to the Information Commissioner's Office.",
    ),
    Starter(
        "copyright",
        "Who owns what is shared, and the open licence for what the community makes. Keep one "
        "of the two licences and delete the other.",
        "Share only what you have the right to share: your own work, your organisation's with "
        "its permission, or work under a licence that allows it. Otherwise link to it, and "
        "always credit the source.\n\n"
        "Sharing here does not change who owns a work. What civil servants make in their work "
        "is Crown copyright; what other public-sector staff make normally belongs to their "
        "employer.\n\n"
        "What the community makes together (guides, templates, notes) is published under "
        "[the Open Government Licence v3.0 / the Creative Commons Attribution 4.0 "
        "International licence (CC BY 4.0)], so that anyone may reuse it with attribution, "
        "unless the coordinators agree otherwise for a piece of work and say so on it. "
        "Personal data, other people's material and anything confidential are never "
        "published under an open licence.\n\n"
        "If you think something here infringes your rights, tell a coordinator: it will be "
        "taken down while we look into it.",
    ),
)
STARTERS: dict[str, Starter] = {s.area: s for s in _STARTERS}
# The kinds in the checklist's order, each with its starter.
KINDS: tuple[Starter, ...] = tuple(STARTERS[o.value] for o in POLICY_AREAS)


def policy_of(answers: dict[str, Any], area: str) -> dict[str, Any] | None:
    """The stage's policy of this kind (the first, if an older form saved two)."""
    return next((p for p in answers.get(POLICIES.key) or [] if p.get(AREA) == area), None)


def state_of(item: dict[str, Any] | None) -> State:
    if item is None or not (item.get(TEXT) or item.get(LINK)):
        return State.EMPTY
    return State.AGREED if item.get(STATUS) == AGREED else State.DRAFTED
