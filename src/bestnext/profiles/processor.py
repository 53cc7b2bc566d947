"""The profiles processor (after identity): folds each attributed event into its person's
profile; listeners keep profiles right through merges and un-merges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from bestnext.eventlog import store as log
from bestnext.eventlog.model import LoggedEvent
from bestnext.identity import hooks
from bestnext.identity import services as identity
from bestnext.identity.model import USER_ID
from bestnext.profiles import store
from bestnext.profiles.model import Facts, ProfileState, facts_of
from bestnext.profiles.names import display_name

NAME = "profiles"


def facts(ev: LoggedEvent) -> Facts:
    return facts_of(ev.payload, ev.touchpoint, ev.occurred_at, ev.message_id)


class ProfilesProcessor:
    """Keeps one profile per person, in the same transaction as its checkpoint."""

    name = NAME

    def __init__(self) -> None:
        install()

    def handle(self, conn: Connection, batch: Sequence[LoggedEvent]) -> None:
        folded = [(ev.person_id, f) for ev in batch if ev.person_id and (f := facts(ev)).identified]
        holders = {h for _, f in folded for h in f.holders}
        holder_person = {h: identity.find_person(conn, USER_ID, h) for h in sorted(holders)}
        wanted = {pid for pid, _ in folded} | {p for p in holder_person.values() if p}
        states = store.load(conn, wanted)
        existing = set(states)
        named = {pid: name_of(st) for pid, st in states.items()}
        joint: list[dict[str, Any]] = []
        for pid, fact in folded:
            assert pid is not None
            states.setdefault(pid, ProfileState()).apply(fact)
            for holder in fact.holders:
                owner = holder_person.get(holder)
                for product in fact.holdings:
                    joint.append({"user_id": holder, "product": product,
                                  "message_id": fact.message_id, "since": fact.at})
                    if owner:
                        states.setdefault(owner, ProfileState()).hold(product, fact.at, fact.message_id)
        store.add_joint(conn, joint)
        store.save(conn, states, existing)
        store.index_names(conn, {pid: name for pid, st in states.items()
                                 if (name := name_of(st)) != named.get(pid)})


def name_of(state: ProfileState) -> str | None:
    """The person's display name, as the console's search finds it."""
    return display_name(state.traits)


def rebuild_person(conn: Connection, person_id: str) -> ProfileState:
    """The person's profile from the log (events the profiles processor has reached)."""
    state = ProfileState()
    for ev in store.events_upto(conn, person_id, log.checkpoint(conn, NAME)):
        if (fact := facts(ev)).identified:
            state.apply(fact)
    user_ids = [i.value for i in identity.identities_of(conn, person_id) if i.type == USER_ID]
    for row in store.joint_of(conn, user_ids) if user_ids else []:
        state.hold(row.product, row.since, row.message_id)
    return state


def _on_merges(conn: Connection, pairs: Sequence[tuple[str, str]]) -> None:
    """Fold each absorbed profile into its survivor, in merge order: one read and one write
    for all the merges of a batch (a chain a -> b -> c ends in c, as one merge at a time)."""
    states = store.load(conn, {p for pair in pairs for p in pair})
    existing = set(states)
    named = {pid: name_of(st) for pid, st in states.items()}
    gone: set[str] = set()
    for survivor_id, absorbed_id in pairs:
        absorbed = states.pop(absorbed_id, None)
        if absorbed is not None:
            states.setdefault(survivor_id, ProfileState()).combine(absorbed)
            gone.add(absorbed_id)
    if not gone:
        return
    grown = {survivor_id for survivor_id, absorbed_id in pairs if absorbed_id in gone}
    changed = {pid: st for pid, st in states.items() if pid in grown}
    store.remove(conn, sorted(gone & existing))
    store.save(conn, changed, existing)
    store.index_names(conn, {pid: name for pid, st in changed.items()
                             if (name := name_of(st)) != named.get(pid) or pid not in existing})


def _on_split(conn: Connection, original_id: str, new_id: str, moved_seqs: Sequence[int]) -> None:
    existing = set(store.load(conn, [original_id, new_id]))
    states = {pid: rebuild_person(conn, pid) for pid in (original_id, new_id)}
    store.save(conn, states, existing)
    store.index_names(conn, {pid: name_of(st) for pid, st in states.items()})


def install() -> None:
    """Register the profile listeners with identity (idempotent)."""
    hooks.on_merges(_on_merges)
    hooks.on_split(_on_split)


def rebuild_all(conn: Connection, chunk: int = 1000) -> int:
    """Replay the log (up to the profiles checkpoint) into fresh profiles; returns events."""
    upto = log.checkpoint(conn, NAME)
    store.remove_all(conn)
    processor, seq, done = ProfilesProcessor(), 0, 0
    while batch := log.read_after(conn, seq, chunk, upto=upto):
        processor.handle(conn, batch)
        seq, done = batch[-1].seq, done + len(batch)
    return done

