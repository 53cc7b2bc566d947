"""Named queries of identity resolution."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from bestnext.db import set_column
from bestnext.eventlog.tables import events
from bestnext.identity.model import Identifier, Identity
from bestnext.identity.tables import (
    household_links,
    identities,
    identity_conflicts,
    identity_links,
    identity_merges,
    persons,
)

Key = tuple[str, str]
_CHUNK = 500


def lock(conn: Connection) -> None:
    """Serialise identity writers (the processor and un-merges) on PostgreSQL by locking the
    identity checkpoint row; SQLite's write transactions are serial already."""
    from bestnext.eventlog.tables import processor_checkpoints

    conn.execute(select(processor_checkpoints.c.seq)
                 .where(processor_checkpoints.c.name == "identity").with_for_update())


_OWNERS = select(identities.c.value, identities.c.person_id, identities.c.shared).where(
    identities.c.id_type == bindparam("t"), identities.c.value.in_(bindparam("values", expanding=True)))
_HELD = select(identities.c.person_id, identities.c.id_type, identities.c.value).where(
    identities.c.person_id.in_(bindparam("persons", expanding=True)))
_CREATED = select(persons.c.id, persons.c.created_seq).where(
    persons.c.id.in_(bindparam("persons", expanding=True)))
_UNMERGED = select(identity_merges.c.survivor_id, identity_merges.c.absorbed_id).where(
    identity_merges.c.undone_at.is_not(None),
    identity_merges.c.survivor_id.in_(bindparam("persons", expanding=True)))


def owners(conn: Connection, keys: Iterable[Key]) -> dict[Key, tuple[str, bool]]:
    """The person (and shared flag) of each known identifier among ``keys``: one indexed
    query per identifier type (and chunk) of the batch, never one per identifier."""
    by_type: dict[str, list[str]] = {}
    for id_type, value in set(keys):
        by_type.setdefault(id_type, []).append(value)
    found: dict[Key, tuple[str, bool]] = {}
    for id_type, values in sorted(by_type.items()):
        values.sort()
        for i in range(0, len(values), _CHUNK):
            for value, person, shared in conn.execute(_OWNERS, {"t": id_type, "values": values[i:i + _CHUNK]}):
                found[(id_type, value)] = (person, bool(shared))
    return found


def held_by(conn: Connection, person_ids: Iterable[str]) -> dict[str, list[Key]]:
    """The identifiers each of these persons holds (one query per chunk of persons)."""
    ids = sorted(set(person_ids))
    found: dict[str, list[Key]] = {p: [] for p in ids}
    for i in range(0, len(ids), _CHUNK):
        for person, id_type, value in conn.execute(_HELD, {"persons": ids[i:i + _CHUNK]}):
            found[person].append((id_type, value))
    return found


def created_seqs(conn: Connection, person_ids: Iterable[str]) -> dict[str, int]:
    """``created_seq`` of each of these persons (one query per chunk)."""
    ids = sorted(set(person_ids))
    found: dict[str, int] = {}
    for i in range(0, len(ids), _CHUNK):
        found.update((p, int(s)) for p, s in conn.execute(_CREATED, {"persons": ids[i:i + _CHUNK]}))
    return found


def unmerged_pairs(conn: Connection, person_ids: Iterable[str]) -> set[frozenset[str]]:
    """The (survivor, absorbed) pairs of undone merges whose survivor is one of these persons
    (an un-merge separated them: they must not merge again by themselves)."""
    ids = sorted(set(person_ids))
    found: set[frozenset[str]] = set()
    for i in range(0, len(ids), _CHUNK):
        found.update(frozenset(r) for r in conn.execute(_UNMERGED, {"persons": ids[i:i + _CHUNK]}))
    return found


def find_owner(conn: Connection, id_type: str, value: str) -> str | None:
    query = select(identities.c.person_id).where(
        identities.c.id_type == id_type, identities.c.value == value)
    found: str | None = conn.execute(query).scalar_one_or_none()
    return found


def identities_of(conn: Connection, person_id: str) -> list[Identity]:
    query = (select(identities).where(identities.c.person_id == person_id)
             .order_by(identities.c.linked_seq, identities.c.id_type, identities.c.value))
    return [Identity(r.id_type, r.value, r.person_id, r.linked_by, bool(r.shared))
            for r in conn.execute(query)]


def identity_rows_of(conn: Connection, person_id: str) -> list[Any]:
    return list(conn.execute(select(identities).where(identities.c.person_id == person_id)))


def current_of(conn: Connection, person_ids: Iterable[str]) -> dict[str, str]:
    """For each id, the person it now stands for (following stored merges)."""
    result = {p: p for p in person_ids}
    pending = set(result.values())
    for _ in range(32):  # merge chains are short; bounded against cycles
        query = select(persons.c.id, persons.c.absorbed_into).where(
            persons.c.id.in_(sorted(pending)), persons.c.absorbed_into.is_not(None))
        step = {r.id: r.absorbed_into for r in conn.execute(query)}
        if not step:
            break
        result = {k: step.get(v, v) for k, v in result.items()}
        pending = set(step.values())
    return result


def person_exists(conn: Connection, person_id: str) -> bool:
    return conn.execute(select(persons.c.id).where(persons.c.id == person_id)).first() is not None


def absorbed_into(conn: Connection, person_id: str) -> str | None:
    query = select(persons.c.absorbed_into).where(persons.c.id == person_id)
    found: str | None = conn.execute(query).scalar_one_or_none()
    return found


