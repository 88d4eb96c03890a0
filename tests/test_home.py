"""App Home: each community a person coordinates or belongs to, with progress and buttons."""

from __future__ import annotations

from fakeslack import FakeSlack
from tests.conftest import ASHA, BEN, Cultivate
from tests.steps import LIAM, open_home, start_community, texts


async def test_home_shows_the_communities_someone_coordinates(
    cultivate: Cultivate, slack: FakeSlack
) -> None:
    await start_community(cultivate, name="Housing <b>policy</b>", timezone="UTC")
    # Not hers: she is not in its channel (had she been there at its start, she would belong).
    cultivate.slack.workspace.leave("C0DATA", ASHA)
    await start_community(cultivate, name="Data", channel="C0DATA", user=BEN, timezone="UTC")
    home = await open_home(cultivate, ASHA)
    shown = texts(home)
    assert "Housing &lt;b&gt;policy&lt;/b&gt;" in shown
    assert "*Data*" not in shown
    assert "*1. Defining the scope* — 0/7 answered" in shown
    buttons = [
        b["accessory"]
        for b in home["blocks"]
        if b.get("accessory", {}).get("action_id", "").startswith("open_stage:")
    ]
    assert [b["text"]["text"] for b in buttons] == ["Edit"] * 5

    # A button in App Home opens the stage modal.
    await cultivate.click(
        {"action_id": buttons[1]["action_id"], "type": "button", "value": buttons[1]["value"]},
        view=home,
    )
    opened = await cultivate.opened_view("stage_form")
    assert opened["title"]["text"] == "Governance"


async def test_home_for_someone_with_no_community_says_how_to_start(cultivate: Cultivate) -> None:
    await start_community(cultivate, timezone="UTC")
    home = await open_home(cultivate, LIAM)  # not in the channel (Carmen is: she belongs)
    assert "/cop start" in texts(home)


async def test_home_ignores_the_messages_tab(cultivate: Cultivate, slack: FakeSlack) -> None:
    reply = await cultivate.event({"type": "app_home_opened", "user": ASHA, "tab": "messages"})
    assert reply.status == 200
    await cultivate.command("help")  # something after, so we know the event was processed
    assert slack.calls_to("views.publish") == []
