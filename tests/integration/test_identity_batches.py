"""Identity and profiles resolve a whole batch at once (reads batched, merges written at the end
of the batch, merge listeners told once): on real SQLite and PostgreSQL, a batch must leave
exactly what one event at a time leaves — new persons with several events, merges and merge
chains inside the batch (stored persons absorbed by a new one), guard conflicts, an un-merged
pair that must not merge again, joint holders and households, and the listeners' order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select

from bestnext.clock import SystemClock
from bestnext.db import create_db_engine, read, set_column
from bestnext.eventlog import Pipeline
from bestnext.eventlog.tables import events
from bestnext.identity import hooks
from bestnext.identity import services as identity
from bestnext.identity.processor import IdentityProcessor
from bestnext.identity.tables import (
    household_links,
    identities,
    identity_conflicts,
    identity_links,
    identity_merges,
    persons,
)
from bestnext.profiles.processor import ProfilesProcessor
from bestnext.profiles.tables import profile_joint_holdings, profile_name_terms, profiles
from tests.support.segment import append_rows

T = "2025-03-01T10:{:02d}:00+01:00"


def _msg(i: int, kind: str, **fields: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": kind, "messageId": f"n{i:02d}", "timestamp": T.format(i),
                           "context": {"touchpoint": "web"}, **fields}
    if kind == "track":
        msg.setdefault("event", "Seen")
    return msg


# Stored before the batch: two persons the batch will absorb into a new customer.
BEFORE = [
    _msg(0, "track", anonymousId="s-dev1"),
    _msg(1, "identify", anonymousId="s-dev2", traits={"email": "s@x.it", "first_name": "Sara"}),
    _msg(2, "identify", userId="C7", traits={"email": "c7@x.it", "last_name": "Verdi"}),
    _msg(3, "page", anonymousId="v-dev", name="Fondo pensione", properties={"path": "/previdenza"}),
]
BATCH = [
    _msg(10, "identify", anonymousId="a1", traits={"email": "e1@x.it", "first_name": "Anna"}),
    _msg(11, "track", anonymousId="a1"),  # the same new person again
    _msg(12, "page", anonymousId="a2", name="Mutui", traits={"email": "e2@x.it"},
         context={"touchpoint": "web", "traits": {"email": "e2@x.it"}}),
    _msg(13, "track", anonymousId="a3", properties={"product": "prepaid_card"}),
    _msg(14, "identify", anonymousId="a3", traits={"email": "e2@x.it", "last_name": "Neri"}),  # merge
    _msg(15, "alias", previousId="a1", userId="C1"),
    _msg(16, "identify", userId="C1", traits={"email": "e2@x.it"}),  # a3 -> a2 -> C1: a chain
    _msg(17, "track", userId="C9", anonymousId="n-dev"),  # a new customer ...
    _msg(18, "alias", previousId="s-dev1", userId="C9"),  # ... absorbs a stored person
    _msg(19, "identify", anonymousId="s-dev1", traits={"email": "s@x.it"}),  # and another
    _msg(20, "track", anonymousId="zz"),
    _msg(21, "identify", anonymousId="zz", userId="C9"),  # a new person absorbed by C9
    _msg(22, "track", userId="C1", anonymousId="kiosk"),
    _msg(23, "track", userId="C2", anonymousId="kiosk"),  # guard: two customer numbers
    _msg(24, "track", anonymousId="kiosk", context={"touchpoint": "branch", "traits": {"email": "e9@x.it"}}),
    _msg(25, "track", anonymousId="kiosk2", context={"touchpoint": "branch", "traits": {"phone": "+393330000001"}}),
    _msg(26, "track", anonymousId="kiosk2", context={"touchpoint": "branch", "traits": {"phone": "+393330000002"}}),
    _msg(27, "group", userId="C1", groupId="H-1"),
    _msg(28, "track", event="Account Opened", userId="C1",
         properties={"product": "current_account", "holders": ["C1", "C2", "C3"]}),
    _msg(29, "identify", anonymousId="v-dev", userId="C7"),  # two stored persons merge
]
# After the merge of message n16 is undone: the same link again is refused ("unmerged").
AFTER = [_msg(40, "identify", userId="C1", traits={"email": "e2@x.it"}),
         _msg(41, "track", anonymousId="a2")]
TABLES = (events, identities, persons, identity_links, identity_merges, identity_conflicts,
          household_links, profiles, profile_joint_holdings, profile_name_terms)


class Heard:
    """A merge listener of each kind: one pair at a time, and a batch's pairs at once."""

    def __init__(self) -> None:
        self.one: list[tuple[str, str]] = []
        self.many: list[list[tuple[str, str]]] = []

    def merged(self, conn: Connection, survivor: str, absorbed: str) -> None:
        self.one.append((survivor, absorbed))

    def merged_many(self, conn: Connection, pairs: Sequence[tuple[str, str]]) -> None:
        self.many.append(list(pairs))


