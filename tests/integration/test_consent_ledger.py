"""The consent ledger on real SQLite and PostgreSQL: processor, services, hooks, merges, API."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine

from bestnext.access import Role
from bestnext.access import store as keys
from bestnext.api.app import create_app
from bestnext.bootstrap import Container
from bestnext.consent import hooks, listeners, services
from bestnext.consent.model import DataCategory, Purpose, Source, Use
from bestnext.consent.processor import ConsentProcessor
from bestnext.eventlog import NewEvent, Pipeline
from bestnext.eventlog import store as log

SCENARIOS = Path("/work/shared/scenarios")
T0 = datetime(2025, 2, 21, 10, 35, tzinfo=UTC)
EXAMPLES = 2_000 if os.environ.get("HYPOTHESIS_PROFILE") == "nightly" else 25


def consent_event(message_id: str, purposes: dict[str, bool], at: datetime = T0,
                  context_prefs: dict[str, bool] | None = None) -> NewEvent:
    payload = {"type": "track", "messageId": message_id, "event": "Consent Preferences Updated",
               "timestamp": at.isoformat(), "anonymousId": "web-5c1e",
               "properties": {"purposes": purposes, "collected_by": "web", "legal_text_version": "2025-01"},
               "context": {"touchpoint": "web", "consent": {"categoryPreferences": context_prefs or purposes}}}
    return NewEvent(source_id="web", message_id=message_id, type="track", touchpoint="web", occurred_at=at,
                    received_at=at, payload=payload, event="Consent Preferences Updated", anonymous_id="web-5c1e")


def feed(container: Container, person_id: str, *new: NewEvent) -> list[int]:
    with container.engine.begin() as conn:
        log.append(conn, list(new))
        seqs = [e.seq for e in log.read_after(conn, 0, 10_000) if e.person_id is None]
        log.assign_person(conn, seqs, person_id)  # what identity resolution does
    Pipeline(container.engine, [ConsentProcessor(container.clock)]).run_until_idle()
    return seqs


def test_the_processor_records_martinas_web_form(container: Container) -> None:
    line = json.loads((SCENARIOS / "martina.jsonl").read_text().splitlines()[1])
    at = datetime.fromisoformat(line["timestamp"])
    event = NewEvent(source_id="web", message_id=line["messageId"], type="track", touchpoint="web",
                     occurred_at=at, received_at=at, payload=line, event=line["event"],
                     anonymous_id=line["anonymousId"])
    feed(container, "martina", event)
    with container.engine.connect() as conn:
        shown = services.show(conn, "martina")
        assert services.may(conn, "martina", Use.MARKETING, [DataCategory.BEHAVIOURAL], "call_center", at).allowed
        assert not services.may(conn, "martina", Use.EXPORT, [], None, at).allowed
        assert not services.may(conn, "martina", Use.MARKETING, [], "email", at - timedelta(minutes=1)).allowed
    assert shown["current"] == line["properties"]["purposes"]
    assert len(shown["history"]) == 7
    assert {h["message_id"] for h in shown["history"]} == {"martina-02"}
    assert {h["touchpoint"] for h in shown["history"]} == {"web"}


def test_properties_override_context_and_unknown_values_are_ignored(container: Container) -> None:
    feed(container, "p1", consent_event("c-1", {"own_marketing": False, "profiling": "maybe"},
                                        context_prefs={"own_marketing": True, "profiling": True, "nonsense": True}))
    with container.engine.connect() as conn:
        current = services.state(conn, "p1")
    assert not current.granted(Purpose.OWN_MARKETING)
    assert current.granted(Purpose.PROFILING)  # only the context's boolean was valid
    assert current.latest(Purpose.PROFILING).legal_version == "2025-01"  # type: ignore[union-attr]


def test_the_ledger_is_append_only_and_a_withdrawal_takes_effect_at_once(container: Container) -> None:
    seen: list[tuple[str, frozenset[Purpose]]] = []

    def listener(_conn: Connection, person_id: str, purposes: frozenset[Purpose], _at: datetime) -> None:
        seen.append((person_id, purposes))

    hooks.on_withdrawn(listener)
    try:
        with container.engine.begin() as conn:
            services.record(conn, "p2", {"personal_data": True, "own_marketing": True}, Source("branch", None, "Verdi"), T0)
        with container.engine.connect() as conn:
            assert services.may(conn, "p2", "marketing", [], "sms", None).allowed
        with container.engine.begin() as conn:
            services.record(conn, "p2", {Purpose.OWN_MARKETING: False}, Source("sms", "stop-1"), T0 + timedelta(days=1))
        with container.engine.connect() as conn:
            decision = services.may(conn, "p2", "marketing", [], "sms", None)
            history = services.show(conn, "p2")["history"]
    finally:
        hooks._withdrawn.remove(listener)
    assert not decision.allowed
    assert [r.source_message for r in decision.reasons if r.code == "consent.refused"] == ["stop-1"]
    assert seen == [("p2", frozenset({Purpose.OWN_MARKETING}))]
    assert [(h["purpose"], h["granted"]) for h in history] == [
        ("personal_data", True), ("own_marketing", True), ("own_marketing", False)]
    assert history[0]["operator"] == "Verdi"


def test_history_follows_merges_and_unmerges(container: Container) -> None:
    seqs_a = feed(container, "a", consent_event("c-a", {"own_marketing": True}))
    feed(container, "b", consent_event("c-b", {"profiling": True}, T0 + timedelta(hours=1)))
    with container.engine.begin() as conn:
        listeners.on_merge(conn, "b", "a")
        merged = services.state(conn, "b")
        assert services.state(conn, "a").history == ()
        listeners.on_split(conn, "b", "a2", seqs_a)
        left, split = services.state(conn, "b"), services.state(conn, "a2")
    assert merged.granted(Purpose.OWN_MARKETING) and merged.granted(Purpose.PROFILING)
    assert left.granted(Purpose.PROFILING) and not left.granted(Purpose.OWN_MARKETING)
    assert split.granted(Purpose.OWN_MARKETING) and not split.granted(Purpose.PROFILING)


raw_st = st.lists(st.tuples(st.sampled_from(tuple(Purpose)), st.booleans(), st.integers(0, 100)), max_size=12)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=raw_st, use=st.sampled_from(tuple(Use)), cats=st.sets(st.sampled_from(tuple(DataCategory))),
       minute=st.integers(0, 110))
def test_the_service_decides_as_the_policy_on_the_recorded_history(
        engine: Engine, raw: list[tuple[Purpose, bool, int]], use: Use, cats: set[DataCategory], minute: int) -> None:
    person = str(uuid.uuid4())
    with engine.begin() as conn:
        for purpose, granted, m in raw:
            services.record(conn, person, {purpose: granted}, Source("app"), T0 + timedelta(minutes=m))
    at = T0 + timedelta(minutes=minute)
    with engine.connect() as conn:
        decision = services.may(conn, person, use, cats, "app", at)
    last: dict[Purpose, bool] = {}
    for purpose, granted, _m in sorted(((p, g, m) for p, g, m in raw if m <= minute), key=lambda x: x[2]):
        last[purpose] = granted  # stable sort: same minute keeps recording order
    if decision.allowed and use is Use.MARKETING:
        assert last.get(Purpose.OWN_MARKETING)
    if decision.allowed and DataCategory.BEHAVIOURAL in cats:
        assert last.get(Purpose.PROFILING)
    if decision.allowed and DataCategory.SENSITIVE in cats:
        assert last.get(Purpose.SENSITIVE_DATA)
    if decision.allowed and use is Use.EXPORT:
        assert last.get(Purpose.TRANSFER_TO_THIRD_PARTIES)
    needs = {Use.MARKETING: [Purpose.OWN_MARKETING], Use.THIRD_PARTY_MARKETING: [Purpose.THIRD_PARTY_MARKETING],
             Use.EXPORT: [Purpose.TRANSFER_TO_THIRD_PARTIES], Use.SURVEY: [Purpose.SATISFACTION_SURVEY],
             Use.PROFILING: [Purpose.PROFILING], Use.MODEL_TRAINING: [Purpose.PROFILING],
             Use.ENGAGEMENT_TRACKING: [Purpose.PROFILING], Use.SERVICE: []}[use]
    needs += [Purpose.PERSONAL_DATA] if use is not Use.SERVICE else []
    needs += [Purpose.PROFILING] if DataCategory.BEHAVIOURAL in cats else []
    needs += [Purpose.SENSITIVE_DATA] if DataCategory.SENSITIVE in cats else []
    assert decision.allowed is all(last.get(p, False) for p in needs)


# ---- the API ------------------------------------------------------------------------------------

@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    container.settings.run_workers = False
    with TestClient(create_app(container)) as c:
        yield c


def key(container: Container, role: Role) -> dict[str, str]:
    with container.engine.begin() as conn:
        _id, secret = keys.create_key(conn, f"test {role.value}", role, container.clock.now())
    return {"Authorization": f"Bearer {secret}"}


def test_api_records_and_shows_consents_and_audits_the_read(container: Container, client: TestClient) -> None:
    branch = key(container, Role.BRANCH)
    body = {"type": "person", "value": "p9", "purposes": {"personal_data": True, "own_marketing": True},
            "touchpoint": "branch", "legal_version": "v3"}
    created = client.post("/v1/consents", json=body, headers=branch)
    assert created.status_code == 201, created.text
    assert created.json()["current"]["own_marketing"] is True
    shown = client.get("/v1/consents/person/p9", headers={**branch, "X-Purpose": "customer at the desk"})
    assert shown.json()["history"][0]["operator"] == "test branch"
    may = client.get("/v1/consents/person/p9/may", params={"use": "marketing", "channel": "sms"}, headers=branch)
    assert may.json()["allowed"] is True
    bad = client.post("/v1/consents", json={**body, "purposes": {"marketing": True}}, headers=branch)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert client.post("/v1/consents", json=body, headers=key(container, Role.MARKETER)).status_code == 403
    audit = client.get("/v1/audit", params={"person": "person:p9"}, headers=key(container, Role.COMPLIANCE)).json()
    actions = [(e["action"], e["purpose"]) for e in audit["entries"]]
    assert ("consent.read", "customer at the desk") in actions and ("consent.write", "source=branch") in actions
    assert client.get("/v1/audit", headers=branch).status_code == 403


def test_history_follows_a_real_identity_merge_and_unmerge(container: Container) -> None:
    ingest = pytest.importorskip("bestnext.ingest.services")
    identity = pytest.importorskip("bestnext.identity.services")

    def consent_msg(mid: str, ids: dict[str, str], purposes: dict[str, bool], minute: int) -> dict[str, object]:
        return {"type": "track", "messageId": mid, "event": "Consent Preferences Updated", **ids,
                "timestamp": (T0 + timedelta(minutes=minute)).isoformat(), "properties": {"purposes": purposes},
                "context": {"touchpoint": "web"}}

    messages = [
        consent_msg("m1", {"anonymousId": "dev-A"}, {"own_marketing": True}, 1),
        {"type": "identify", "messageId": "m2", "userId": "C777", "traits": {"email": "x777@example.org"},
         "timestamp": (T0 + timedelta(minutes=2)).isoformat(), "context": {"touchpoint": "branch"}},
        consent_msg("m3", {"userId": "C777"}, {"profiling": True}, 3),
        {"type": "identify", "messageId": "m4", "userId": "C777", "anonymousId": "dev-A",
         "timestamp": (T0 + timedelta(minutes=4)).isoformat(), "context": {"touchpoint": "web"}},
    ]
    now = container.clock.now()
    with container.engine.begin() as conn:
        source = ingest.ensure_source(conn, "merge-test", "web", now)
        assert not ingest.accept(conn, source, messages, now).errors
    container.pipeline.run_until_idle()
    with container.engine.begin() as conn:
        person = identity.find_person(conn, "user_id", "C777")
        assert identity.find_person(conn, "anonymous_id", "dev-A") == person
        merged = services.state(conn, person)
        merges = identity.merges_of(conn, person)
        assert merges, "the two people were merged"
        identity.unmerge(conn, merges[0].id, now)
        left = services.state(conn, person)
        other = identity.find_person(conn, "anonymous_id", "dev-A")
        split = services.state(conn, other)
    assert merged.granted(Purpose.OWN_MARKETING) and merged.granted(Purpose.PROFILING)
    assert other != person
    assert left.granted(Purpose.PROFILING) and not left.granted(Purpose.OWN_MARKETING)
    assert split.granted(Purpose.OWN_MARKETING) and [e.source.message_id for e in split.history] == ["m1"]
