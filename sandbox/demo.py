"""The sandbox's Demo community: a month of made-up history, made through the app's own paths.

Nothing is written to the database here. The demo does what people would do in Slack, in the
order they would do it, through the same `Sandbox` methods the page calls: a coordinator types
`/cop start` and fills in the forms, people join the channel and post in it (`message` events),
answer a meeting's RSVP buttons, write its notes from the prompt in their messages, mark a
milestone done from its reminder, keep a message in the community's library; and the sandbox's clock moves on a day at a time, the
scheduler sending whatever falls due on the way. So what the newcomer sees afterwards (health
pictures, the sponsor report, levels, the digest) is what the app made of that month.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fakeslack.workspace import BOT_USER_ID, Channel, Person
from sandbox.sandbox import Sandbox, SandboxError

BETWEEN_MESSAGES = timedelta(minutes=97)
DEMO_NAME = "Retrofitting social housing"
DEMO_CHANNEL = "retrofit-housing"
DEMO_TZ = "Europe/London"

# The made-up people of the demo, beside the sandbox's own (id, handle, name, title).
DEMO_PEOPLE = (
    ("U0PRIYA", "priya.shah", "Priya Shah", "Retrofit Surveyor"),
    ("U0TOM", "tom.becker", "Tom Becker", "Energy Advisor"),
    ("U0MEI", "mei.lin", "Mei Lin", "Tenant Liaison Officer"),
    ("U0JOE", "joe.adeyemi", "Joe Adeyemi", "Asset Manager"),
    ("U0SARA", "sara.novak", "Sara Novak", "Building Physicist"),
    ("U0LUIS", "luis.ortega", "Luis Ortega", "Procurement Lead"),
)
PRIYA, TOM, MEI, JOE, SARA, LUIS = (p[0] for p in DEMO_PEOPLE)

# The stage forms' answers where a made-up one reads better than the generic sentence.
ANSWERS: dict[str, str] = {
    "need": "Eleven councils are retrofitting the same house types, each learning alone.",
    "rationale": "Share what works before the next funding round, not after it.",
    "core_issues": "Damp after insulation, tenants' trust, and contractors we can rely on.",
    "work_to_date": "Two pilots (40 homes) and a survey of 300 tenants.",
    "aims": "A shared retrofit guide, and fewer repeated mistakes.",
    "outputs": "The guide, a contractor checklist, and quarterly case clinics.",
    "decisions": "The coordinators decide day to day; the sponsors sign off the guide.",
    "skills": "Building physics, tenant engagement, procurement.",
    "values": "Share failures as readily as successes.",
    "structure": "One channel, monthly case clinics, a small core group.",
}
GENERIC_ANSWER = "Agreed by the core group at the first meeting."

# Who says what, and on which day of the month.
CONVERSATION: tuple[tuple[int, str, str], ...] = (
    (1, PRIYA, "Hello all! Our pilot found damp in 3 of 20 homes after external insulation."),
    (1, TOM, "We saw the same: ventilation first, insulation second, is our new rule."),
    (3, MEI, "Tenants ask me most about disruption. Any leaflets that worked?"),
    (3, PRIYA, "Ours is in the channel canvas now."),
    (4, JOE, "Sharing our asset data template for the survey."),
    (5, TOM, "Heat pump quotes came in 30% under last year's."),
    (6, MEI, "Thanks for the leaflet, tenants found it clear."),
    (8, SARA, "Happy to look at any moisture readings people have."),
    (9, PRIYA, "Sara, I'll send the readings from the pilot."),
    (11, LUIS, "We're drafting a framework for retrofit contractors. Views welcome."),
    (12, JOE, "Luis, count us in for the framework."),
    (14, TOM, "Draft guide section on ventilation is up for comments."),
    (15, SARA, "Left comments on the ventilation section."),
    (18, MEI, "Two tenants offered to speak at the next clinic."),
    (20, PRIYA, "Second pilot started today: 25 homes."),
    (22, LUIS, "Framework out for consultation until the end of the month."),
    (25, TOM, "Interim figures: bills down 28% in the first pilot."),
    (27, MEI, "Tenant survey round two is live."),
    (29, PRIYA, "See you all at the next clinic!"),
)
JOINS: tuple[tuple[int, str], ...] = (
    (1, PRIYA),
    (1, TOM),
    (1, MEI),
    (2, JOE),
    (6, SARA),
    (9, LUIS),
)


@dataclass(frozen=True)
class DemoResult:
    channel_id: str
    coordinator: str


class Demo:
    """Plays the month through a sandbox, as `coordinator` and the made-up people."""

    def __init__(self, sandbox: Sandbox, coordinator: str) -> None:
        self.sandbox = sandbox
        self.coordinator = coordinator
        self.started = sandbox.clock.now()
        self.channel_id = ""

    # -- the month ------------------------------------------------------------------------

    async def run(self) -> DemoResult:
        self._cast()
        await self._start()
        await self._answer_stages()
        launch = await self._plan_meeting(
            "launch", day=3, at="15:00", values={}, callback_id="launch_form"
        )
        for today in range(1, 31):
            await self._until_day(today)
            for who in [who for day, who in JOINS if day == today]:
                await self.sandbox.join(who, self.channel_id)
            for who, text in [(who, text) for day, who, text in CONVERSATION if day == today]:
                await self._later(BETWEEN_MESSAGES)  # not all at the same minute
                await self.sandbox.say(who, self.channel_id, text)
            if today == 2:
                await self._answer_rsvps({PRIYA: "going", TOM: "going", MEI: "maybe", JOE: "cant"})
            if today == 3:
                await self._save_to_knowledge(MEI, "ventilation first", tags="damp, ventilation")
            if today == 4:
                await self._write_notes(
                    launch,
                    notes="We agreed our purpose and to meet monthly for a case clinic.",
                    actions="- Priya: share the pilot's damp findings\n- Tom: draft the "
                    "ventilation section",
                    owners=[(PRIYA, 14), (TOM, 7)],
                )
            if today == 7:
                await self._click_in_dm(TOM, "action_done")  # reminded the day before
            if today == 10:
                clinic = await self._plan_meeting(
                    "meeting",
                    day=17,
                    at="14:00",
                    values={"title": "Case clinic: damp after insulation"},
                )
            if today == 11:
                await self._answer_rsvps(
                    {PRIYA: "going", SARA: "going", LUIS: "maybe", MEI: "going", TOM: "cant"}
                )
            if today == 13:
                await self._click_in_dm(self.coordinator, "milestone_done")
            if today == 18:
                await self._write_notes(
                    clinic,
                    notes="Sara walked us through moisture readings from two pilots.",
                    actions="- Sara: a one-page guide to reading moisture meters",
                    owners=[(SARA, None)],
                )
        await self._command("/cop health")
        await self._command("/cop report")
        return DemoResult(channel_id=self.channel_id, coordinator=self.coordinator)

    # -- the scene: people and a channel, on Slack's side ------------------------------------

    def _cast(self) -> None:
        workspace = self.sandbox.workspace
        with workspace.lock:
            for user_id, handle, name, title in DEMO_PEOPLE:
                if user_id not in workspace.people:
                    workspace.people[user_id] = Person(
                        user_id, handle, name, DEMO_TZ, name.split()[0], title
                    )
            taken = {c.name for c in workspace.channels.values()}
            n = 1
            while (name := DEMO_CHANNEL if n == 1 else f"{DEMO_CHANNEL}-{n}") in taken:
                n += 1
            self.channel_id = f"C0RETROFIT{n}"
            workspace.channels[self.channel_id] = Channel(
                self.channel_id,
                name,
                members=[BOT_USER_ID, self.coordinator],
                topic="Retrofitting social housing: the demo community",
                purpose="Councils and housing associations sharing what works in retrofit.",
                creator=self.coordinator,
                created=int(self.sandbox.clock.now().timestamp()),
            )

    # -- doing what people do ---------------------------------------------------------------

    async def _until_day(self, day: int) -> None:
        await self._later(self.started + timedelta(days=day) - self.sandbox.clock.now())

    async def _later(self, wait: timedelta) -> None:
        """Let the app finish, then move the clock on (sending what falls due on the way)."""
        await self.sandbox.settle()
        if wait > timedelta(0):
            await self.sandbox.travel(wait.total_seconds())
        await self.sandbox.settle()

    async def _command(self, text: str, user: str | None = None) -> None:
        answer = await self.sandbox.type(user or self.coordinator, self.channel_id, text)
        if answer.get("status") != 200:
            raise SandboxError(f"the demo's {text} was answered {answer.get('status')}")
        await self.sandbox.settle()

    def _modal(self, callback_id: str, user: str | None = None) -> dict[str, Any]:
        """The form on top of this person's modal stack, which must be `callback_id`."""
        user = user or self.coordinator
        workspace = self.sandbox.workspace
        with workspace.lock:
            for stack in reversed(workspace.view_stacks):
                if workspace.modal_owners.get(stack[0]) in (None, user):
                    view = workspace.views[stack[-1]]
                    if view.get("callback_id") == callback_id:
                        return dict(view)
        raise SandboxError(f"the demo expected the {callback_id} form to be open")

    async def _submit(
        self, view: Mapping[str, Any], values: Mapping[str, Any], user: str | None = None
    ) -> None:
        answer = await self.sandbox.submit(
            user or self.coordinator, view["id"], _as_answers(view, values)
        )
        if answer["status"] != 200 or answer["errors"]:
            raise SandboxError(f"the demo's {view.get('callback_id')} was refused: {answer}")
        await self.sandbox.settle()

    async def _start(self) -> None:
        await self._command("/cop start")
        form = self._modal("community_start")
        await self._submit(
            form,
            {
                "name": DEMO_NAME,
                "domain": "Retrofitting council and housing association homes",
                "timezone": DEMO_TZ,
            },
        )

    async def _answer_stages(self) -> None:
        for stage in ("scope", "governance", "members", "roles", "ways"):
            await self._command(f"/cop {stage}")
            form = self._modal("stage_form")
            await self._submit(form, self._made_up(form))
        # The governance lists: each item is its own form, pushed over the stage's.
        await self._command("/cop governance")
        today = self._date(0)
        for item in (
            {"title": "First draft of the retrofit guide", "due": today + timedelta(days=14)},
            {"title": "Interim report to the sponsors", "due": today + timedelta(days=45)},
        ):
            await self._add_item("milestones", {**item, "owner": self.coordinator})
        await self._add_item(
            "stakeholders",
            {"name": "Director of Housing", "support": "champion", "influence": "high"},
        )
        stage_form = self._modal("stage_form")
        await self.sandbox.close(self.coordinator, stage_form["id"], whole_stack=True)
        await self._adopt_a_policy("code_of_conduct")

    async def _adopt_a_policy(self, area: str) -> None:
        """A policy started from its starter and agreed (newcomers' welcomes then carry it)."""
        await self._command("/cop ways")
        form = self._modal("stage_form")
        source = {"kind": "view", "view_id": form["id"]}
        await self._click(source, form["blocks"], f"policy_starter:{area}")
        editor = self._modal("policy_form")
        starter = next(
            b["element"]["initial_value"]
            for b in editor["blocks"]
            if b.get("block_id") == "approach"
        )
        await self._submit(editor, {"approach": starter})
        form = self._modal("stage_form")
        await self._click(source, form["blocks"], f"policy_agree:{area}")
        await self.sandbox.close(self.coordinator, form["id"], whole_stack=True)

    async def _add_item(self, question: str, values: Mapping[str, Any]) -> None:
        form = self._modal("stage_form")
        await self._click(
            {"kind": "view", "view_id": form["id"]}, form["blocks"], f"list_add:{question}"
        )
        item = self._modal("stage_list_item")
        await self._submit(
            item, {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}
        )

    async def _plan_meeting(
        self,
        command: str,
        *,
        day: int,
        at: str,
        values: Mapping[str, Any],
        callback_id: str = "meeting_form",
    ) -> str:
        """Plan a meeting on a day of the demo; the id of the session it announced."""
        announced = self._announced()
        await self._command(f"/cop {command}")
        form = self._modal(callback_id)
        await self._submit(
            form,
            {
                **self._made_up(form),
                "date": self._date(day).isoformat(),
                "time": at,
                "place": "Online: the link is pinned in the channel",
                **values,
            },
        )
        # The new announcement, not whichever is newest: an earlier one may be redrawn later.
        new = [session for session in self._announced() if session not in announced]
        if len(new) != 1:
            raise SandboxError(f"the demo's meeting was announced {len(new)} times, not once")
        return new[0]

    def _announced(self) -> list[str]:
        """The sessions announced in the channel, by their RSVP buttons' value, oldest first."""
        with self.sandbox.workspace.lock:
            messages = list(self.sandbox.workspace.messages_by_channel.get(self.channel_id, []))
        going = [_element(message, "rsvp:going") for message in messages]
        return [str(element["value"]) for element in going if element is not None]

    async def _answer_rsvps(self, answers: Mapping[str, str]) -> None:
        for user, answer in answers.items():
            message = self._newest_with(self.channel_id, f"rsvp:{answer}")
            if message is None:
                raise SandboxError("the demo's meeting announcement is gone")
            source = {"kind": "message", "channel": self.channel_id, "ts": message["ts"]}
            await self._click(source, message["blocks"], f"rsvp:{answer}", user=user)

    async def _write_notes(
        self,
        session: str,
        *,
        notes: str,
        actions: str,
        owners: Sequence[tuple[str, int | None]],
    ) -> None:
        """The facilitator's prompt after a meeting: its button, the notes form, then the form
        it turns into, giving each action its owner and (a day of the demo) its due date."""
        for user in self._people():
            with self.sandbox.workspace.lock:
                dm = self.sandbox.workspace.open_dm([user])[0].id
            message = self._newest_with(dm, "meeting_write_notes", value=session)
            if message is None:
                continue
            source = {"kind": "message", "channel": "app", "ts": message["ts"]}
            await self._click(source, message["blocks"], "meeting_write_notes", user=user)
            form = self._modal("meeting_notes", user)
            await self._submit(form, {"notes": notes, "actions": actions}, user=user)
            await self._owners_and_dates(user, owners)
            return
        raise SandboxError("no one was asked for the demo meeting's notes")

    async def _owners_and_dates(self, user: str, owners: Sequence[tuple[str, int | None]]) -> None:
        form = self._modal("meeting_actions", user)
        blocks = [
            str(b["block_id"])
            for b in form.get("blocks") or []
            if b.get("type") == "input" and str(b.get("block_id")).startswith("owner.")
        ]
        values: dict[str, Any] = {}
        for block_id, (owner, day) in zip(blocks, owners, strict=True):
            values[block_id] = owner
            if day is not None:
                values["due." + block_id.partition(".")[2]] = self._date(day).isoformat()
        await self._submit(form, values, user=user)

    async def _save_to_knowledge(self, user: str, words: str, *, tags: str) -> None:
        """*Save to knowledge* from the menu of the message holding `words`, saved as its
        title starts (from the message's first line)."""
        with self.sandbox.workspace.lock:
            messages = list(self.sandbox.workspace.messages_by_channel.get(self.channel_id, []))
        message = next(m for m in messages if words in str(m.get("text")))
        await self.sandbox.shortcut(user, self.channel_id, message["ts"], "save_to_knowledge")
        await self.sandbox.settle()
        await self._submit(self._modal("library_save", user), {"tags": tags}, user=user)

    async def _click_in_dm(self, user: str, action_id: str) -> None:
        with self.sandbox.workspace.lock:
            dm = self.sandbox.workspace.open_dm([user])[0].id
        message = self._newest_with(dm, action_id)
        if message is None:
            raise SandboxError(f"the demo found no {action_id} button in {user}'s messages")
        source = {"kind": "message", "channel": "app", "ts": message["ts"]}
        await self._click(source, message["blocks"], action_id, user=user)

    async def _click(
        self,
        source: Mapping[str, Any],
        blocks: list[dict[str, Any]],
        action_id: str,
        *,
        user: str | None = None,
    ) -> None:
        index = next(
            (i for i, b in enumerate(blocks) if _element({"blocks": [b]}, action_id)), None
        )
        if index is None:
            raise SandboxError(f"the demo found no {action_id} to press")
        answer = await self.sandbox.act(
            user or self.coordinator,
            dict(source),
            block_index=index,
            block_id=blocks[index].get("block_id"),
            action_id=action_id,
        )
        if answer["status"] != 200:
            raise SandboxError(f"the demo's {action_id} was answered {answer['status']}")
        await self.sandbox.settle()

    # -- reading what is there ----------------------------------------------------------------

    def _people(self) -> list[str]:
        return [self.coordinator, *(p[0] for p in DEMO_PEOPLE)]

    def _date(self, day: int) -> date:
        return (self.started + timedelta(days=day)).astimezone(ZoneInfo(DEMO_TZ)).date()

    def _newest_with(
        self, channel_id: str, action_id: str, *, value: str | None = None
    ) -> dict[str, Any] | None:
        with self.sandbox.workspace.lock:
            messages = list(self.sandbox.workspace.messages_by_channel.get(channel_id, []))
        for message in reversed(messages):
            element = _element(message, action_id)
            if element is not None and (value is None or element.get("value") == value):
                return dict(message)
        return None

    def _made_up(self, form: Mapping[str, Any]) -> dict[str, Any]:
        """Answers for every input the form leaves empty, by the kind of input it is."""
        answers: dict[str, Any] = {}
        for block in form.get("blocks") or []:
            element = block.get("element") or {}
            if block.get("type") != "input" or _has_initial(element):
                continue
            answer = self._answer(str(block.get("block_id")), element)
            if answer is not None:
                answers[str(block.get("block_id"))] = answer
        return answers

    def _answer(self, block_id: str, element: Mapping[str, Any]) -> Any:
        kind = element.get("type")
        options = [o["value"] for o in _options(element)]
        if kind in ("plain_text_input", "rich_text_input"):
            return ANSWERS.get(block_id, GENERIC_ANSWER)[: element.get("max_length") or 3000]
        if kind in ("static_select", "radio_buttons") and options:
            return options[0]
        if kind in ("multi_static_select", "checkboxes") and options:
            return options[:2]
        if kind == "users_select":
            return self.coordinator
        if kind == "multi_users_select":
            return [self.coordinator]
        return None  # dates, numbers, outside people: left as the form has them


def _has_initial(element: Mapping[str, Any]) -> bool:
    return any(k.startswith("initial_") and element[k] not in (None, "", []) for k in element)


def _options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found += group.get("options") or []
    return found


def _element(message: Mapping[str, Any], action_id: str) -> dict[str, Any] | None:
    for block in message.get("blocks") or []:
        for element in [
            block.get("accessory"),
            block.get("element"),
            *(block.get("elements") or []),
        ]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    return None


def _as_answers(view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{block_id: answer} as the page sends it, {block_id: {action_id: answer}}."""
    action_of = {
        b.get("block_id"): (b.get("element") or {}).get("action_id")
        for b in view.get("blocks") or []
        if b.get("type") == "input"
    }
    return {
        block: {str(action_of[block]): answer}
        for block, answer in values.items()
        if action_of.get(block)
    }
