"""Named queries on the consent ledger (the only module that reads it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from bestnext.consent.model import ConsentEntry, Purpose, Source
from bestnext.consent.tables import consent_ledger as L


def append(conn: Connection, person_id: str, entries: Sequence[ConsentEntry], recorded_at: datetime,
           event_seq: int | None = None) -> None:
    if not entries:
        return
    conn.execute(L.insert(), [
        {"person_id": person_id, "purpose": e.purpose.value, "granted": e.granted,
         "touchpoint": e.source.touchpoint, "message_id": e.source.message_id,
         "operator": e.source.operator, "legal_version": e.legal_version, "at": e.at,
         "recorded_at": recorded_at, "event_seq": event_seq}
        for e in entries])


def _entry(row: Any) -> ConsentEntry:
    return ConsentEntry(Purpose(row.purpose), bool(row.granted),
                        Source(row.touchpoint, row.message_id, row.operator), row.at,
                        row.legal_version, int(row.id))


def history(conn: Connection, person_id: str) -> list[ConsentEntry]:
    rows = conn.execute(select(L).where(L.c.person_id == person_id).order_by(L.c.at, L.c.id))
    return [_entry(r) for r in rows]


def histories(conn: Connection, person_ids: Sequence[str]) -> dict[str, list[ConsentEntry]]:
    """The histories of several people in one query per 500 (the dispatcher's pre-send gate)."""
    ids = list(dict.fromkeys(person_ids))
    found: dict[str, list[ConsentEntry]] = {p: [] for p in ids}
    for start in range(0, len(ids), 500):
        rows = conn.execute(select(L).where(L.c.person_id.in_(ids[start:start + 500]))
                            .order_by(L.c.person_id, L.c.at, L.c.id))
        for r in rows:
            found[r.person_id].append(_entry(r))
    return found


def move_person(conn: Connection, from_id: str, to_id: str) -> None:
    """A merge: the absorbed person's history becomes the survivor's."""
    conn.execute(update(L).where(L.c.person_id == from_id).values(person_id=to_id))


def move_events(conn: Connection, from_id: str, to_id: str, seqs: Sequence[int]) -> None:
    """An un-merge: entries that came from the moved events follow them."""
    if seqs:
        conn.execute(update(L).where(L.c.person_id == from_id, L.c.event_seq.in_(list(seqs)))
                     .values(person_id=to_id))


def rows_of(conn: Connection, person_id: str) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(
        select(L).where(L.c.person_id == person_id).order_by(L.c.at, L.c.id))]


def erase(conn: Connection, person_id: str) -> None:
    conn.execute(delete(L).where(L.c.person_id == person_id))
