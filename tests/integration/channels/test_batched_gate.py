"""The dispatcher's batched pre-send gate judges every row exactly as the per-row gate does,
in a number of queries that does not grow with the batch (real SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event

from bestnext.bootstrap import Container
from bestnext.channels import cases, outbox, ports
from bestnext.channels.model import OutboundAction, OutboxRow
from bestnext.consent import services as consent
from bestnext.consent.model import Source
from bestnext.db import read
from bestnext.decisions import store as decisions_store
from tests.integration.channels.conftest import T0

CHANNELS = ("email", "sms", "push", "call_center", "branch", "post")


def _world(container: Container, people: int, seed: int) -> list[OutboxRow]:
    """People with every mix of consent, cases, contacts, declines and complaints, and a batch
    of actions for them (several per person, both purposes, every channel)."""
    rng = random.Random(seed)
    rows: list[OutboxRow] = []
    with container.engine.begin() as conn:
        for i in range(people):
            p = f"g-{seed}-{i}"
            if rng.random() < 0.7:
                consent.record(conn, p, {"personal_data": True, "own_marketing": rng.random() < 0.8},
                               Source("web", f"{p}-c"), T0 - timedelta(days=10))
            if rng.random() < 0.2:
                consent.record(conn, p, {"own_marketing": False}, Source("email", f"{p}-w"),
                               T0 + timedelta(minutes=rng.choice((-5, 5))))
            if rng.random() < 0.2:
                cases.open_case(conn, p, "token_shipment", team="operations", sla=timedelta(hours=48),
                                opened_by="api", at=T0 - timedelta(hours=1))
            if rng.random() < 0.2:
                decisions_store.open_case(conn, f"{p}-case", p, T0 - timedelta(days=1))
            for k in range(rng.randrange(0, 5)):
                decisions_store.record_contact(conn, ref=f"{p}-k{k}", person_id=p, channel=rng.choice(CHANNELS[:3]),
                                               purpose=rng.choice(("marketing", "service")), action_id=None,
                                               direction="out", at=T0 - timedelta(hours=rng.randrange(1, 200)))
            if rng.random() < 0.2:
                decisions_store.add_mark(conn, ref=f"{p}-d", person_id=p, kind="decline",
                                         action_id="offer_prepaid_card", at=T0 - timedelta(days=3))
            if rng.random() < 0.1:
                decisions_store.add_mark(conn, ref=f"{p}-x", person_id=p, kind="complaint", action_id=None,
                                         at=T0 - timedelta(days=2))
            for _ in range(rng.randrange(1, 4)):
                a = OutboundAction(person_id=p, channel=rng.choice(CHANNELS), action=rng.choice(
                    ("offer_prepaid_card", "answer_request")), purpose=rng.choice(("marketing", "service")),
                    due_at=T0, text="Ciao")
                outbox.enqueue(conn, a)
                found = outbox.get(conn, a.id)
                assert found is not None
                rows.append(found)
    return rows


def _counting(container: Container) -> tuple[list[str], Any]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2])[:60])

    event.listen(container.engine, "before_cursor_execute", count)
    return seen, count


def test_batched_verdicts_equal_the_per_row_gate(vcontainer: Container) -> None:
    gate = ports.gate_for(vcontainer.settings.config_dir)
    assert isinstance(gate, ports.PolicyGate)
    for seed, at in ((1, T0), (2, T0 + timedelta(hours=11)), (3, datetime(2025, 2, 23, 12, tzinfo=T0.tzinfo))):
        rows = _world(vcontainer, 40, seed)
        with read(vcontainer.engine) as conn:
            batched = gate.many(conn, rows, at)
            one_by_one = [gate(conn, r, at) for r in rows]
        assert batched == one_by_one
        kinds = {v.kind for v in batched}
        assert {"send", "cancel"} <= kinds  # the worlds exercise both outcomes (and reschedules)
        if seed == 3:
            assert "reschedule" in kinds  # a Sunday: quiet hours move SMS and calls


def test_the_batched_gate_needs_a_few_queries_whatever_the_batch(vcontainer: Container) -> None:
    gate = ports.gate_for(vcontainer.settings.config_dir)
    counts = []
    for seed, people in ((10, 5), (11, 120)):
        rows = _world(vcontainer, people, seed)
        seen, listener = _counting(vcontainer)
        try:
            with read(vcontainer.engine) as conn:
                ports.verdicts(gate, conn, rows, T0)
        finally:
            event.remove(vcontainer.engine, "before_cursor_execute", listener)
        counts.append(len([s for s in seen if s.lstrip().upper().startswith("SELECT")]))
    assert counts[0] == counts[1] <= 6, counts


def test_a_custom_gate_is_still_asked_row_by_row(vcontainer: Container) -> None:
    rows = _world(vcontainer, 3, 20)
    asked: list[str] = []

    def gate(conn: Any, row: OutboxRow, at: datetime) -> Any:
        asked.append(row.action.id)
        return ports.policy_gate(conn, row, at)

    with read(vcontainer.engine) as conn:
        ports.verdicts(gate, conn, rows, T0)
    assert asked == [r.action.id for r in rows]
