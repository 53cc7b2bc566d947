"""Named queries on the event log: append, read from an offset, checkpoints."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import Connection, func, select, update

from bestnext.clock import as_utc
from bestnext.db import upsert
from bestnext.eventlog import admission
from bestnext.eventlog.model import LoggedEvent, NewEvent
from bestnext.eventlog.tables import events, processor_checkpoints


def append(conn: Connection, new: Sequence[NewEvent]) -> int:
    """Append events, ignoring those whose (source, messageId) is already logged.

    Returns how many rows were new. Durability is the caller's commit.
    """
    new = admission.admit(conn, new)
    if not new:
        return 0
    # The hot path of ingest: one driver-level executemany (SQLAlchemy's per-row bind
    # processing costs 3-5x the insert itself). Values are converted as UtcDateTime/JsonDoc do.
    postgres = conn.dialect.name == "postgresql"
    sql = _APPEND_PG if postgres else _APPEND_SQLITE
    params = [_append_params(e, postgres) for e in new]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, params)
        return int(cursor.rowcount)
    finally:
        cursor.close()


_COLUMNS = ("source_id", "message_id", "type", "event", "touchpoint", "occurred_at", "received_at",
            "user_id", "anonymous_id", "payload")
_APPEND_SQLITE = (f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
                  "ON CONFLICT (source_id, message_id) DO NOTHING")
_APPEND_PG = (f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES "
              f"({', '.join(['%s'] * (len(_COLUMNS) - 1))}, %s::jsonb) "
              "ON CONFLICT (source_id, message_id) DO NOTHING")


def _append_params(e: NewEvent, postgres: bool) -> tuple[object, ...]:
    occurred, received = as_utc(e.occurred_at), as_utc(e.received_at)
    if not postgres:  # SQLAlchemy's SQLite DATETIME text format, naive UTC
        fmt = "%Y-%m-%d %H:%M:%S.%f"
        occurred, received = occurred.strftime(fmt), received.strftime(fmt)  # type: ignore[assignment]
    return (e.source_id, e.message_id, e.type, e.event, e.touchpoint, occurred, received,
            e.user_id, e.anonymous_id, orjson.dumps(e.payload).decode())


def read_after(conn: Connection, seq: int, limit: int, upto: int | None = None) -> list[LoggedEvent]:
    """Events with ``seq`` greater than the given offset, oldest first."""
    query = select(events).where(events.c.seq > seq).order_by(events.c.seq).limit(limit)
    if upto is not None:
        query = query.where(events.c.seq <= upto)
    return [LoggedEvent(**row._mapping) for row in conn.execute(query)]


def head(conn: Connection) -> int:
    """The highest offset in the log (0 when empty)."""
    return int(conn.execute(select(func.coalesce(func.max(events.c.seq), 0))).scalar_one())


def checkpoint(conn: Connection, name: str) -> int:
    value = conn.execute(
        select(processor_checkpoints.c.seq).where(processor_checkpoints.c.name == name)
    ).scalar_one_or_none()
    return int(value or 0)


def save_checkpoint(conn: Connection, name: str, seq: int) -> None:
    upsert(conn, processor_checkpoints, {"name": name, "seq": seq}, ("name",), ("seq",))


def assign_person(conn: Connection, seqs: Sequence[int], person_id: str) -> None:
    """Attribute logged events to a person (identity resolution's output)."""
    if seqs:
        conn.execute(update(events).where(events.c.seq.in_(list(seqs))).values(person_id=person_id))


def events_of(conn: Connection, person_id: str, limit: int = 1000) -> list[LoggedEvent]:
    """A person's timeline, oldest first."""
    query = (
        select(events).where(events.c.person_id == person_id)
        .order_by(events.c.occurred_at, events.c.seq).limit(limit)
    )
    return [LoggedEvent(**row._mapping) for row in conn.execute(query)]
