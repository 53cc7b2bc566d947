"""The journey engine on SQLite and PostgreSQL: durable waits that survive a restart, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bestnext.bootstrap import Container, build
from bestnext.channels import outbox
from bestnext.clock import VirtualClock
from bestnext.db import read
from bestnext.ingest import services as ingest
from bestnext.journeys import store
from bestnext.journeys.tables import journey_instances
from bestnext.settings import Settings

SAT_NIGHT = datetime(2025, 4, 19, 20, 30, tzinfo=UTC)  # 22:30 in Rome; Sunday is Easter, Monday a holiday


def _messages(at: datetime) -> list[dict[str, Any]]:
    ts = at.isoformat()
    base = {"anonymousId": "lead-1", "timestamp": ts, "context": {"touchpoint": "partner"}}
    return [
        {**base, "type": "identify", "messageId": "m1",
         "traits": {"first_name": "Ada", "age": 40, "phone": "+393330000009"}},
        {**base, "type": "track", "messageId": "m2", "event": "Consent Preferences Updated",
         "properties": {"purposes": {"personal_data": True, "own_marketing": True, "profiling": True}}},
        {**base, "type": "track", "messageId": "m3", "event": "Lead Received",
         "properties": {"product": "pension_fund", "preferred_channel": "sms"}},
    ]


def _container(db_url: str, clock: VirtualClock, tmp: Path) -> Container:
    return build(Settings(database_url=db_url, environment="test", log_file=tmp / "log.txt"), clock)


def _accept(c: Container, messages: list[dict[str, Any]]) -> None:
    with c.engine.begin() as conn:
        source = ingest.ensure_source(conn, "test", "web", c.clock.now())
        result = ingest.accept(conn, source, messages, c.clock.now())
    assert not result.errors
    c.pipeline.run_until_idle()


def test_lead_waits_durably_and_resumes_after_a_restart(db_url: str, tmp_path: Path) -> None:
    clock = VirtualClock(SAT_NIGHT)
    first = _container(db_url, clock, tmp_path)
    _accept(first, _messages(SAT_NIGHT))
    with read(first.engine) as conn:
        (inst,) = [i for i in store.of_person(conn, _person(conn)) if i.journey_id == "lead"]
        rows = outbox.of_person(conn, inst.person_id)
    assert inst.step == "wait_reply" and inst.status == "active"
    # the first SMS waits for a working day: Tuesday 22 April 09:00 in Rome
    assert [r.action.due_at for r in rows] == [datetime(2025, 4, 22, 7, 0, tzinfo=UTC)]
    first.dispose()  # "crash": nothing lives in memory

    clock.advance_to(datetime(2025, 4, 24, 7, 0, tzinfo=UTC))  # the reply timeout (2 days) has passed
    second = _container(db_url, clock, tmp_path)
    try:
        timers = second.service("timers")
        assert timers.fire_due() == 1
        assert timers.fire_due() == 0  # fired once
        with read(second.engine) as conn:
            inst2 = store.get(conn, inst.id)
            rows = outbox.of_person(conn, inst.person_id)
            steps = [s["step"] for s in store.steps_of(conn, inst.id)]
        assert inst2 is not None and inst2.vars["attempts"] == 2 and inst2.step == "wait_reply"
        assert len(rows) == 2 and rows[1].action.action == "lead_first_contact"
        assert steps.count("contact_decided") == 2
    finally:
        second.dispose()


def test_goal_ends_the_journey_and_a_late_timer_is_ignored(db_url: str, tmp_path: Path) -> None:
    clock = VirtualClock(SAT_NIGHT)
    c = _container(db_url, clock, tmp_path)
    try:
        _accept(c, _messages(SAT_NIGHT))
        clock.advance_to(SAT_NIGHT + timedelta(hours=1))
        _accept(c, [{"type": "track", "messageId": "m4", "anonymousId": "lead-1", "event": "Product Subscribed",
                     "timestamp": clock.now().isoformat(), "properties": {"product": "pension_fund"},
                     "context": {"touchpoint": "branch"}}])
        clock.advance_to(SAT_NIGHT + timedelta(days=5))
        c.service("timers").fire_due()
        with read(c.engine) as conn:
            status = conn.execute(select(journey_instances.c.status, journey_instances.c.end_reason)
                                  .where(journey_instances.c.journey_id == "lead")).one()
            rows = outbox.of_person(conn, _person(conn))
        assert tuple(status) == ("completed", "goal")
        assert len(rows) == 1  # no follow-up after the goal
    finally:
        c.dispose()


def _person(conn: Any) -> str:
    found = conn.execute(select(journey_instances.c.person_id)).scalar()
    if found is None:
        pytest.fail("no journey instance")
    return str(found)


def test_update_traits_step_writes_the_profile(db_url: str, tmp_path: Path) -> None:
    import shutil

    from bestnext.profiles import services as profiles
    from bestnext.settings import DEMO_CONFIG_DIR

    config = tmp_path / "bank"
    shutil.copytree(DEMO_CONFIG_DIR, config)
    (config / "journeys" / "tag.yaml").write_text(
        "id: tag\nentry: [{event: Branch Visited}]\nsteps:\n"
        "  - {id: mark, do: update_traits, traits: {visited_branch: MI01}}\n")
    clock = VirtualClock(SAT_NIGHT)
    c = build(Settings(database_url=db_url, environment="test", log_file=tmp_path / "log.txt",
                       config_dir=config), clock)
    try:
        _accept(c, [{"type": "track", "messageId": "v1", "userId": "C7", "event": "Branch Visited",
                     "timestamp": SAT_NIGHT.isoformat(), "properties": {"branch": "MI01"},
                     "context": {"touchpoint": "branch"}}])
        with read(c.engine) as conn:
            person = _person(conn)
            traits = profiles.get_profile(conn, person).traits
        assert traits["visited_branch"]["value"] == "MI01"
    finally:
        c.dispose()


def test_a_new_journey_version_without_the_waiting_step_ends_the_instance(db_url: str, tmp_path: Path) -> None:
    import shutil

    from bestnext.settings import DEMO_CONFIG_DIR

    config = tmp_path / "bank"
    shutil.copytree(DEMO_CONFIG_DIR, config)
    journey = "id: hold\nversion: {v}\nentry: [{{event: Hold}}]\nsteps:\n  - {{id: {step}, do: wait, for: 1h}}\n"
    (config / "journeys" / "hold.yaml").write_text(journey.format(v=1, step="pause"))
    clock = VirtualClock(SAT_NIGHT)
    settings = Settings(database_url=db_url, environment="test", log_file=tmp_path / "log.txt", config_dir=config)
    c = build(settings, clock)
    _accept(c, [{"type": "track", "messageId": "h1", "userId": "C8", "event": "Hold",
                 "timestamp": SAT_NIGHT.isoformat(), "context": {"touchpoint": "web"}}])
    c.dispose()
    (config / "journeys" / "hold.yaml").write_text(journey.format(v=2, step="other"))
    from bestnext.journeys.config import load_journeys

    load_journeys.cache_clear()
    clock.advance_to(SAT_NIGHT + timedelta(hours=2))
    c = build(settings, clock)
    try:
        assert c.service("timers").fire_due() == 1
        with read(c.engine) as conn:
            row = conn.execute(select(journey_instances.c.status, journey_instances.c.end_reason,
                                      journey_instances.c.version)).one()
        assert tuple(row) == ("exited", "journey_changed", 1)
    finally:
        c.dispose()


def test_failed_operation_opens_a_case_and_books_the_service_call(db_url: str, tmp_path: Path) -> None:
    from bestnext.channels import cases

    clock = VirtualClock(datetime(2025, 6, 23, 19, 29, tzinfo=UTC))  # 21:29 in Rome
    c = _container(db_url, clock, tmp_path)
    try:
        _accept(c, [{"type": "identify", "messageId": "f0", "userId": "C5", "timestamp": clock.now().isoformat(),
                     "traits": {"first_name": "Gio", "email": "gio@example.org"}, "context": {"touchpoint": "app"}},
                    {"type": "track", "messageId": "f1", "userId": "C5", "event": "Transfer Failed",
                     "timestamp": clock.now().isoformat(), "properties": {"reason": "security_token_error"},
                     "context": {"touchpoint": "ebanking"}}])
        with read(c.engine) as conn:
            person = _person(conn)
            opened = cases.list_cases(conn, person_id=person)
            rows = outbox.of_person(conn, person)
        assert [(k.type, k.status) for k in opened] == [("token_shipment", "open")]
        assert [(r.action.channel, r.action.action, r.action.due_at) for r in rows] == [
            ("call_center", "recontact_failed_operation", datetime(2025, 6, 24, 7, 0, tzinfo=UTC))]
        clock.advance_to(datetime(2025, 6, 24, 7, 1, tzinfo=UTC))
        c.service("timers").fire_due()
        with read(c.engine) as conn:
            assert [k.status for k in cases.list_cases(conn, person_id=person)] == ["resolved"]
    finally:
        c.dispose()


def test_an_event_that_breaks_a_journey_is_skipped_not_blocking(db_url: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    clock = VirtualClock(SAT_NIGHT)
    c = _container(db_url, clock, tmp_path)
    engine = c.service("journeys")
    real = engine._on_event

    def flaky(conn: Any, event: Any) -> None:
        real(conn, event)
        if event.message_id == "m2":  # after writing: its partial effects must be rolled back
            raise RuntimeError("boom")

    monkeypatch.setattr(engine, "_on_event", flaky)
    try:
        _accept(c, _messages(SAT_NIGHT))
        with read(c.engine) as conn:
            journeys = conn.execute(select(journey_instances.c.journey_id)).scalars().all()
        assert journeys == ["lead"]  # m3 (the lead) still ran; m2 failed alone
        assert [m for m, _ in engine.failures] == ["m2"]
    finally:
        c.dispose()
