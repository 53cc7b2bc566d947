"""Erasure cancels the person's pending work: their journey wake-ups, their decisions' timers
and their queued actions go with them, so nothing is sent to an erased person later and no row
(timer, outbox action, instance) still names them; work committed late by a transaction that
was in flight is removed by the erasure's second pass, before it is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, String, cast, func, or_, select

from bestnext.access import Principal, Role, audit
from bestnext.bootstrap import Container, build
from bestnext.channels import outbox as queue
from bestnext.channels.model import OutboundAction
from bestnext.channels.providers import SandboxProvider
from bestnext.channels.tables import outbox
from bestnext.channels.wiring import dispatcher
from bestnext.clock import VirtualClock
from bestnext.db import metadata, read
from bestnext.ingest import services as ingest
from bestnext.journeys.tables import journey_instances
from bestnext.privacy import services as privacy
from bestnext.privacy import subjects, sweep
from bestnext.settings import Settings
from bestnext.timers import store as timers

SAT_NIGHT = datetime(2025, 4, 19, 20, 30, tzinfo=UTC)  # the lead's first SMS waits for Tuesday
_NAMING = ("timers", "outbox", "journey_instances", "journey_steps", "journey_contacts", "decisions")
COMPLIANCE = Principal("k1", "compliance officer", Role.COMPLIANCE)


def _lead(anonymous_id: str, phone: str, at: datetime) -> list[dict[str, Any]]:
    base = {"anonymousId": anonymous_id, "timestamp": at.isoformat(), "context": {"touchpoint": "partner"}}
    return [
        {**base, "type": "identify", "messageId": f"{anonymous_id}-1", "traits": {"first_name": "Ada", "phone": phone}},
        {**base, "type": "track", "messageId": f"{anonymous_id}-2", "event": "Consent Preferences Updated",
         "properties": {"purposes": {"personal_data": True, "own_marketing": True, "profiling": True}}},
        {**base, "type": "track", "messageId": f"{anonymous_id}-3", "event": "Lead Received",
         "properties": {"product": "pension_fund", "preferred_channel": "sms"}},
    ]


def _accept(c: Container, messages: list[dict[str, Any]]) -> None:
    with c.engine.begin() as conn:
        source = ingest.ensure_source(conn, "test", "web", c.clock.now())
        assert not ingest.accept(conn, source, messages, c.clock.now()).errors
    c.pipeline.run_until_idle()


def _waiting(conn: Connection) -> dict[str, str]:
    """``{person id: instance id}`` of the lead instances waiting for a reply."""
    rows = conn.execute(select(journey_instances.c.person_id, journey_instances.c.id)
                        .where(journey_instances.c.step == "wait_reply", journey_instances.c.status == "active"))
    return {r.person_id: r.id for r in rows}


def _naming(conn: Connection, person_id: str, instance_id: str) -> dict[str, int]:
    """Rows of timers, outbox and journeys that name the person or their instance (in a column
    or inside a JSON document such as a timer's payload)."""
    counts = {}
    for name in _NAMING:
        table = metadata.tables[name]
        where = [table.c[c] == person_id for c in ("person_id",) if c in table.c]
        where += [table.c[c] == instance_id for c in ("id", "instance_id")
                  if c in table.c and isinstance(table.c[c].type, String)]
        where += [cast(c, String).contains(v) for c in table.columns if isinstance(c.type, JSON)
                  for v in (person_id, instance_id)]
        counts[name] = int(conn.execute(select(func.count()).select_from(table).where(or_(*where))).scalar_one())
    return counts


def test_erasure_cancels_waiting_steps_and_queued_actions(db_url: str, tmp_path: Path) -> None:
    clock = VirtualClock(SAT_NIGHT)
    c = build(Settings(database_url=db_url, environment="test", log_file=tmp_path / "log.txt"), clock,
              configure_logging=False)
    try:
        _accept(c, _lead("lead-ada", "+393330000009", SAT_NIGHT) + _lead("lead-bea", "+393330000010", SAT_NIGHT))
        with read(c.engine) as conn:
            waiting = _waiting(conn)
            assert len(waiting) == 2, "both leads wait for a reply"
            ada, bea = (subjects.resolve(conn, "anonymous_id", lead) for lead in ("lead-ada", "lead-bea"))
            assert _naming(conn, ada, waiting[ada])["outbox"] == 1, "Ada's first SMS is queued"
            assert len(timers.pending(conn, "journey.wake")) == 2

        privacy.erase_subject(c.engine, c.clock, COMPLIANCE, "person", ada, "art. 17")

        with read(c.engine) as conn:
            assert _naming(conn, ada, waiting[ada]) == {**dict.fromkeys(_NAMING, 0), "timers": 1}
            assert [t.payload["instance"] for t in timers.pending(conn, "journey.wake")] == [waiting[bea]]
            assert [t.person_id for t in timers.pending(conn, sweep.TIMER_KIND)] == [ada], "the only row left"
        _late_work(c, ada, waiting[ada])  # committed by a transaction that was in flight (PostgreSQL)
        sms = SandboxProvider()
        send = dispatcher(c, chosen={"sms": sms})
        # 09:00 in Rome on: the first SMS's day, the reply timeout (2 days), the second SMS's day
        for day in (22, 24, 26):
            clock.advance_to(datetime(2025, 4, day, 7, 0, tzinfo=UTC))
            c.service("timers").fire_due()
            c.pipeline.run_until_idle()
            send.run_until_idle()
        with read(c.engine) as conn:
            sent = conn.execute(select(outbox.c.id, outbox.c.person_id).where(outbox.c.status == "sent")).all()
            assert _naming(conn, ada, waiting[ada]) == dict.fromkeys(_NAMING, 0)
        assert {r.person_id for r in sent} == {bea}, "only the person not erased is contacted"
        assert len(sent) >= 2, "Bea's first SMS and the one after her reply timeout"
        assert sorted(sms.delivered) == sorted(r.id for r in sent)
        with read(c.engine) as conn:
            assert [e["action"] for e in audit.entries(conn, person_id=ada)] == ["privacy.erase"]
    finally:
        c.dispose()


def _late_work(c: Container, person_id: str, instance_id: str) -> None:
    """What a processor transaction that read the person's events before the erasure commits
    after it: a queued SMS naming the person and a wake-up of their (erased) instance."""
    now = c.clock.now()
    with c.engine.begin() as conn:
        queue.enqueue(conn, OutboundAction(person_id=person_id, channel="sms", purpose="service",
                                           action="answer_request", due_at=now, text="Ciao Ada"), now=now)
        timers.schedule(conn, "journey.wake", now + timedelta(hours=1), {"instance": instance_id, "step": "x"},
                        now=now, person_id=person_id)
