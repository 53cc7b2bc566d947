"""Decisions on real SQLite and PostgreSQL: logging, outcomes that teach and persist the
models, the contact-policy read model fed by the event log, "don't abandon"."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Connection, func, select

from bestnext.bootstrap import Container
from bestnext.clock import ROME
from bestnext.consent import services as consent
from bestnext.consent.model import Source
from bestnext.decisions import contact_policy, services, store
from bestnext.decisions.contacts import ContactsProcessor
from bestnext.decisions.learning.bank import ModelBank
from bestnext.decisions.model import DecisionContext
from bestnext.decisions.profile_view import build_view
from bestnext.decisions.tables import decision_outcomes, decisions
from bestnext.errors import InvalidInput, NotFound
from bestnext.eventlog import NewEvent
from bestnext.eventlog import store as log
from bestnext.settings import DEMO_CONFIG_DIR

AT = datetime(2025, 2, 27, 9, 30, tzinfo=ROME)
POLICY = contact_policy.load_config(DEMO_CONFIG_DIR)


def view(at: datetime = AT) -> Any:
    return build_view("p-martina", {"age": 21, "first_name": "Martina"}, lifecycle_stage="lead", holdings=[],
                      interests=["prepaid_card"], household=None, event_count=3, at=at)


def grant(conn: Connection, person_id: str = "p-martina") -> None:
    consent.record(conn, person_id, {"personal_data": True, "own_marketing": True, "profiling": True},
                   Source("web", "m-consent"), datetime(2025, 2, 21, 11, 35, tzinfo=ROME))


def decide(conn: Connection, **kw: Any) -> tuple[str, Any]:
    ctx = DecisionContext(at=kw.pop("at", AT), reason=kw.pop("reason", "browse"),
                          inbound_channel=kw.pop("inbound", None), language="en")
    return services.decide_logged(conn, "p-martina", ctx, kw.pop("channel", None), kw.pop("n", 5),
                                  view=view(ctx.at or AT), rng=np.random.default_rng(5), **kw)


def events(conn: Connection, person_id: str, *items: tuple[str, datetime, dict[str, Any]]) -> None:
    """Append events already attributed to ``person_id`` and run the decisions processor on them."""
    start = log.head(conn)
    new = [NewEvent("test", f"m-{start}-{i}", "track", props.pop("touchpoint", "web"), at, at, {"properties": props},
                    event=name) for i, (name, at, props) in enumerate(items)]
    log.append(conn, new)
    batch = log.read_after(conn, start, 100)
    log.assign_person(conn, [e.seq for e in batch], person_id)
    for e in batch:
        e.person_id = person_id
    ContactsProcessor(DEMO_CONFIG_DIR).handle(conn, batch)


def test_decision_is_logged_with_propensities(container: Container) -> None:
    with container.engine.begin() as conn:
        grant(conn)
        decision_id, decision = decide(conn)
    with container.engine.begin() as conn:
        row = store.get_decision(conn, decision_id)
    assert row is not None and row["person_id"] == "p-martina" and row["catalog_version"] == "2025.1"
    assert [a["action_id"] for a in row["actions"]] == [a.action_id for a in decision.ranked]
    assert all(0.0 <= a["probability"] <= 1.0 for a in row["actions"])
    assert row["context"]["profiling"] is True and "interest:prepaid_card" in row["context"]["features"]


def test_outcomes_teach_and_persist_the_model(container: Container) -> None:
    with container.engine.begin() as conn:
        grant(conn)
        decision_id, decision = decide(conn, channel="email")
    action = decision.ranked[0]
    with container.engine.begin() as conn:
        first = services.record_outcome(conn, decision_id, action.action_id, "accepted", AT + timedelta(hours=1))
        again = services.record_outcome(conn, decision_id, action.action_id, "accepted", AT + timedelta(hours=1))
        converted = services.record_outcome(conn, decision_id, action.action_id, "converted", AT + timedelta(days=2))
    assert first.recorded and first.learned
    assert not again.recorded and not again.learned
    assert converted.recorded and not converted.learned  # one lesson per decided action
    with container.engine.begin() as conn:
        bank = ModelBank()
        assert bank.load(conn) >= 1
        report = services.models_report(conn)
        n = conn.execute(select(func.count()).select_from(decision_outcomes)).scalar_one()
    assert report[f"{action.action_id}/email"]["responses"] == 1
    assert n == 2


def test_decline_starts_a_cool_off(container: Container) -> None:
    with container.engine.begin() as conn:
        grant(conn)
        decision_id, decision = decide(conn, channel="email")
        card = next(a for a in decision.ranked if a.purpose == "marketing")
        services.record_outcome(conn, decision_id, card.action_id, "declined", AT)
    later = AT + timedelta(days=3)
    with container.engine.begin() as conn:
        result = contact_policy.check(conn, "p-martina", "email", "marketing", later, action_id=card.action_id,
                                      config=POLICY)
        _, again = decide(conn, channel="email", at=later)
    assert not result.allowed and result.reasons == (f"decline_cool_off:{card.action_id}",)
    assert card.action_id not in [a.action_id for a in again.ranked]


def test_impression_during_an_inbound_contact_counts_against_the_budget(container: Container) -> None:
    with container.engine.begin() as conn:
        grant(conn)
        for day in range(3):
            at = AT + timedelta(days=day)
            decision_id, decision = decide(conn, channel="branch", inbound="branch", at=at)
            marketing = next(a for a in decision.ranked if a.purpose == "marketing")
            services.record_outcome(conn, decision_id, marketing.action_id, "impression", at)
        result = contact_policy.check(conn, "p-martina", "email", "marketing", AT + timedelta(days=3),
                                      config=POLICY)
    assert not result.allowed and result.reasons == ("marketing_budget",)


def test_bad_outcomes(container: Container) -> None:
    with container.engine.begin() as conn:
        grant(conn)
        decision_id, decision = decide(conn)
        with pytest.raises(NotFound):
            services.record_outcome(conn, "no-such-decision", "x", "accepted", AT)
        with pytest.raises(NotFound):
            services.record_outcome(conn, decision_id, "offer_unheard_of", "accepted", AT)
        with pytest.raises(InvalidInput):
            services.record_outcome(conn, decision_id, decision.ranked[0].action_id, "loved", AT)
        with pytest.raises(InvalidInput):
            decide(conn, n=0)


def test_open_case_from_events_suppresses_marketing_until_closed(container: Container) -> None:
    with container.engine.begin() as conn:
        grant(conn)
        events(conn, "p-martina", ("Service Case Opened", AT - timedelta(hours=1), {"case_id": "K1"}))
        blocked = contact_policy.check(conn, "p-martina", "email", "marketing", AT, config=POLICY)
        _, during = decide(conn)
        events(conn, "p-martina", ("Service Case Closed", AT + timedelta(hours=1), {"case_id": "K1"}))
        after = contact_policy.check(conn, "p-martina", "email", "marketing", AT + timedelta(hours=2),
                                     config=POLICY)
    assert blocked.reasons == ("open_service_case",) and blocked.next_allowed_at is None
    assert all(a.purpose == "service" for a in during.ranked)
    assert after.allowed


def test_sent_marketing_from_the_channels_counts_and_complaints_cool_off(container: Container) -> None:
    with container.engine.begin() as conn:
        events(conn, "p1", *[(name, AT + timedelta(days=i), {"purpose": "marketing", "action": "offer_prepaid_card"})
                             for i, name in enumerate(["Email Sent", "SMS Sent", "Push Sent"])])
        budget = contact_policy.check(conn, "p1", "email", "marketing", AT + timedelta(days=3), config=POLICY)
        events(conn, "p2", ("Call Completed", AT, {"outcome": "complaint", "purpose": "service"}))
        complaint = contact_policy.check(conn, "p2", "email", "marketing", AT + timedelta(days=1), config=POLICY)
    assert budget.reasons == ("marketing_budget",)
    assert complaint.reasons == ("complaint_cool_off",)


def test_at_risk_of_abandonment(container: Container) -> None:
    with container.engine.begin() as conn:
        events(conn, "giorgio", ("Social Message Posted", AT, {"touchpoint": "social", "text": "token?"}))
        events(conn, "martina", ("Form Submitted", AT, {}))
        at_risk = services.at_risk_of_abandonment(conn, AT + timedelta(hours=3))
        events(conn, "giorgio", ("Social Reply Sent", AT + timedelta(hours=4), {"purpose": "service"}))
        later = services.at_risk_of_abandonment(conn, AT + timedelta(hours=5))
        soon = services.at_risk_of_abandonment(conn, AT + timedelta(hours=5), within=timedelta(days=1))
    assert [(r["person_id"], r["kind"], r["overdue"]) for r in at_risk] == [("giorgio", "social_question", True)]
    assert later == []
    assert [(r["person_id"], r["overdue"]) for r in soon] == [("martina", False)]


def test_merge_moves_rows(container: Container) -> None:
    from bestnext.identity import hooks

    ContactsProcessor(DEMO_CONFIG_DIR)  # registers its merge listener
    with container.engine.begin() as conn:
        grant(conn)
        decide(conn)
        hooks.merged(conn, "p-survivor", "p-martina")
        n = conn.execute(select(func.count()).select_from(decisions)
                         .where(decisions.c.person_id == "p-survivor")).scalar_one()
    assert n == 1


def test_the_same_decision_replayed_makes_the_same_choice(container: Container) -> None:
    with container.engine.begin() as conn:
        grant(conn)
        ctx = DecisionContext(at=AT, reason="browse", language="en")
        runs = [services.decide_logged(conn, "p-martina", ctx, None, 5, view=view())[1] for _ in range(3)]
    assert len({tuple(a.action_id for a in d.ranked) for d in runs}) == 1
    assert len({tuple(a.probability for a in d.ranked) for d in runs}) == 1


def test_accepted_offers_count_against_their_budget(container: Container) -> None:
    with container.engine.begin() as conn:
        grant(conn)
        decision_id, decision = decide(conn, channel="email")
        card = next(a for a in decision.ranked if a.offer == "first_year_free")
        services.record_outcome(conn, decision_id, card.action_id, "impression", AT)
        services.record_outcome(conn, decision_id, card.action_id, "accepted", AT)
        services.record_outcome(conn, decision_id, card.action_id, "accepted", AT)  # once only
        second_id, _ = decide(conn, channel="email", at=AT + timedelta(days=1))
        services.record_outcome(conn, second_id, card.action_id, "accepted", AT + timedelta(days=1))
        assert store.offer_usage(conn) == {"first_year_free": 2}


def test_channel_events_report_outcomes_to_their_decision(container: Container) -> None:
    with container.engine.begin() as conn:
        grant(conn)
        decision_id, decision = decide(conn, channel="call_center")
        action = decision.ranked[0].action_id
        events(conn, "p-martina",
               ("SMS Sent", AT, {"decision_id": decision_id, "action": action, "purpose": "marketing"}),
               ("Call Completed", AT + timedelta(minutes=5),
                {"decision_id": decision_id, "action": action, "outcome": "accepted", "purpose": "marketing"}),
               ("Call Completed", AT, {"decision_id": "unknown", "action": action, "outcome": "accepted"}))
        outcomes = {(o["action_id"], o["outcome"], o["reward"]) for o in store.outcomes_of(conn, decision_id)}
        report = services.models_report(conn)
    assert outcomes == {(action, "impression", None), (action, "accepted", 1.0)}
    assert report[f"{action}/call_center"]["responses"] == 1
