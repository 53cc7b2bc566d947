"""Named queries on the event log: append, read from an offset, checkpoints."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select, update

from bestnext.db import insert_ignore, upsert
from bestnext.eventlog import admission
from bestnext.eventlog.model import LoggedEvent, NewEvent
from bestnext.eventlog.tables import events, processor_checkpoints


def append(conn: Connection, new: Sequence[NewEvent]) -> int:
    """Append events, ignoring those whose (source, messageId) is already logged.

    Returns how many rows were new. Durability is the caller's commit.
    """
    new = admission.admit(conn, new)
    return insert_ignore(conn, events, [e.row() for e in new], ("source_id", "message_id"))


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
