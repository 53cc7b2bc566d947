"""Property tests of identity resolution on real SQLite and PostgreSQL: random message
sequences keep the merge invariants, and an un-merge restores exactly the previous partition."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from bestnext.clock import SystemClock
from bestnext.db import create_db_engine
from bestnext.eventlog import Pipeline
from bestnext.eventlog.tables import events, processor_checkpoints
from bestnext.identity import services as identity
from bestnext.identity.model import extract
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
from bestnext.profiles.tables import profile_joint_holdings, profiles
from tests.support.segment import append_rows

TABLES = (events, processor_checkpoints, identities, persons, identity_links, identity_merges,
          identity_conflicts, household_links, profiles, profile_joint_holdings)


@pytest.fixture
def engine_(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


def _message(i: int, fields: dict[str, Any]) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": "track", "event": "Seen", "messageId": f"m{i}",
                           "timestamp": f"2025-03-01T10:{i:02d}:00+01:00", "context": {}}
    if "user" in fields:
        msg["userId"] = fields["user"]
    if "anon" in fields:
        msg["anonymousId"] = fields["anon"]
    traits = {k: fields[k] for k in ("email", "phone") if k in fields}
    if traits:
        msg["context"]["traits"] = traits
    if "fb" in fields:
        msg["context"]["externalIds"] = [{"id": fields["fb"], "type": "facebook_id"}]
    if not {"user", "anon"} & set(fields):
        msg["anonymousId"] = f"solo-{i}"
    return msg


_POOL = [("user", "C1"), ("user", "C2"), ("anon", "a1"), ("anon", "a2"), ("anon", "kiosk"),
         ("email", "e1@x.it"), ("email", "e2@x.it"), ("phone", "+393330000001"),
         ("phone", "+393330000002"), ("fb", "f1"), ("fb", "f2")]
# one to three identifiers a message: single ones make persons, the others link (or merge) them
_fields = st.lists(st.sampled_from(_POOL), min_size=1, max_size=3,
                   unique_by=lambda kv: kv[0]).map(dict)


def _owners(engine: Engine) -> dict[tuple[str, str], str]:
    with engine.connect() as conn:
        return {(r.id_type, r.value): r.person_id for r in conn.execute(select(identities))}


def _attribution(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return {r.message_id: r.person_id for r in conn.execute(select(events.c.message_id, events.c.person_id))}


def _check_invariants(engine: Engine, messages: list[dict[str, Any]]) -> None:
    owners = _owners(engine)
    with engine.connect() as conn:
        user_ids = conn.execute(select(identities.c.person_id, func.count())
                                .where(identities.c.id_type == "user_id")
                                .group_by(identities.c.person_id)).all()
        absorbed = set(conn.execute(select(persons.c.id).where(persons.c.absorbed_into.is_not(None))).scalars())
        counts = dict(conn.execute(select(profiles.c.person_id, profiles.c.event_count)).tuples().all())
        logged = conn.execute(select(events.c.person_id, events.c.payload)).all()
    assert all(n == 1 for _, n in user_ids), "two customer numbers in one person"
    for msg in messages:  # one person per identifier, every identifier known
        assert all(i.key() in owners for i in extract(msg))
    per_person: dict[str, int] = {}
    for person, payload in logged:
        assert person is not None and person not in absorbed
        if payload.get("userId"):
            assert owners[("user_id", payload["userId"])] == person, "event not with its user_id"
        per_person[person] = per_person.get(person, 0) + 1
    assert counts == per_person


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example([{"email": "e1@x.it"}, {"phone": "+393330000001"}, {"email": "e1@x.it", "phone": "+393330000001"}])
@example([{"anon": "a1"}, {"user": "C1"}, {"user": "C1", "anon": "a1"}])
@example([{"email": "e1@x.it"}, {"phone": "+393330000001"}, {"fb": "f1"}, {"email": "e1@x.it", "phone": "+393330000001"}, {"phone": "+393330000001", "fb": "f1"}])
@example([{"email": "e1@x.it"}, {"phone": "+393330000001"}, {"fb": "f1"}, {"email": "e1@x.it", "phone": "+393330000001", "fb": "f1"}])
@example([{"phone": "+393330000001", "anon": "kiosk"}, {"phone": "+393330000002", "anon": "kiosk"}, {"email": "e1@x.it", "anon": "kiosk"}])
@example([{"user": "C1", "anon": "a1"}, {"user": "C2", "anon": "a2"}, {"email": "e1@x.it", "anon": "a1"},
          {"email": "e1@x.it", "anon": "a2"}])
@given(st.lists(_fields, min_size=3, max_size=10))
def test_random_messages_keep_invariants_and_unmerge_restores(engine_: Engine,
                                                              fields: list[dict[str, Any]]) -> None:
    with engine_.begin() as conn:
        for table in TABLES:
            conn.execute(table.delete())
    pipeline = Pipeline(engine_, [IdentityProcessor(SystemClock()), ProfilesProcessor()])
    messages = [_message(i, f) for i, f in enumerate(fields)]
    snapshots = []
    for msg in messages:
        snapshots.append((_owners(engine_), _attribution(engine_)))
        append_rows(engine_, [msg])
        pipeline.run_until_idle()
        _check_invariants(engine_, messages[: len(snapshots)])
    with engine_.connect() as conn:
        merged = conn.execute(select(identity_merges.c.id, identity_merges.c.message_id)
                              .order_by(identity_merges.c.seq)).all()
    event(f"merges: {min(len(merged), 3)}")
    if not merged:
        return
    last = merged[-1].message_id
    before_owners, before_events = snapshots[int(last[1:])]
    with engine_.begin() as conn:
        for merge in reversed([m for m in merged if m.message_id == last]):
            identity.unmerge(conn, merge.id, SystemClock().now())
    owners, attributed = _owners(engine_), _attribution(engine_)
    assert {k: owners[k] for k in before_owners} == before_owners
    assert {k: attributed[k] for k in before_events} == before_events
