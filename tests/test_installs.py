"""Installing in many workspaces through OAuth: each team's token stored, used for that team's
requests and scheduled work, and forgotten (with its work stopped) when it uninstalls."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from fakeslack import FakeSlack
from storage.models import Installation, ScheduledSend
from storage.repositories import scheduled
from tests.conftest import eventually
from tests.installs import SECOND, TOKEN, Installable, installable_app  # noqa: F401 (a fixture)


async def test_a_second_workspace_installs_and_is_served_with_its_own_token(
    installable: tuple[Installable, Runtime], slack: FakeSlack
) -> None:
    app, runtime = installable
    assert await app.install(SECOND, "code-1") == 200
    async with runtime.database.session() as session:
        [row] = (await session.exec(select(Installation))).all()
    assert row.team_id == SECOND

    assert await app.post(*app.requests(SECOND).slash_command(text="start")) == 200
    [opened] = await slack.wait_for("views.open")
    assert opened.token == TOKEN

    # A team that never installed is not served.
    assert await app.post(*app.requests("T0NEVER").slash_command(text="start")) == 200
    assert len(slack.calls_to("views.open")) == 1


async def test_an_install_redirect_cannot_be_replayed(
    installable: tuple[Installable, Runtime], slack: FakeSlack
) -> None:
    app, _ = installable
    async with app.http.get(app.server.make_url("/slack/install")) as page:
        html = await page.text()
        cookie = page.headers["Set-Cookie"].split(";")[0]
    state = re.search(r"state=([\w-]+)", html).group(1)  # type: ignore[union-attr]
    slack.grant_install("code-a", team_id=SECOND)
    slack.grant_install("code-b", team_id=SECOND)
    url = "/slack/oauth_redirect?code={}&state=" + state
    async with app.http.get(
        app.server.make_url(url.format("code-a")), headers={"Cookie": cookie}
    ) as r:
        assert r.status == 200
    async with app.http.get(
        app.server.make_url(url.format("code-b")), headers={"Cookie": cookie}
    ) as r:
        assert r.status >= 400
    async with app.http.get(app.server.make_url(url.format("code-b"))) as r:  # no cookie
        assert r.status >= 400


async def test_scheduled_work_uses_the_teams_token_and_stops_at_uninstall(
    installable: tuple[Installable, Runtime], slack: FakeSlack, clock: ManualClock
) -> None:
    app, runtime = installable
    await app.install(SECOND, "code-1")
    async with runtime.database.session() as session:
        rows = [
            await scheduled.schedule(
                session, team_id=SECOND, kind="note", due_at=clock.now(), payload={"text": text}
            )
            for text in ("before", "after")
        ]
    before = rows[0]
    assert before is not None and before.id is not None
    dispatcher = app.dispatcher
    # The first only: a heartbeat would send both (it claims while a whole batch is due).
    await dispatcher.send_now([before.id])
    [sent] = slack.calls_to("chat.postMessage")
    assert (sent.args["text"], sent.token) == ("before", TOKEN)

    event = {"type": "app_uninstalled"}
    assert await app.post(*app.requests(SECOND).event_callback(event)) == 200

    async def uninstalled() -> bool:
        async with runtime.database.session() as session:
            return not (await session.exec(select(Installation))).all()

    await eventually(uninstalled)
    async with runtime.database.session() as session:
        states = sorted(r.state for r in (await session.exec(select(ScheduledSend))).all())
    assert states == ["cancelled", "sent"]
    assert await dispatcher.run_until_idle() == 0
    assert len(slack.calls_to("chat.postMessage")) == 1
