"""The learning loop on real SQLite and PostgreSQL: journeys pass the decision id to the channels,
the channels' timeline events carry it, the decisions processor records impressions, an
impression without a response becomes ``ignored`` (a timer on the clock) and teaches the model,
and nobody is learned from without ``model_training`` consent (profiling)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Connection, create_engine, select

from bestnext.bootstrap import Container
from bestnext.clock import ROME
from bestnext.consent import services as consent
from bestnext.consent.model import Source
from bestnext.decisions import ignored, services
from bestnext.decisions.learning.tables import decision_models
from bestnext.decisions.model import DecisionContext
from bestnext.decisions.profile_view import build_view
from bestnext.decisions.tables import decision_outcomes, decisions
from bestnext.eventlog.tables import events
from bestnext.replay.service import replay_text
from bestnext.timers.tables import timers

AT = datetime(2025, 2, 27, 9, 30, tzinfo=ROME)
SEED = Path(__file__).resolve().parents[3] / "shared" / "scenarios" / "antonio.jsonl"
SENT = {"Email Sent", "SMS Sent", "Branch Briefing Created", "Call Task Created", "Push Sent"}


def grant(conn: Connection, profiling: bool = True) -> None:
    consent.record(conn, "p-martina", {"personal_data": True, "own_marketing": True, "profiling": profiling},
                   Source("web", "m-consent"), datetime(2025, 2, 21, 11, 35, tzinfo=ROME))


def decide(conn: Connection) -> tuple[str, Any]:
    view = build_view("p-martina", {"age": 21, "first_name": "Martina"}, lifecycle_stage="lead", holdings=[],
                      interests=["prepaid_card"], household=None, event_count=3, at=AT)
    ctx = DecisionContext(at=AT, reason="browse", language="en")
    return services.decide_logged(conn, "p-martina", ctx, "email", 5, view=view, rng=np.random.default_rng(5))


def outcomes(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(decision_outcomes))]


@pytest.mark.skipif(not SEED.exists(), reason="../shared/scenarios not present")
def test_a_replayed_history_records_outcomes_and_teaches_the_models(db_url: str) -> None:
    replay_text(SEED.read_text(encoding="utf-8"), database_url=db_url)
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            decided = {r.id for r in conn.execute(select(decisions.c.id))}
            rows = outcomes(conn)
            models = conn.execute(select(decision_models.c.action_id, decision_models.c.channel)).all()
            sends = [dict(r.payload.get("properties") or {}) for r in conn.execute(
                select(events.c.event, events.c.payload).where(events.c.event.in_(SENT)))]
    finally:
        engine.dispose()
    carried = [p for p in sends if p.get("decision_id")]
    assert carried, sends  # the channels copied the journey's decision id into the timeline
    assert {p["decision_id"] for p in carried} <= decided
    shown = {(r["decision_id"], r["action_id"]) for r in rows if r["outcome"] == "impression"}
    assert shown and {d for d, _ in shown} <= decided
    lapsed = [r for r in rows if r["outcome"] == "ignored"]
    assert lapsed and {(r["decision_id"], r["action_id"]) for r in lapsed} <= shown
    assert all(r["reward"] == 0.0 for r in lapsed)  # antonio granted profiling: each one a lesson
    assert {(r["action_id"], r["channel"]) for r in lapsed} <= {(m.action_id, m.channel) for m in models}


def test_an_impression_without_response_becomes_ignored_on_the_clock(container: Container) -> None:
    with container.engine.begin() as conn:
        grant(conn)
        decision_id, decision = decide(conn)
        first, second = decision.ranked[0].action_id, decision.ranked[1].action_id
        for action in (first, second):
            services.record_outcome(conn, decision_id, action, "impression", AT)
        services.record_outcome(conn, decision_id, second, "declined", AT + timedelta(days=1))
        due = conn.execute(select(timers.c.key, timers.c.due_at).where(timers.c.kind == ignored.TIMER_KIND)).all()
    assert {k for k, _ in due} == {ignored.timer_key(decision_id, a) for a in (first, second)}
    assert all(d == AT + ignored.RESPONSE_WINDOW for _, d in due)
    assert container.service("timers").fire_due() == 2  # the system clock is long past 2025
    with container.engine.begin() as conn:
        rows = outcomes(conn)
        trained = conn.execute(select(decision_models.c.action_id)).scalars().all()
    lapsed = [r for r in rows if r["outcome"] == "ignored"]
    assert [(r["action_id"], r["reward"]) for r in lapsed] == [(first, 0.0)]  # the declined one was answered
    assert lapsed[0]["at"] == AT + ignored.RESPONSE_WINDOW
    assert set(trained) == {first, second}
    with container.engine.begin() as conn:
        assert not ignored.fire(conn, decision_id, first, AT + timedelta(days=30))  # once only


def test_no_learning_from_a_person_without_profiling(container: Container) -> None:
    with container.engine.begin() as conn:
        grant(conn, profiling=False)
        decision_id, decision = decide(conn)
        action = decision.ranked[0].action_id
        done = services.record_outcome(conn, decision_id, action, "accepted", AT + timedelta(hours=1))
        assert not services.may_learn_from(conn, "p-martina", "email", AT)
    assert done.recorded and not done.learned
    with container.engine.begin() as conn:
        assert conn.execute(select(decision_models)).first() is None
        assert [r["reward"] for r in outcomes(conn)] == [None]


def test_a_process_sees_the_lessons_another_process_saved(container: Container) -> None:
    with container.engine.connect() as conn:
        here = services.runtime(conn)
    elsewhere = services.Runtime(here.catalog, here.policy)  # another process: its own bank
    with container.engine.begin() as conn:
        before = here.models(conn)
        elsewhere.learn(conn, "offer_x", "email", {"x": 1.0, "ctx:channel=email": 1.0}, 1.0, True)
    with container.engine.begin() as conn:
        after = here.models(conn)
        assert after is not before and ("offer_x", "email") in here.bank.models
        assert here.models(conn) is after  # unchanged since: no reload
        here.learn(conn, "offer_x", "email", {"x": 1.0, "ctx:channel=email": 1.0}, 0.0, True)
        assert here.models(conn) is after  # its own lesson is already in memory
    with container.engine.begin() as conn:
        elsewhere.learn(conn, "offer_y", "sms", {"ctx:channel=sms": 1.0}, 0.0, True)
    with container.engine.begin() as conn:
        assert here.models(conn) is not after
        assert ("offer_y", "sms") in here.bank.models and ("offer_x", "email") in here.bank.models


def test_a_call_outcome_reaches_the_decision_that_proposed_the_call(container: Container) -> None:
    from bestnext.channels import assisted, calls
    from bestnext.channels.config import operators_config
    from bestnext.channels.model import OutboundAction

    ops = operators_config(container.settings.config_dir)
    with container.engine.begin() as conn:
        grant(conn)
        decision_id, decision = decide(conn)
        action = decision.ranked[0].action_id
        call = OutboundAction(person_id="p-martina", channel="call_center", purpose="marketing", action=action,
                              due_at=AT, text="Ciao Martina", data={"decision_id": decision_id})
        task_id = assisted.call_task_for(conn, call, AT, ops)
        calls.claim(conn, task_id, "luigi", AT)
        assisted.record_outcome(conn, task_id, "accepted", "luigi", AT + timedelta(minutes=3), ops)
        [props] = [r.payload["properties"] for r in conn.execute(
            select(events.c.payload).where(events.c.event == "Call Completed"))]
    assert props["decision_id"] == decision_id and props["action"] == action
    container.pipeline.run_until_idle()  # the decisions processor reads the call's outcome
    with container.engine.begin() as conn:
        rows = outcomes(conn)
        trained = conn.execute(select(decision_models.c.action_id)).scalars().all()
    assert [(r["decision_id"], r["action_id"], r["outcome"], r["reward"]) for r in rows] == \
        [(decision_id, action, "accepted", 1.0)]
    assert trained == [action]
