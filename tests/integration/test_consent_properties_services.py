"""Properties of the services that use the consent policy, on real databases: for random
consent states of a real person (Martina's history), decisions propose no marketing without
``own_marketing``, use no behavioural signal without ``profiling``, and the dispatch-time gate
refuses marketing contacts without ``own_marketing``."""

from __future__ import annotations

import itertools
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bestnext.bootstrap import Container
from bestnext.consent import policy, services
from bestnext.consent.model import Purpose, Source

EXAMPLES = 1_000 if os.environ.get("HYPOTHESIS_PROFILE") == "nightly" else 20
SCENARIOS = Path("/work/shared/scenarios")
_tick = itertools.count(1)


@pytest.fixture
def martina(container: Container) -> str:
    ingest = pytest.importorskip("bestnext.ingest.services")
    identity = pytest.importorskip("bestnext.identity.services")
    messages = [json.loads(line) for line in (SCENARIOS / "martina.jsonl").read_text().splitlines()]
    now = container.clock.now()
    with container.engine.begin() as conn:
        source = ingest.ensure_source(conn, "scenarios", "web", now)
        assert not ingest.accept(conn, source, messages, now).errors
    container.pipeline.run_until_idle()
    with container.engine.connect() as conn:
        person: str = identity.find_person(conn, "email", "martina.bianchi@example.org")
    return person


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(granted=st.fixed_dictionaries({p: st.booleans() for p in Purpose}))
def test_decisions_and_dispatch_never_exceed_the_consents(container: Container, martina: str,
                                                          granted: dict[Purpose, bool]) -> None:
    decisions = pytest.importorskip("bestnext.decisions.services")
    model = pytest.importorskip("bestnext.decisions.model")
    ports = pytest.importorskip("bestnext.channels.ports")
    at = container.clock.now() + timedelta(minutes=next(_tick))
    with container.engine.begin() as conn:
        services.record(conn, martina, granted, Source("console", None, "property test"), at)
        state = services.state(conn, martina)
        ranked = decisions.decide(conn, martina, model.DecisionContext(at=at, reason="own_request",
                                                                      inbound_channel="social"),
                                  None, 10, config_dir=container.settings.config_dir)
        refusal = ports.consent_refusal(conn, martina, "marketing", "email", at)
    marketing_ok = granted[Purpose.OWN_MARKETING] and granted[Purpose.PERSONAL_DATA]
    for action in ranked:
        if action.purpose == "marketing":
            assert marketing_ok, f"{action.action_id} proposed without own_marketing"
        used = list(action.explanation.signals_used)
        assert policy.allowed_signals(state, used, at) == used, f"behavioural signals without profiling: {used}"
    assert bool(refusal) is not marketing_ok


def test_the_property_is_not_vacuous(container: Container, martina: str) -> None:
    """With every consent Martina gets offers that use her behaviour; without profiling, none does."""
    decisions = pytest.importorskip("bestnext.decisions.services")
    model = pytest.importorskip("bestnext.decisions.model")
    at = container.clock.now() + timedelta(minutes=1)
    ctx = model.DecisionContext(at=at, reason="own_request", inbound_channel="social")
    with container.engine.begin() as conn:
        services.record(conn, martina, {p: True for p in Purpose}, Source("console"), at)
        everything = decisions.decide(conn, martina, ctx, None, 10, config_dir=container.settings.config_dir)
        services.record(conn, martina, {Purpose.PROFILING: False}, Source("console"), at + timedelta(seconds=1))
        later = model.DecisionContext(at=at + timedelta(seconds=1), reason="own_request", inbound_channel="social")
        declared = decisions.decide(conn, martina, later, None, 10, config_dir=container.settings.config_dir)
    assert any(a.purpose == "marketing" for a in everything)
    behavioural = {s for a in everything for s in a.explanation.signals_used
                   if policy.signal_category(s).value == "behavioural"}
    assert behavioural, [a.explanation.signals_used for a in everything]
    assert not {s for a in declared for s in a.explanation.signals_used
                if policy.signal_category(s).value == "behavioural"}


@pytest.fixture
def martina_with_health(container: Container, martina: str) -> str:
    from bestnext.ingest import services as ingest

    now = container.clock.now()
    extra = {"type": "identify", "messageId": "martina-health", "anonymousId": "web-5c1e",
             "timestamp": "2025-02-27T10:00:00+01:00", "context": {"touchpoint": "branch"},
             "traits": {"email": "martina.bianchi@example.org", "health_condition": "asthma", "religion": "x"}}
    with container.engine.begin() as conn:
        source = ingest.ensure_source(conn, "branch", "branch", now)
        assert not ingest.accept(conn, source, [extra], now).errors
    container.pipeline.run_until_idle()
    return martina


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(granted=st.fixed_dictionaries({p: st.booleans() for p in Purpose}))
def test_no_export_without_transfer_and_no_sensitive_field_without_consent(
        container: Container, martina_with_health: str, granted: dict[Purpose, bool]) -> None:
    from bestnext.access import Principal, Role
    from bestnext.privacy import sharing

    at = container.clock.now() + timedelta(minutes=next(_tick))
    with container.engine.begin() as conn:
        services.record(conn, martina_with_health, granted, Source("console"), at)
        data = sharing.share(conn, Principal("k", "partner feed", Role.ADMIN), martina_with_health, "partner", at)
    if not (granted[Purpose.TRANSFER_TO_THIRD_PARTIES] and granted[Purpose.PERSONAL_DATA]):
        assert data is None
        return
    assert data is not None and data["traits"]["email"] == "martina.bianchi@example.org"
    assert ("health_condition" in data["traits"]) is granted[Purpose.SENSITIVE_DATA]
    assert ("religion" in data["traits"]) is granted[Purpose.SENSITIVE_DATA]
    if not granted[Purpose.PROFILING]:
        assert data["interests"] == []
