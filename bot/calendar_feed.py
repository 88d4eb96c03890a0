"""The private calendar feed, served by the web process: `GET /calendar/<secret>.ics`.

Calendar apps fetch it with no Slack signature, so it is not behind the signature check at
`/slack/events`; the secret in the address is the whole authorisation. A malformed, wrong or
revoked secret gets the same bare 404 as a path that never existed, so an answer reveals
nothing about which secrets exist. The secret is kept out of the access log.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web

from bot.services import calendars
from storage.db import Database

log = logging.getLogger(__name__)

ROUTE = "/calendar/{token}.ics"
SECRET_IN_PATH = re.compile(r"/calendar/[^/\s\"]+\.ics")


class _HideSecrets(logging.Filter):
    """The access log shows `/calendar/….ics`, never the secret in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "/calendar/" in record.msg:
            record.msg = SECRET_IN_PATH.sub("/calendar/….ics", record.msg)
        for name in ("first_request_line", "request_path"):
            value = getattr(record, name, None)
            if isinstance(value, str):
                setattr(record, name, SECRET_IN_PATH.sub("/calendar/….ics", value))
        return True


def add_calendar_feed(web_app: web.Application, database: Database) -> None:
    """Serve every private calendar address on `web_app`."""
    access_log = logging.getLogger("aiohttp.access")
    if not any(isinstance(f, _HideSecrets) for f in access_log.filters):
        access_log.addFilter(_HideSecrets())

    async def calendar_feed(request: web.Request) -> web.Response:
        content = await calendars.feed(database, token=request.match_info["token"])
        if content is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=content,
            headers={
                "Content-Type": "text/calendar; charset=utf-8",
                "Content-Disposition": 'inline; filename="meetings.ics"',
                "Cache-Control": "private, max-age=300",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    web_app.router.add_get(ROUTE, calendar_feed)