@pytest.fixture
def heard() -> Iterator[Heard]:
    listener = Heard()
    hooks.on_merge(listener.merged)
    hooks.on_merges(listener.merged_many)
    yield listener
    hooks._merge.remove(listener.merged)
    hooks._merges.remove(listener.merged_many)


@pytest.fixture
def engine_(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


def _run(engine: Engine, batch_size: int, heard: Heard) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Process BEFORE, BATCH, undo the merge of n16, process AFTER; the canonical outcome."""
    pipeline = Pipeline(engine, [IdentityProcessor(SystemClock()), ProfilesProcessor()], batch_size)
    for part in (BEFORE, BATCH):
        append_rows(engine, part)
        pipeline.run_until_idle()
    with engine.begin() as conn:
        merge_id = conn.execute(select(identity_merges.c.id)
                                .where(identity_merges.c.message_id == "n16")).scalar_one()
        identity.unmerge(conn, merge_id, datetime.now(UTC))
    append_rows(engine, AFTER)
    pipeline.run_until_idle()
    with read(engine) as conn:
        query = select(persons.c.id, events.c.message_id).where(events.c.seq == persons.c.created_seq)
        names: dict[str, str] = {r.id: r.message_id for r in conn.execute(query)}
        return _canonical(conn, names), [(names[s], names[a]) for s, a in heard.one]


def _canonical(conn: Connection, names: dict[str, str]) -> dict[str, Any]:
    """Every row of identity and profiles, person ids named by the message that created them."""
    def n(person: str | None) -> str | None:
        return None if person is None else names[person]

    rows = {t.name: [r._mapping for r in conn.execute(select(t))] for t in TABLES}
    into = {r["id"]: r["absorbed_into"] for r in rows["persons"]}

    def now(person: str) -> str | None:
        """Where a person's chain of merges ends (a batch links a new person absorbed in it to
        its survivor, one event at a time to the end of the chain: the same person)."""
        seen = set()
        while into.get(person) and person not in seen:
            seen.add(person)
            person = into[person]
        return n(person)

    return {
        "events": sorted((r["message_id"], n(r["person_id"])) for r in rows["events"]),
        "persons": sorted((n(r["id"]), r["absorbed_into"] is None) for r in rows["persons"]),
        "chains": {n(r["id"]): (n(r["absorbed_into"]), now(r["id"])) for r in rows["persons"]},
        "identities": sorted((r["id_type"], r["value"], n(r["person_id"]), r["linked_by"], r["shared"])
                             for r in rows["identities"]),
        "links": sorted((r["message_id"], n(r["person_id"]), str(r["identifiers"])) for r in rows["identity_links"]),
        "merges": sorted((r["message_id"], n(r["survivor_id"]), n(r["absorbed_id"]),
                          str(r["absorbed_identities"]), r["undone_at"] is None) for r in rows["identity_merges"]),
        "conflicts": sorted((r["message_id"], r["kind"], n(r["person_id"]), n(r["other_person_id"]),
                             str(r["identifiers"])) for r in rows["identity_conflicts"]),
        "households": sorted((r["household_id"], r["id_type"], r["value"]) for r in rows["household_links"]),
        "profiles": sorted((n(r["person_id"]), r["lifecycle_stage"], r["event_count"], str(r["doc"]))
                           for r in rows["profiles"]),
        "joint": sorted((r["user_id"], r["product"]) for r in rows["profile_joint_holdings"]),
        "names": sorted((r["term"], n(r["person_id"]), r["name"]) for r in rows["profile_name_terms"]),
    }


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(table.delete())
        from bestnext.eventlog.tables import processor_checkpoints

        conn.execute(processor_checkpoints.delete())


def test_a_batch_leaves_what_one_event_at_a_time_leaves(engine_: Engine, heard: Heard) -> None:
    one_by_one, heard_one = _run(engine_, 1, heard)
    assert [len(p) for p in heard.many] == [1] * len(heard_one)
    _wipe(engine_)
    heard.one.clear()
    heard.many.clear()
    batched, heard_batched = _run(engine_, 500, heard)
    # A batch leaves a new person it absorbed pointing at its survivor, one event at a time
    # re-points it at the end of the chain when the survivor is absorbed in turn (as before
    # the batch writes: the same person until an un-merge restores the middle one).
    chains = batched.pop("chains"), one_by_one.pop("chains")
    assert batched == one_by_one
    assert chains[0]["n13"] == ("n12", "n12") and chains[1]["n13"] == ("n10", "n10")
    assert heard_batched == heard_one  # the same merges, in the same order
    assert [len(p) for p in heard.many] == [len(heard_one)]  # all in one call


def test_inside_one_batch(engine_: Engine, heard: Heard) -> None:
    """What the batch does, said plainly (the comparison above would pass if both were wrong)."""
    outcome, merges = _run(engine_, 500, heard)
    person = dict(outcome["events"])
    c1 = {person[m] for m in ("n10", "n11", "n15", "n16", "n22", "n27", "n28", "n40")}
    restored = {person[m] for m in ("n12", "n13", "n14", "n41")}  # the un-merged n16 merge
    c9 = {person[m] for m in ("n00", "n01", "n17", "n18", "n19", "n20", "n21")}
    assert (c1, restored, c9) == ({"n10"}, {"n12"}, {"n17"})
    assert person["n29"] == person["n03"] == "n02"  # two stored persons merged
    assert len({person["n23"], person["n24"], person["n25"], person["n26"]} | c1) == 5
    assert [(c[0], c[1]) for c in outcome["conflicts"]] == [
        ("n23", "user_id"), ("n26", "shared_device"), ("n40", "unmerged")]
    assert {(t, v) for t, v, _, _, shared in outcome["identities"] if shared} == {
        ("anonymous_id", "kiosk"), ("anonymous_id", "kiosk2")}
    assert merges == [("n12", "n13"), ("n10", "n12"), ("n17", "n00"), ("n17", "n01"),
                      ("n17", "n20"), ("n02", "n03")]
    assert [len(pairs) for pairs in heard.many] == [6]  # the batch's merges, told once
    profile = {p: (stage, count) for p, stage, count, _ in outcome["profiles"]}
    assert (profile["n10"], profile["n12"], profile["n17"]) == (("customer", 8), ("prospect", 4), ("lead", 7))
    assert not {"n00", "n01", "n03", "n13", "n20"} & set(profile)
    assert ("C3", "current_account") in outcome["joint"]
    assert ("H-1", "user_id", "C2") in outcome["households"]
    assert [(term, p) for term, p, _ in outcome["names"]] == [
        ("anna", "n10"), ("neri", "n12"), ("sara", "n17"), ("verdi", "n02")]


@pytest.mark.parametrize("rows", [0, 3, 1200])
def test_set_column(engine_: Engine, rows: int) -> None:
    """The write that attributes a batch's events (one statement on PostgreSQL) sets what it
    names, and only that."""
    people = [{"id": f"p{i}", "created_at": datetime(2025, 1, 1, tzinfo=UTC), "created_seq": i,
               "absorbed_into": None} for i in range(rows)]
    with engine_.begin() as conn:
        if people:
            conn.execute(persons.insert(), people)
        set_column(conn, persons, "id", "absorbed_into", [(f"p{i}", f"q{i}") for i in range(0, rows, 2)])
    with read(engine_) as conn:
        found = {r.id: r.absorbed_into for r in conn.execute(select(persons.c.id, persons.c.absorbed_into))}
    assert found == {f"p{i}": (f"q{i}" if i % 2 == 0 else None) for i in range(rows)}
