"""Named queries on the event log: append, read from an offset, checkpoints."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Text, bindparam, func, select, type_coerce, update

from bestnext.clock import as_utc
from bestnext.db import upsert
from bestnext.eventlog import admission, wake
from bestnext.eventlog.model import LoggedEvent, NewEvent
from bestnext.eventlog.tables import events, processor_checkpoints


def append(conn: Connection, new: Sequence[NewEvent]) -> int:
    """Append events, ignoring those whose (source, messageId) is already logged.

    Returns how many rows were new. Durability is the caller's commit.
    """
    new = admission.admit(conn, new)
    if not new:
        return 0
    wake.announce(conn)  # other processes' processors: woken when this transaction commits
    # The hot path of ingest works at the driver level: SQLAlchemy's per-row bind processing
    # costs 3-5x the insert itself. Values are converted as UtcDateTime/JsonDoc do.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name != "postgresql":
            return _append_sqlite(cursor, _sqlite_params(new))
        elif len(new) < COPY_FROM:
            cursor.executemany(_APPEND_PG, [_pg_params(e) for e in new])
        else:
            _copy_pg(cursor, new)
        return int(cursor.rowcount)
    finally:
        cursor.close()


COPY_FROM = 16  # rows from which PostgreSQL appends by COPY (measured: 14 -> 5 us of CPU an event)
_COLUMNS = ("source_id", "message_id", "type", "event", "touchpoint", "occurred_at", "received_at",
            "user_id", "anonymous_id", "payload")
_NAMES = ", ".join(_COLUMNS)
SQLITE_ROWS = 100  # rows in one multi-row INSERT (1,000 parameters)
_SQLITE_ROW = f"({', '.join('?' * len(_COLUMNS))})"
_APPEND_PG = (f"INSERT INTO events ({_NAMES}) VALUES "
              f"({', '.join(['%s'] * (len(_COLUMNS) - 1))}, %s::jsonb) "
              "ON CONFLICT (source_id, message_id) DO NOTHING")
_STAGE = "append_stage"  # a temporary table per connection; each append empties it
_CREATE_STAGE = (f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} ON COMMIT DELETE ROWS AS "
                 f"SELECT 0 AS ord, {_NAMES} FROM events WITH NO DATA")
_FROM_STAGE = (f"WITH staged AS (DELETE FROM {_STAGE} RETURNING *) "
               f"INSERT INTO events ({_NAMES}) SELECT {_NAMES} FROM staged ORDER BY ord "
               "ON CONFLICT (source_id, message_id) DO NOTHING")


def _sqlite_params(new: Sequence[NewEvent]) -> list[tuple[object, ...]]:
    """Rows in SQLAlchemy's SQLite DATETIME text format (naive UTC, microseconds)."""
    received: dict[datetime, str] = {}  # one or few distinct values per call
    rows: list[tuple[object, ...]] = []
    for e in new:
        stamp = received.get(e.received_at)
        if stamp is None:
            stamp = received[e.received_at] = _sqlite_time(e.received_at)
        rows.append((e.source_id, e.message_id, e.type, e.event, e.touchpoint, _sqlite_time(e.occurred_at),
                     stamp, e.user_id, e.anonymous_id, e.payload_text()))
    return rows


def _append_sqlite(cursor: Any, rows: list[tuple[object, ...]]) -> int:
    """Multi-row INSERTs: one ``sqlite3_step`` (one GIL release) per chunk, not one per row.

    With ``executemany`` the writer thread gave up and re-took the GIL for every row, so
    while the event loop parsed the next requests the two threads ran one after the other.
    """
    added = 0
    for start in range(0, len(rows), SQLITE_ROWS):
        chunk = rows[start:start + SQLITE_ROWS]
        cursor.execute(_sqlite_insert(len(chunk)), [v for row in chunk for v in row])
        added += cursor.rowcount
    return added


@functools.lru_cache(maxsize=SQLITE_ROWS)
def _sqlite_insert(n: int) -> str:
    return (f"INSERT INTO events ({_NAMES}) VALUES {', '.join([_SQLITE_ROW] * n)} "
            "ON CONFLICT (source_id, message_id) DO NOTHING")


def _sqlite_time(value: datetime) -> str:
    """``2025-03-01 09:00:00.000000`` (what SQLAlchemy's SQLite DATETIME stores).

    >>> from datetime import timezone, timedelta
    >>> _sqlite_time(datetime(2025, 3, 1, 10, 0, 1, 5, tzinfo=timezone(timedelta(hours=1))))
    '2025-03-01 09:00:01.000005'
    >>> _sqlite_time(datetime(2025, 3, 1, 9))
    '2025-03-01 09:00:00.000000'
    """
    if value.tzinfo is not UTC:
        value = as_utc(value)
    return value.isoformat(" ", "microseconds")[:26]


def _pg_params(e: NewEvent) -> tuple[object, ...]:
    return (e.source_id, e.message_id, e.type, e.event, e.touchpoint, as_utc(e.occurred_at),
            as_utc(e.received_at), e.user_id, e.anonymous_id, e.payload_text())


def _copy_pg(cursor: Any, new: Sequence[NewEvent]) -> None:
    """COPY the rows into the connection's staging table, then move the new ones to the log.

    (The table is created in the transaction, when missing: a rollback may have undone it.)
    """
    cursor.execute(_CREATE_STAGE)
    with cursor.copy(f"COPY {_STAGE} (ord, {_NAMES}) FROM STDIN") as copy:
        for i, e in enumerate(new):
            copy.write_row((i, *_pg_params(e)))
    cursor.execute(_FROM_STAGE)


# Columns in LoggedEvent's field order (rows become events positionally); built once. On
# SQLite the payload is read as its text and parsed by orjson (3x json.loads; the log's
# payloads were written by orjson), json.loads kept for any text orjson refuses.
_FIELDS = [events.c[f.name] for f in fields(LoggedEvent)]
_READS = {
    raw: select(*[type_coerce(c, Text) if raw and c.name == "payload" else c for c in _FIELDS])
    .where(events.c.seq > bindparam("after")).order_by(events.c.seq).limit(bindparam("limit"))
    for raw in (False, True)}
_READS_UPTO = {raw: q.where(events.c.seq <= bindparam("upto")) for raw, q in _READS.items()}


def read_after(conn: Connection, seq: int, limit: int, upto: int | None = None) -> list[LoggedEvent]:
    """Events with ``seq`` greater than the given offset, oldest first."""
    raw = conn.dialect.name == "sqlite"
    if upto is None:
        rows = conn.execute(_READS[raw], {"after": seq, "limit": limit})
    else:
        rows = conn.execute(_READS_UPTO[raw], {"after": seq, "limit": limit, "upto": upto})
    if not raw:
        return [LoggedEvent(*row) for row in rows]
    return [_with_payload(*row) for row in rows]


def _with_payload(*columns: Any) -> LoggedEvent:
    event = LoggedEvent(*columns)  # the payload still its text here
    event.payload = _loads(columns[-1])
    return event


def _loads(text: str) -> Any:
    """A payload's JSON text parsed (as json.loads would).

    >>> _loads('{"a": [1, 2.5, null]}'), _loads('{"n": NaN}')["n"] != 0
    ({'a': [1, 2.5, None]}, True)
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


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
