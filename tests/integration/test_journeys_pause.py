"""Pausing a journey on SQLite and PostgreSQL: no entries, due steps held (not lost), resumed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bestnext.bootstrap import Container, build
from bestnext.clock import VirtualClock
from bestnext.db import read
from bestnext.errors import NotFound
from bestnext.ingest import services as ingest
from bestnext.journeys import services, store
from bestnext.settings import Settings

MON = datetime(2025, 5, 5, 8, 0, tzinfo=UTC)  # 10:00 in Rome, a working day


def _lead(anon: str, at: datetime) -> list[dict[str, Any]]:
    base = {"anonymousId": anon, "timestamp": at.isoformat(), "context": {"touchpoint": "partner"}}
    return [
        {**base, "type": "identify", "messageId": f"{anon}-1",
         "traits": {"first_name": "Ada", "age": 40, "phone": "+39333000" + anon[-4:]}},
        {**base, "type": "track", "messageId": f"{anon}-2", "event": "Consent Preferences Updated",
         "properties": {"purposes": {"personal_data": True, "own_marketing": True, "profiling": True}}},
        {**base, "type": "track", "messageId": f"{anon}-3", "event": "Lead Received",
         "properties": {"product": "pension_fund", "preferred_channel": "sms"}},
    ]


def _reply(anon: str, at: datetime) -> list[dict[str, Any]]:
    return [{"anonymousId": anon, "timestamp": at.isoformat(), "type": "track", "messageId": f"{anon}-r",
             "event": "SMS Replied", "properties": {"intent": "positive"}, "context": {"touchpoint": "sms"}}]


@pytest.fixture
def c(db_url: str, tmp_path: Path) -> Any:
    built = build(Settings(database_url=db_url, environment="test", log_file=tmp_path / "log.txt"),
                  VirtualClock(MON))
    yield built
    built.dispose()


def _accept(c: Container, messages: list[dict[str, Any]]) -> None:
    with c.engine.begin() as conn:
        source = ingest.ensure_source(conn, "test", "web", c.clock.now())
        assert not ingest.accept(conn, source, messages, c.clock.now()).errors
    c.pipeline.run_until_idle()


def _set(c: Container, journey: str, paused: bool) -> dict[str, Any]:
    with c.engine.begin() as conn:
        change = services.pause if paused else services.resume
        return change(conn, c.settings.config_dir, journey, "tester", c.clock.now())


def _leads(c: Container) -> list[store.Instance]:
    with read(c.engine) as conn:
        ids = conn.exec_driver_sql("SELECT DISTINCT person_id FROM journey_instances").scalars().all()
        return [i for p in ids for i in store.of_person(conn, str(p), status=None) if i.journey_id == "lead"]


def test_a_paused_journey_takes_nobody_in_and_takes_people_in_again_after_resume(c: Container) -> None:
    _set(c, "lead", True)
    with read(c.engine) as conn:
        assert services.pause_states(conn)["lead"]["paused"] is True
    _accept(c, _lead("anon-0001", MON))
    assert _leads(c) == []
    assert _set(c, "lead", False)["paused"] is False
    _accept(c, _lead("anon-0002", MON))
    assert [i.status for i in _leads(c)] == ["active"]


def test_a_timer_due_while_paused_is_held_and_runs_on_resume(c: Container) -> None:
    _accept(c, _lead("anon-0003", MON))
    (inst,) = _leads(c)
    assert inst.step == "wait_reply" and inst.vars["attempts"] == 1
    _set(c, "lead", True)
    c.clock.advance_to(MON + timedelta(days=3))  # the 2-day reply timeout falls due while paused
    timers = c.service("timers")
    assert timers.fire_due() == 1
    (held,) = _leads(c)
    assert held.step == "wait_reply" and held.vars["attempts"] == 1 and held.vars["held"] == {"timer": True}
    assert _set(c, "lead", False)["released"] == 1
    assert timers.fire_due() == 1
    (moved,) = _leads(c)
    assert moved.vars["attempts"] == 2 and "held" not in moved.vars
    with read(c.engine) as conn:
        kinds = [s["kind"] for s in store.steps_of(conn, inst.id)]
    assert kinds.count("held") == 1 and "timer" in kinds


def test_an_awaited_event_while_paused_is_held_and_taken_on_resume(c: Container) -> None:
    _accept(c, _lead("anon-0004", MON))
    _set(c, "lead", True)
    c.clock.advance_to(MON + timedelta(hours=2))
    _accept(c, _reply("anon-0004", MON + timedelta(hours=2)))
    (held,) = _leads(c)
    assert held.step == "wait_reply" and "event_seq" in held.vars["held"]
    c.clock.advance_to(MON + timedelta(days=3))  # the timeout that also falls due is not taken
    timers = c.service("timers")
    timers.fire_due()
    assert _leads(c)[0].vars["held"] == held.vars["held"]
    assert _set(c, "lead", False)["released"] == 1
    timers.fire_due()
    (moved,) = _leads(c)
    assert moved.step != "wait_reply" and "held" not in moved.vars
    assert "anon-0004-r" in moved.vars["based_on"]


def test_pausing_an_unknown_journey_is_not_found(c: Container) -> None:
    with pytest.raises(NotFound):
        _set(c, "nope", True)
