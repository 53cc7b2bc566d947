"""Resolution of one batch of events: find the persons owning a message's identifiers, create
or merge them under the guards, and attribute each event.

Reads are batched: one query for every identifier of the batch and, when a guard or a merge
first needs them, one for the identifiers (one for the creation offsets, one for the undone
merges) of every stored person the batch touches. Everything is written once at the end of
the batch, merges included: their moves as one executemany per statement, in merge order, and
the merge listeners once with every merge of the batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Container, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bestnext.eventlog.model import LoggedEvent
from bestnext.identity import hooks, store
from bestnext.identity.model import PERSONAL_TYPES, USER_ID, WEAK_TYPES, Identifier

Key = tuple[str, str]
Strong = dict[str, set[str]]
_STRONG_TYPES = (USER_ID, *PERSONAL_TYPES)


class BatchResolver:
    """The state of one batch: owners of its identifiers and the writes still pending."""

    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn, self.now = conn, now
        self.owner: dict[Key, str] = {}
        self.shared: set[Key] = set()
        self.new_persons: dict[str, dict[str, Any]] = {}
        self.new_idents: dict[Key, dict[str, Any]] = {}
        self.links: list[dict[str, Any]] = []
        self.conflicts: list[dict[str, Any]] = []
        self.assign: dict[int, str] = {}
        self._stored: set[str] = set()  # persons of the database the batch touches
        self._held: dict[str, list[Key]] = {}  # stored identifiers a person holds now
        self._new_strong: dict[str, Strong] = {}  # strong identifiers pending, by person
        self._created: dict[str, int] = {}
        self._unmerged: set[frozenset[str]] = set()
        self._unmerged_for: set[str] = set()
        self._absorbed: dict[str, str] = {}
        self.merges: list[tuple[str, str, str]] = []  # (survivor, absorbed, message id)
        self.merge_rows: list[dict[str, Any]] = []

    def preload(self, keys: set[Key]) -> None:
        for key, (person, shared) in store.owners(self.conn, keys).items():
            self.owner[key] = person
            self._stored.add(person)
            if shared:
                self.shared.add(key)

    # --- one event --------------------------------------------------------------------------

    def resolve(self, ev: LoggedEvent, ids: Sequence[Identifier]) -> str | None:
        """Attribute ``ev`` (whose identifiers are ``ids``, strongest first) to a person."""
        if not ids:
            return None
        usable = [i for i in ids if i.key() not in self.shared]
        if not usable:
            return self.owner[ids[0].key()]
        owned = [(i, self.owner[i.key()]) for i in usable if i.key() in self.owner]
        new = [i for i in usable if i.key() not in self.owner]
        order = list(dict.fromkeys(p for _, p in owned))
        anchor = order[0] if order else None
        if anchor is not None and self._contradicts(anchor, [i for i, p in owned if p == anchor], new):
            anchor = None
        if anchor is None:
            anchor = self._create(ev)
        for ident in new:
            self._add_identity(ident, anchor, ev)
        merged = False
        for other in order:
            if other == anchor:
                continue
            via = [i for i, p in owned if p == other]
            reason = self._refusal(anchor, other, via)
            if reason:
                self._conflict(ev, reason, anchor, other, via)
            else:
                anchor, merged = self._merge(anchor, other, ev), True
        if new or merged:
            self.links.append({"seq": ev.seq, "message_id": ev.message_id, "person_id": anchor,
                               "identifiers": [[i.type, i.value] for i in usable
                                               if self.owner.get(i.key()) == anchor],
                               "at": self.now})
        return anchor

    def _contradicts(self, person: str, via: Sequence[Identifier], new: Sequence[Identifier]) -> bool:
        """Whether the message's new identifiers cannot be the person's: another customer
        number, or (reached only through a device id) another email or phone."""
        if not any(i.type in _STRONG_TYPES for i in new):
            return False
        held = self._strong(person)
        weak = all(i.type in WEAK_TYPES for i in via)
        for ident in new:
            values = held.get(ident.type, set())
            if values and ident.value not in values and (ident.type == USER_ID or (
                    weak and ident.type in PERSONAL_TYPES)):
                return True
        return False

    def _refusal(self, anchor: str, other: str, via: Sequence[Identifier]) -> str | None:
        mine, theirs = self._strong(anchor), self._strong(other)
        weak = all(i.type in WEAK_TYPES for i in via)
        reason: str | None = None
        if _differ(mine, theirs, USER_ID):
            reason = "user_id"
        elif weak and any(_differ(mine, theirs, t) for t in PERSONAL_TYPES):
            reason = "shared_device"
        elif anchor not in self.new_persons and other not in self.new_persons \
                and frozenset((anchor, other)) in self._unmerged_pairs(anchor, other):
            reason = "unmerged"
        if reason and weak:
            self._mark_shared([i.key() for i in via])
        return reason

    # --- writes -----------------------------------------------------------------------------

    def current(self, person: str) -> str:
        """The person ``person`` stands for after this batch's merges so far."""
        seen = set()
        while person not in seen and (row := self.new_persons.get(person)) and row["absorbed_into"]:
            seen.add(person)
            person = row["absorbed_into"]
        return self._absorbed.get(person, person)

    def _create(self, ev: LoggedEvent) -> str:
        person = str(uuid.uuid4())
        self.new_persons[person] = {"id": person, "created_at": self.now, "created_seq": ev.seq,
                                    "absorbed_into": None}
        self._created[person] = ev.seq
        return person

    def _add_identity(self, ident: Identifier, person: str, ev: LoggedEvent) -> None:
        self.owner[ident.key()] = person
        if ident.type in _STRONG_TYPES:
            self._new_strong.setdefault(person, {}).setdefault(ident.type, set()).add(ident.value)
        self.new_idents[ident.key()] = {
            "id_type": ident.type, "value": ident.value, "person_id": person,
            "linked_by": ev.message_id, "linked_seq": ev.seq, "first_seen": ev.occurred_at,
            "shared": False}

    def _conflict(self, ev: LoggedEvent, kind: str, person: str, other: str,
                  via: Sequence[Identifier]) -> None:
        self.conflicts.append({"seq": ev.seq, "message_id": ev.message_id, "kind": kind,
                               "person_id": person, "other_person_id": other,
                               "identifiers": [[i.type, i.value] for i in via], "at": self.now})

    def _mark_shared(self, keys: list[Key]) -> None:
        self.shared.update(keys)
        stored = [k for k in keys if k not in self.new_idents]
        for key in keys:
            if key in self.new_idents:
                self.new_idents[key]["shared"] = True
        store.set_shared(self.conn, stored)

    def _merge(self, a: str, b: str, ev: LoggedEvent) -> str:
        survivor, absorbed = self._choose(a, b)
        held = self._held_of(absorbed)
        snapshot = sorted([[k[0], k[1]] for k in held] + [
            [k[0], k[1]] for k, row in self.new_idents.items() if row["person_id"] == absorbed])
        self._held[survivor] = self._held_of(survivor) + held
        self._held[absorbed] = []
        if absorbed in self.new_persons:
            self.new_persons[absorbed]["absorbed_into"] = survivor
        self._absorbed = {k: (survivor if v == absorbed else v) for k, v in self._absorbed.items()}
        self._absorbed[absorbed] = survivor
        for row in self.new_idents.values():
            if row["person_id"] == absorbed:
                row["person_id"] = survivor
        for key, person in self.owner.items():
            if person == absorbed:
                self.owner[key] = survivor
        for seq, person in self.assign.items():
            if person == absorbed:
                self.assign[seq] = survivor
        for t, values in self._new_strong.pop(absorbed, {}).items():
            self._new_strong.setdefault(survivor, {}).setdefault(t, set()).update(values)
        self.merge_rows.append({
            "id": str(uuid.uuid4()), "survivor_id": survivor, "absorbed_id": absorbed,
            "seq": ev.seq, "message_id": ev.message_id, "occurred_at": ev.occurred_at,
            "merged_at": self.now, "absorbed_identities": snapshot, "undone_at": None})
        self.merges.append((survivor, absorbed, ev.message_id))
        return survivor

    def _choose(self, a: str, b: str) -> tuple[str, str]:
        """(survivor, absorbed): the holder of a customer number, else the older person."""
        ua, ub = bool(self._strong(a).get(USER_ID)), bool(self._strong(b).get(USER_ID))
        if ua != ub:
            return (a, b) if ua else (b, a)
        missing = [p for p in (a, b) if p not in self._created]
        if missing:
            self._created.update(store.created_seqs(self.conn, self._with_stored(missing, self._created)))
        return (a, b) if (self._created.get(a, 0), a) <= (self._created.get(b, 0), b) else (b, a)

    def _with_stored(self, persons: Sequence[str], loaded: Container[str]) -> set[str]:
        """``persons`` and every other stored person of the batch not ``loaded`` yet (one
        query now instead of one per person later)."""
        return {p for p in (*persons, *self._stored) if p not in loaded and p not in self.new_persons}

    def _held_of(self, person: str) -> list[Key]:
        """The stored identifiers ``person`` holds now (this batch's merges included)."""
        if person not in self._held:
            if person in self.new_persons:
                self._held[person] = []
            else:
                self._held.update(store.held_by(self.conn, self._with_stored([person], self._held)))
        return self._held[person]

    def _unmerged_pairs(self, a: str, b: str) -> set[frozenset[str]]:
        """Undone merges of the batch's stored persons (loaded at the first guard that asks)."""
        if a not in self._unmerged_for or b not in self._unmerged_for:
            wanted = self._with_stored([a, b], self._unmerged_for)
            self._unmerged |= store.unmerged_pairs(self.conn, wanted)
            self._unmerged_for |= wanted
        return self._unmerged

    def _strong(self, person: str) -> Strong:
        """The person's customer numbers, emails and phones (stored and pending)."""
        found: Strong = {}
        for t, value in self._held_of(person):
            if t in _STRONG_TYPES:
                found.setdefault(t, set()).add(value)
        for t, values in self._new_strong.get(person, {}).items():
            found.setdefault(t, set()).update(values)
        return found

    def flush(self) -> None:
        """Write the batch: merges' moves first (rows stored before the batch, as each merge
        moved them), then the new rows, the attributions, the merges, and the listeners."""
        pairs = [(survivor, absorbed) for survivor, absorbed, _ in self.merges]
        store.move_persons(self.conn, [(absorbed, survivor) for survivor, absorbed in pairs])
        store.insert_rows(self.conn, "persons", list(self.new_persons.values()))
        store.insert_rows(self.conn, "identities", list(self.new_idents.values()))
        store.insert_rows(self.conn, "links", self.links)
        store.insert_rows(self.conn, "conflicts", self.conflicts)
        store.assign_events(self.conn, sorted(self.assign.items()))
        store.insert_merges(self.conn, self.merge_rows)
        hooks.merged_all(self.conn, pairs)


def _differ(mine: Strong, theirs: Strong, id_type: str) -> bool:
    """Both hold values of ``id_type`` and none in common."""
    a, b = mine.get(id_type, set()), theirs.get(id_type, set())
    return bool(a) and bool(b) and not (a & b)
