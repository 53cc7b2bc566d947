"""The 360's NBA buttons move the person's journeys on (SQLite and PostgreSQL): accept books the
follow-up and reaches product interest's goal, decline exits (with the action's cool-off), not now
proposes the action again after a week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bestnext.access.model import Role
from bestnext.bootstrap import Container, build
from bestnext.channels import outbox
from bestnext.clock import VirtualClock
from bestnext.console import nba
from bestnext.db import read
from bestnext.decisions import contact_policy
from bestnext.ingest import services as ingest
from bestnext.journeys import store
from bestnext.settings import Settings

MON = datetime(2025, 5, 5, 8, 0, tzinfo=UTC)  # 10:00 in Rome, a working day


@pytest.fixture
def c(db_url: str, tmp_path: Path) -> Any:
    built = build(Settings(database_url=db_url, environment="test", log_file=tmp_path / "log.txt"),
                  VirtualClock(MON))
    yield built
    built.dispose()


def _person(c: Container) -> str:
    base = {"userId": "C900001", "timestamp": MON.isoformat(), "context": {"touchpoint": "web"}}
    messages = [
        {**base, "type": "identify", "messageId": "p1",
         "traits": {"first_name": "Ada", "age": 38, "email": "ada@example.org", "phone": "+393330000077",
                    "lifecycle_stage": "customer", "residency": "IT", "monthly_income": 3200}},
        {**base, "type": "track", "messageId": "p2", "event": "Consent Preferences Updated",
         "properties": {"purposes": {"personal_data": True, "own_marketing": True, "profiling": True,
                                     "model_training": True}}},
        {**base, "type": "page", "messageId": "p3", "name": "Mutui", "properties": {"path": "/mutui/calcolatore"}},
    ]
    with c.engine.begin() as conn:
        source = ingest.ensure_source(conn, "test", "web", c.clock.now())
        assert not ingest.accept(conn, source, messages, c.clock.now()).errors
    c.pipeline.run_until_idle()
    with read(c.engine) as conn:
        (inst,) = [i for i in _all(conn) if i.journey_id == "product_interest"]
    return inst.person_id


def _all(conn: Any) -> list[store.Instance]:
    ids = conn.exec_driver_sql("SELECT DISTINCT person_id FROM journey_instances").scalars().all()
    return [i for p in ids for i in store.of_person(conn, str(p), status=None)]


def _answer(c: Container, person: str, role: Role, response: str) -> str:
    """Open the NBA panel as ``role`` and answer the first marketing action; its action id."""
    with c.engine.begin() as conn:
        panel = nba.next_actions(conn, person, role, "op1", c.clock.now(), c.settings.config_dir)
        action = next(a for a in panel.decision.ranked if a.purpose == "marketing")
        nba.respond(conn, person, panel.decision_id, action.action_id, response, "op1", role, c.clock.now(),
                    c.settings.config_dir)
    c.pipeline.run_until_idle()
    return action.action_id


def _journeys(c: Container, person: str) -> dict[str, tuple[str, str | None]]:
    with read(c.engine) as conn:
        return {i.journey_id: (i.status, i.step) for i in store.of_person(conn, person, status=None)}


def test_accepting_on_the_phone_reaches_the_goal_and_briefs_the_branch(c: Container) -> None:
    person = _person(c)
    assert _journeys(c, person)["product_interest"] == ("active", "quiet")  # within its quiet period
    action = _answer(c, person, Role.AGENT, "accept")
    states = _journeys(c, person)
    assert states["product_interest"][0] == "completed" and states["next_action_answer"][0] == "completed"
    with read(c.engine) as conn:
        rows = [r.action for r in outbox.of_person(conn, person) if r.action.journey == "next_action_answer"]
        ends = [i for i in store.of_person(conn, person, status=None) if i.journey_id == "product_interest"]
        (reason,) = [s for s in store.steps_of(conn, ends[0].id) if s["kind"] == "end"]
    assert '"goal"' in str(reason["outcome"])
    assert [(r.channel, r.purpose, r.action) for r in rows] == [("branch", "service", action)]
    assert rows[0].data.get("decision_id")


def test_accepting_in_the_console_books_a_call(c: Container) -> None:
    person = _person(c)
    action = _answer(c, person, Role.MARKETER, "accept")
    with read(c.engine) as conn:
        rows = [r.action for r in outbox.of_person(conn, person) if r.action.journey == "next_action_answer"]
    assert [(r.channel, r.purpose, r.action) for r in rows] == [("call_center", "service", action)]


def test_declining_exits_and_cools_the_action_off(c: Container) -> None:
    person = _person(c)
    action = _answer(c, person, Role.AGENT, "decline")
    states = _journeys(c, person)
    assert states["product_interest"][0] == "exited" and "next_action_answer" not in states
    with read(c.engine) as conn:
        policy = contact_policy.check(conn, person, "email", "marketing", c.clock.now() + timedelta(days=2),
                                      action_id=action)
    assert not policy.allowed and any("decline_cool_off" in r for r in policy.reasons)


def test_not_now_proposes_again_after_a_week_unless_declined(c: Container) -> None:
    person = _person(c)
    c.clock.advance_to(MON + timedelta(minutes=10))
    c.service("timers").fire_due()  # product interest runs its course
    action = _answer(c, person, Role.MARKETER, "not_now")
    assert _journeys(c, person)["next_action_answer"] == ("active", "later")
    c.clock.advance_to(MON + timedelta(days=8))
    c.service("timers").fire_due()
    with read(c.engine) as conn:
        rows = [r.action for r in outbox.of_person(conn, person) if r.action.journey == "next_action_answer"]
    assert _journeys(c, person)["next_action_answer"][0] == "completed"
    assert [(r.channel, r.purpose, r.action) for r in rows] == [("call_center", "marketing", action)]
