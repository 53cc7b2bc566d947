"""Batch reads of the journeys processor, on SQLite and PostgreSQL: which persons have an active
instance (one query per batch), paused journeys read once per transaction, and an instance
entered by one event of a batch is seen by the next event of the same person."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bestnext.bootstrap import Container, build
from bestnext.clock import VirtualClock
from bestnext.db import read
from bestnext.ingest import services as ingest
from bestnext.journeys import store
from bestnext.journeys.store import Instance
from bestnext.settings import DEMO_CONFIG_DIR, Settings

MON = datetime(2025, 5, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
def c(db_url: str, tmp_path: Path) -> Any:
    built = build(Settings(database_url=db_url, environment="test", log_file=tmp_path / "log.txt"),
                  VirtualClock(MON))
    yield built
    built.dispose()


def _instance(iid: str, person: str, status: str) -> Instance:
    return Instance(id=iid, journey_id="lead", version=1, person_id=person, status=status, step="s")


def test_with_active_names_only_persons_with_an_active_instance(c: Container) -> None:
    with c.engine.begin() as conn:
        store.insert(conn, _instance("i1", "p1", "active"), MON, None)
        store.insert(conn, _instance("i2", "p2", "completed"), MON, None)
        store.insert(conn, _instance("i3", "p1", "active"), MON, None)
        assert store.with_active(conn, {"p1", "p2", "p3"}) == {"p1"}
        assert store.with_active(conn, set()) == set()
        many = {f"x{i}" for i in range(1200)} | {"p1"}  # more than one IN chunk
        assert store.with_active(conn, many) == {"p1"}


def test_paused_ids_follow_set_paused_in_the_same_transaction_and_the_next(c: Container) -> None:
    with c.engine.begin() as conn:
        assert store.paused_ids(conn) == set()
        store.set_paused(conn, "lead", True, MON, "tester")
        assert store.paused_ids(conn) == {"lead"}
    with c.engine.begin() as conn:
        assert store.paused_ids(conn) == {"lead"}
        store.set_paused(conn, "lead", False, MON, "tester")
        assert store.paused_ids(conn) == set()
    with c.engine.begin() as conn:
        assert store.paused_ids(conn) == set()


TICK = """
id: tick
entry: [{event: Tick}]
reentry: {mode: always}
steps:
  - {id: pause, do: wait, for: 1h}
  - {id: done, do: end}
"""


def test_an_instance_entered_in_a_batch_is_seen_by_the_next_event_of_that_person(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "bank"
    shutil.copytree(DEMO_CONFIG_DIR, config)
    for old in (config / "journeys").glob("*.yaml"):
        old.unlink()
    (config / "journeys" / "tick.yaml").write_text(TICK)
    c = build(Settings(database_url=db_url, environment="test", log_file=tmp_path / "log.txt",
                       config_dir=config), VirtualClock(MON))
    try:
        ticks = [{"type": "track", "event": "Tick", "messageId": f"t{n}", "userId": "U1",
                  "timestamp": MON.isoformat(), "context": {"touchpoint": "web"}} for n in range(3)]
        with c.engine.begin() as conn:
            source = ingest.ensure_source(conn, "test", "web", MON)
            assert not ingest.accept(conn, source, ticks, MON).errors
        c.pipeline.run_until_idle()  # one batch: the first tick enters, the others find it waiting
        with read(c.engine) as conn:
            rows = conn.exec_driver_sql("SELECT person_id, status FROM journey_instances").all()
        assert [r[1] for r in rows] == ["active"]
    finally:
        c.dispose()


def test_two_leads_of_one_person_in_one_batch_enter_the_journey_once(c: Container) -> None:
    base = {"anonymousId": "anon-batch", "timestamp": MON.isoformat(), "context": {"touchpoint": "partner"}}
    messages = [{**base, "type": "identify", "messageId": "b-1", "traits": {"phone": "+393330001234"}}]
    messages += [{**base, "type": "track", "messageId": f"b-{n}", "event": "Lead Received",
                  "properties": {"product": "pension_fund", "preferred_channel": "sms"}} for n in (2, 3)]
    with c.engine.begin() as conn:
        source = ingest.ensure_source(conn, "test", "partner", MON)
        assert not ingest.accept(conn, source, messages, MON).errors
    c.pipeline.run_until_idle()
    with read(c.engine) as conn:
        person = conn.exec_driver_sql("SELECT DISTINCT person_id FROM journey_instances").scalars().all()
        assert len(person) == 1
        leads = [i for i in store.of_person(conn, str(person[0]), status=None) if i.journey_id == "lead"]
    assert len(leads) == 1
    assert leads[0].status == "active"
