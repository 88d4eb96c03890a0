"""Whether a community has closed: the one seam between sustaining and closure.

Closure (celebrating, capturing the body of knowledge, archiving) is built separately and no
community can be closed yet, so `is_closed` returns False. WHEN CLOSURE LANDS, replace its
body with the closure service's answer (for example: the community has a closure date on or
before now, or its channel is archived). The health digest, the new-perspectives prompt and
the scheduled sponsor report ask it before sending, and stop for a closed community; the stage
of development reads it as Wenger's "transformation".
"""

from __future__ import annotations

from bot.services.communities import CommunityRecord


def is_closed(record: CommunityRecord) -> bool:
    return False
