"""Sends, receipts and outcomes become events on the person's timeline (source ``channels``).

They are appended to the event log with ``person_id`` already set (the channels context knows
whom it contacted), deduplicated on ``(channels, message_id)`` like every other event, so that
journeys can wait for them and models learn from them. Inbound messages from a provider
(replies, social posts) carry the sender's identifier instead and go through identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, update

from bestnext.eventlog import NewEvent
from bestnext.eventlog import store as log
from bestnext.eventlog.tables import events

SOURCE = "channels"
#: ``(person_id, event name, message id, at, touchpoint, properties)``
Entry = tuple[str, str, str, datetime, str, dict[str, Any]]


def record(conn: Connection, person_id: str, name: str, message_id: str, at: datetime, *,
           touchpoint: str, properties: dict[str, Any], now: datetime) -> bool:
    """Append the event ``name`` for ``person_id``; False if ``message_id`` was already logged."""
    payload = {"type": "track", "event": name, "messageId": message_id, "timestamp": at.isoformat(),
               "properties": properties, "context": {"touchpoint": touchpoint, "personId": person_id}}
    new = NewEvent(source_id=SOURCE, message_id=message_id, type="track", touchpoint=touchpoint,
                   occurred_at=at, received_at=now, payload=payload, event=name)
    if log.append(conn, [new]) == 0:
        return False
    conn.execute(update(events).where(events.c.source_id == SOURCE, events.c.message_id == message_id)
                 .values(person_id=person_id))
    return True


def record_many(conn: Connection, entries: Sequence[Entry], *, now: datetime) -> int:
    """:func:`record` for a batch: one append and one ``person_id`` assignment; returns how
    many were new. ``entries`` are ``(person_id, name, message_id, at, touchpoint, properties)``."""
    if not entries:
        return 0
    new = [NewEvent(source_id=SOURCE, message_id=m, type="track", touchpoint=tp, occurred_at=at, received_at=now,
                    payload={"type": "track", "event": name, "messageId": m, "timestamp": at.isoformat(),
                             "properties": props, "context": {"touchpoint": tp, "personId": person}},
                    event=name)
           for person, name, m, at, tp, props in entries]
    added = log.append(conn, new)
    if added:
        person_of = case({m: person for person, _n, m, *_ in entries}, value=events.c.message_id)
        conn.execute(update(events).where(events.c.source_id == SOURCE,
                                          events.c.message_id.in_([e[2] for e in entries]),
                                          events.c.person_id.is_(None)).values(person_id=person_of))
    return added


def inbound(conn: Connection, name: str, message_id: str, at: datetime, *, touchpoint: str,
            properties: dict[str, Any], anonymous_id: str, traits: dict[str, Any] | None = None,
            external_ids: list[dict[str, str]] | None = None, now: datetime) -> bool:
    """An inbound message (a reply, a post), identified by the sender's identifiers: it goes
    through ingest like any touchpoint's event (source ``channels``) and then identity.

    ``anonymous_id`` is the sender's channel id (``sms:+39...``, ``facebook:...``), as Segment
    uses ``anonymousId`` for a device, cookie or channel id."""
    from bestnext.ingest import services as ingest

    context: dict[str, Any] = {"touchpoint": touchpoint}
    if traits:
        context["traits"] = traits
    if external_ids:
        context["externalIds"] = external_ids
    message = {"type": "track", "event": name, "messageId": message_id, "timestamp": at.isoformat(),
               "anonymousId": anonymous_id, "properties": properties, "context": context}
    source = ingest.ensure_source(conn, SOURCE, touchpoint, now)
    result = ingest.accept(conn, source, [message], now)
    ingest.raise_for_errors(result)
    return result.accepted == 1
