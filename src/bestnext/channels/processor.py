"""The channels processor: after identity has attributed inbound replies and visits, it applies
their effects (SMS STOP withdraws marketing; a branch visit or subscription closes briefings)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from bestnext.channels import branch, listeners, ports
from bestnext.channels.model import classify_reply
from bestnext.eventlog import LoggedEvent

listeners.install()  # rows of the channels context follow identity merges


class ChannelsProcessor:
    name = "channels"

    def handle(self, conn: Connection, batch: Sequence[LoggedEvent]) -> None:
        for event in batch:
            if event.person_id is None or event.type != "track":
                continue
            if event.event == "SMS Replied" and _intent(event) == "stop":
                ports.withdraw_marketing(conn, event.person_id, "sms", "sms", event.occurred_at,
                                         event.message_id)
            elif event.event == "Branch Visited":
                branch.close_for_person(conn, event.person_id, "visited", event.occurred_at)
            elif event.event == "Product Subscribed":
                branch.close_for_person(conn, event.person_id, "converted", event.occurred_at)


def _intent(event: LoggedEvent) -> str:
    """The reply's intent: as our webhook classified it, else from its text (imported replies).

    >>> from datetime import UTC, datetime
    >>> t = datetime(2025, 4, 19, tzinfo=UTC)
    >>> e = LoggedEvent(1, "s", "m", "track", "SMS Replied", "sms", t, t, None, "a", "p",
    ...                 {"properties": {"text": "Stop"}})
    >>> _intent(e)
    'stop'
    """
    props = event.properties
    given = props.get("intent")
    return str(given) if given else classify_reply(str(props.get("text") or props.get("body") or ""))