def insert_rows(conn: Connection, table_name: str, rows: Sequence[dict[str, Any]]) -> None:
    table = {"persons": persons, "identities": identities, "links": identity_links,
             "conflicts": identity_conflicts}[table_name]
    if rows:
        conn.execute(insert(table), list(rows))


def set_shared(conn: Connection, keys: Iterable[Key]) -> None:
    for id_type, value in keys:
        conn.execute(update(identities).where(identities.c.id_type == id_type,
                                              identities.c.value == value).values(shared=True))


_MOVES = (
    update(identities).where(identities.c.person_id == bindparam("b_from")).values(person_id=bindparam("b_to")),
    update(events).where(events.c.person_id == bindparam("b_from")).values(person_id=bindparam("b_to")),
    update(persons).where(persons.c.id == bindparam("b_from")).values(absorbed_into=bindparam("b_to")),
    update(persons).where(persons.c.absorbed_into == bindparam("b_from")).values(absorbed_into=bindparam("b_to")),
)


def move_persons(conn: Connection, moves: Sequence[tuple[str, str]]) -> None:
    """:func:`move_person` for several (from, to) pairs in the order they merged, one
    executemany per statement: the same rows as one move at a time (a ``to`` that is a later
    ``from`` moves on with it; each statement touches its own column).
    """
    if moves:
        params = [{"b_from": a, "b_to": b} for a, b in moves]
        for stmt in _MOVES:
            conn.execute(stmt, params)


def insert_merges(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(identity_merges), list(rows))


def assign_events(conn: Connection, pairs: Sequence[tuple[int, str]]) -> None:
    """Attribute events (seq, person): one statement on PostgreSQL, an executemany on SQLite."""
    set_column(conn, events, "seq", "person_id", pairs)


def get_merge(conn: Connection, merge_id: str) -> Any:
    return conn.execute(select(identity_merges).where(identity_merges.c.id == merge_id)).first()


def merges_of(conn: Connection, person_id: str) -> list[Any]:
    query = (select(identity_merges)
             .where(or_(identity_merges.c.survivor_id == person_id,
                        identity_merges.c.absorbed_id == person_id))
             .order_by(identity_merges.c.seq, identity_merges.c.merged_at))
    return list(conn.execute(query))


def conflicts_of(conn: Connection, person_id: str) -> list[Any]:
    query = (select(identity_conflicts)
             .where(or_(identity_conflicts.c.person_id == person_id,
                        identity_conflicts.c.other_person_id == person_id))
             .order_by(identity_conflicts.c.seq))
    return list(conn.execute(query))


def mark_undone(conn: Connection, merge_id: str, at: datetime) -> None:
    conn.execute(update(identity_merges).where(identity_merges.c.id == merge_id).values(undone_at=at))


def restore_person(conn: Connection, person_id: str) -> None:
    conn.execute(update(persons).where(persons.c.id == person_id).values(absorbed_into=None))


def set_owner(conn: Connection, keys: Sequence[Key], person_id: str) -> None:
    for id_type, value in keys:
        conn.execute(update(identities).where(identities.c.id_type == id_type,
                                              identities.c.value == value)
                     .values(person_id=person_id))


def event_rows_of(conn: Connection, person_id: str) -> list[Any]:
    query = (select(events.c.seq, events.c.payload).where(events.c.person_id == person_id)
             .order_by(events.c.seq))
    return list(conn.execute(query))


def event_payloads(conn: Connection, seqs: Iterable[int]) -> dict[int, dict[str, Any]]:
    query = select(events.c.seq, events.c.payload).where(events.c.seq.in_(list(set(seqs))))
    return {int(r.seq): r.payload for r in conn.execute(query)}


# --- households ---------------------------------------------------------------------------

def link_household(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    from bestnext.db import insert_ignore

    insert_ignore(conn, household_links, rows, ("household_id", "id_type", "value"))


def households_of_identifiers(conn: Connection, keys: Iterable[Key]) -> list[tuple[str, Any]]:
    """(household, at) of links held by any of ``keys``, most recent first."""
    keys = list(keys)
    if not keys:
        return []
    query = (select(household_links.c.household_id, household_links.c.at,
                    household_links.c.id_type, household_links.c.value)
             .where(household_links.c.value.in_([v for _, v in keys]))
             .order_by(household_links.c.at.desc()))
    wanted = set(keys)
    return [(r.household_id, r.at) for r in conn.execute(query) if (r.id_type, r.value) in wanted]


def household_of_person(conn: Connection, person_id: str) -> str | None:
    """The most recent household linked to any identity of the person."""
    query = (select(household_links.c.household_id)
             .join(identities, and_(identities.c.id_type == household_links.c.id_type,
                                    identities.c.value == household_links.c.value))
             .where(identities.c.person_id == person_id)
             .order_by(household_links.c.at.desc()).limit(1))
    found: str | None = conn.execute(query).scalar_one_or_none()
    return found


def household_members(conn: Connection, household_id: str) -> list[str]:
    query = (select(identities.c.person_id).distinct()
             .join(household_links, and_(identities.c.id_type == household_links.c.id_type,
                                         identities.c.value == household_links.c.value))
             .where(household_links.c.household_id == household_id)
             .order_by(identities.c.person_id))
    return [r.person_id for r in conn.execute(query)]


def to_keys(items: Iterable[Identifier]) -> list[Key]:
    return [i.key() for i in items]
