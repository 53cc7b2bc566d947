"""Property: whatever the interleaving of claims, sends, failures, crashes and time, each action
is recorded as sent exactly once, by the worker holding its lease, and none is lost."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bestnext.channels import outbox
from bestnext.channels.model import OutboundAction, OutboxRow, Status
from bestnext.db import create_db_engine
from tests.integration.channels.conftest import T0

LEASE = timedelta(seconds=30)
WORKERS = ("w1", "w2", "w3")
op = st.one_of(
    st.tuples(st.just("claim"), st.sampled_from(WORKERS), st.integers(1, 3)),
    st.tuples(st.just("send_ok"), st.sampled_from(WORKERS), st.just(0)),
    st.tuples(st.just("send_fail"), st.sampled_from(WORKERS), st.just(0)),
    st.tuples(st.just("crash"), st.sampled_from(WORKERS), st.just(0)),
    st.tuples(st.just("tick"), st.just(""), st.integers(1, 45)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 6), ops=st.lists(op, max_size=40))
def test_lease_protocol_sends_each_action_exactly_once(sqlite_url: str, n: int, ops: list[tuple[str, str, int]]) -> None:
    engine = create_db_engine(sqlite_url)
    tag = uuid.uuid4().hex[:8]
    ids = [OutboundAction(person_id=f"{tag}-{i}", channel="push", purpose="service", action="a",
                          due_at=T0, text="x") for i in range(n)]
    now = T0
    held: dict[str, list[OutboxRow]] = {w: [] for w in WORKERS}
    delivered: dict[str, int] = {}  # the provider: deduplicates by key, counts deliveries
    recorded: list[str] = []
    with engine.begin() as conn:
        for a in ids:
            outbox.enqueue(conn, a)
    mine = {a.id for a in ids}

    def send(worker: str, row: OutboxRow, at: object) -> None:
        delivered[row.action.id] = delivered.get(row.action.id, 0) + 1
        with engine.begin() as conn:
            if outbox.mark_sent(conn, row.action.id, worker, now, f"p-{row.action.id}"):
                recorded.append(row.action.id)

    for kind, worker, arg in ops:
        if kind == "claim":
            with engine.begin() as conn:
                got = [r for r in outbox.claim(conn, worker, now, arg, LEASE) if r.action.id in mine]
            held[worker] += got
        elif kind in ("send_ok", "send_fail") and held[worker]:
            row = held[worker].pop(0)
            if kind == "send_ok":
                send(worker, row, now)
            else:
                with engine.begin() as conn:
                    outbox.mark_failed(conn, row.action.id, worker, "http 503", now + timedelta(seconds=5))
        elif kind == "crash":
            held[worker] = []
        elif kind == "tick":
            now += timedelta(seconds=arg)
    # a healthy worker drains what is left once every lease has expired
    for _ in range(3 * n + 3):
        now += LEASE + timedelta(seconds=10)
        with engine.begin() as conn:
            rows = [r for r in outbox.claim(conn, "drain", now, 10, LEASE) if r.action.id in mine]
        for row in rows:
            send("drain", row, now)
    with engine.begin() as conn:
        final = {a.id: outbox.get(conn, a.id) for a in ids}
    engine.dispose()
    assert sorted(recorded) == sorted(mine)  # each recorded as sent exactly once
    assert all(r is not None and r.status is Status.SENT for r in final.values())
    assert set(delivered) == mine  # nothing lost; re-sends carry the same key for the provider
