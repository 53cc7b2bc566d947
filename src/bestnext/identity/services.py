"""Use cases of identity: look a person up, list identities, households, merges, un-merge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bestnext.errors import Conflict, InvalidInput, NotFound
from bestnext.identity import hooks, store
from bestnext.identity.model import Identity, extract, normalize

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Household:
    id: str
    members: list[str]


@dataclass(frozen=True, slots=True)
class Merge:
    id: str
    survivor_id: str
    absorbed_id: str
    message_id: str
    occurred_at: datetime
    merged_at: datetime
    undone_at: datetime | None
    absorbed_identities: list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class Unmerged:
    merge_id: str
    original_id: str
    restored_id: str
    identities: int
    moved_events: int


def find_person(conn: Connection, id_type: str, value: str) -> str | None:
    """The person holding an identifier (email and phone are normalised first), or None."""
    norm = normalize(id_type.strip().lower(), value)
    return store.find_owner(conn, id_type.strip().lower(), norm) if norm else None


def identities_of(conn: Connection, person_id: str) -> list[Identity]:
    return store.identities_of(conn, person_id)


def current_person(conn: Connection, person_id: str) -> str | None:
    """The person an id now stands for (following merges), or None when unknown."""
    seen: set[str] = set()
    current = person_id
    if not store.person_exists(conn, current):
        return None
    while (nxt := store.absorbed_into(conn, current)) and current not in seen:
        seen.add(current)
        current = nxt
    return current


def household_of(conn: Connection, person_id: str) -> Household | None:
    household = store.household_of_person(conn, person_id)
    if household is None:
        return None
    return Household(household, store.household_members(conn, household))


def merges_of(conn: Connection, person_id: str) -> list[Merge]:
    return [_merge(row) for row in store.merges_of(conn, person_id)]


def conflicts_of(conn: Connection, person_id: str) -> list[dict[str, Any]]:
    return [{"seq": r.seq, "message_id": r.message_id, "kind": r.kind, "person_id": r.person_id,
             "other_person_id": r.other_person_id, "at": r.at}
            for r in store.conflicts_of(conn, person_id)]


def unmerge(conn: Connection, merge_id: str, now: datetime) -> Unmerged:
    """Undo a merge: the absorbed person comes back with its original id, the identities it
    held at the merge (and those linked later by messages that carried only its identifiers),
    and its events (by the identifiers each event carried). Listeners follow (``on_split``).
    """
    store.lock(conn)
    row = store.get_merge(conn, merge_id)
    if row is None:
        raise NotFound("No such merge.")
    if row.undone_at is not None:
        raise Conflict("This merge was already undone.")
    current = current_person(conn, row.survivor_id)
    if current is None:
        raise InvalidInput("The merge's survivor no longer exists.")
    held = {(r.id_type, r.value): r for r in store.identity_rows_of(conn, current)}
    mine = {tuple(k) for k in row.absorbed_identities if tuple(k) in held}
    theirs = _split_later(conn, held, {(str(a), str(b)) for a, b in mine}, int(row.seq))
    mine_keys: set[Key] = set(held) - theirs
    store.set_owner(conn, sorted(mine_keys), row.absorbed_id)
    store.restore_person(conn, row.absorbed_id)
    moved = _moved_events(conn, current, mine_keys, theirs)
    store.assign_events(conn, [(s, row.absorbed_id) for s in moved])
    store.mark_undone(conn, merge_id, now)
    hooks.split(conn, current, row.absorbed_id, moved)
    return Unmerged(merge_id, current, row.absorbed_id, len(mine_keys), len(moved))


def _split_later(conn: Connection, held: dict[Key, Any], mine: set[Key], merge_seq: int) -> set[Key]:
    """The keys that stay with the survivor; identities linked after the merge follow the
    identifiers of the message that linked them."""
    later = sorted((r for k, r in held.items() if k not in mine and r.linked_seq > merge_seq),
                   key=lambda r: (r.linked_seq, r.id_type, r.value))
    theirs = {k for k in held if k not in mine} - {(r.id_type, r.value) for r in later}
    payloads = store.event_payloads(conn, [r.linked_seq for r in later])
    for r in later:
        carried = {i.key() for i in extract(payloads.get(r.linked_seq, {}))}
        if carried & mine and not carried & theirs:
            mine.add((r.id_type, r.value))
        else:
            theirs.add((r.id_type, r.value))
    return theirs


def _moved_events(conn: Connection, person: str, mine: set[Key], theirs: set[Key]) -> list[int]:
    moved = []
    for row in store.event_rows_of(conn, person):
        for ident in extract(row.payload):
            if ident.key() in mine:
                moved.append(int(row.seq))
                break
            if ident.key() in theirs:
                break
    return moved


def _merge(row: Any) -> Merge:
    return Merge(row.id, row.survivor_id, row.absorbed_id, row.message_id, row.occurred_at,
                 row.merged_at, row.undone_at,
                 [{"type": t, "value": v} for t, v in row.absorbed_identities])


def parse_ref(ref: str) -> Key:
    """Split a ``TYPE:VALUE`` reference.

    >>> parse_ref("email:a@b.it")
    ('email', 'a@b.it')
    """
    id_type, sep, value = ref.partition(":")
    if not sep or not id_type.strip() or not value.strip():
        raise InvalidInput("Name a person as TYPE:VALUE, e.g. email:anna@example.com.")
    return id_type.strip().lower(), value.strip()


__all__: Sequence[str] = [
    "Household", "Merge", "Unmerged", "conflicts_of", "current_person", "find_person",
    "household_of", "identities_of", "merges_of", "parse_ref", "unmerge",
]
