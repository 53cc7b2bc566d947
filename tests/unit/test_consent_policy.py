"""The one policy function: examples from the issue, and properties over random histories."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bestnext.consent.model import ConsentEntry, ConsentState, DataCategory, Purpose, Source, Use
from bestnext.consent.policy import allowed_signals, filter_sensitive, is_sensitive_field, may

# `make test` runs a few hundred cases; HYPOTHESIS_PROFILE=nightly runs >= 10,000.
EXAMPLES = 10_000 if os.environ.get("HYPOTHESIS_PROFILE") == "nightly" else 300
T0 = datetime(2025, 2, 21, 10, 35, tzinfo=UTC)
ALL = tuple(Purpose)


def state(*granted: Purpose, refused: tuple[Purpose, ...] = (), at: datetime = T0) -> ConsentState:
    entries = [ConsentEntry(p, True, Source("web", "m-1"), at) for p in granted]
    entries += [ConsentEntry(p, False, Source("web", "m-1"), at) for p in refused]
    return ConsentState.of("p1", entries)


MARTINA = state(Purpose.PERSONAL_DATA, Purpose.OWN_MARKETING, Purpose.PROFILING,
                refused=(Purpose.SATISFACTION_SURVEY, Purpose.THIRD_PARTY_MARKETING,
                         Purpose.TRANSFER_TO_THIRD_PARTIES, Purpose.SENSITIVE_DATA))


def test_martina_may_get_own_offers_using_behaviour_but_nothing_else() -> None:
    assert may(MARTINA, Use.MARKETING, [DataCategory.BEHAVIOURAL], "call_center", T0).allowed
    assert not may(MARTINA, Use.THIRD_PARTY_MARKETING, [], "email", T0).allowed
    assert not may(MARTINA, Use.EXPORT, [DataCategory.DECLARED], None, T0).allowed
    assert not may(MARTINA, Use.SURVEY, [], "email", T0).allowed
    assert not may(MARTINA, Use.MARKETING, [DataCategory.SENSITIVE], "email", T0).allowed


def test_absent_means_refused_except_serving_the_persons_own_request() -> None:
    nobody = ConsentState("p1")
    for use in Use:
        decision = may(nobody, use, [DataCategory.REQUEST], "social", T0)
        assert decision.allowed is (use is Use.SERVICE)
    service = may(nobody, Use.SERVICE, [DataCategory.REQUEST, DataCategory.CONTRACT], "social", T0)
    assert service.allowed and not service.may_promote
    assert any(r.code == "service.no_promotion" for r in service.reasons)
    assert not may(nobody, Use.SERVICE, [DataCategory.BEHAVIOURAL], "social", T0).allowed


def test_reasons_name_the_consent_and_its_source_message() -> None:
    decision = may(MARTINA, Use.EXPORT, [], None, T0)
    refused = [r for r in decision.reasons if r.code == "consent.refused"]
    assert refused[0].purpose == "transfer_to_third_parties" and refused[0].source_message == "m-1"
    assert "transfer_to_third_parties refused" in refused[0].text
    absent = may(ConsentState("p"), Use.MARKETING, [], "sms", T0).reasons
    assert {r.code for r in absent} >= {"consent.absent"}
    assert decision.public()["reasons"][0]["code"]


def test_a_withdrawal_takes_effect_from_its_time_not_before() -> None:
    later = T0 + timedelta(days=3)
    s = ConsentState.of("p", [*MARTINA.history, ConsentEntry(Purpose.OWN_MARKETING, False, Source("sms"), later)])
    assert may(s, Use.MARKETING, [], "sms", later - timedelta(seconds=1)).allowed
    assert not may(s, Use.MARKETING, [], "sms", later).allowed
    assert not may(s, Use.MARKETING, [], "sms", None).allowed


def test_signals_and_sensitive_fields() -> None:
    signals = ["Form Submitted", "Competitor Site Visited", "page", "propensity_prepaid_card",
               "Social Message Posted", "Transfer Failed", "health_condition"]
    assert allowed_signals(state(Purpose.PERSONAL_DATA), signals) == [
        "Form Submitted", "Social Message Posted", "Transfer Failed"]
    assert allowed_signals(MARTINA, signals) == signals[:-1]
    traits = {"city": "Milano", "religion": "x", "health": "y", "age": 21}
    assert filter_sensitive(MARTINA, traits) == {"city": "Milano", "age": 21}
    assert filter_sensitive(state(Purpose.SENSITIVE_DATA), traits) == traits


# ---- properties -----------------------------------------------------------------------------

entries_st = st.lists(st.tuples(st.sampled_from(ALL), st.booleans(), st.integers(0, 500)), max_size=25)
categories_st = st.sets(st.sampled_from(tuple(DataCategory)))
channels_st = st.sampled_from(["email", "sms", "call_center", "branch", "social", "web", "app", "push", "post", None])


def build(raw: list[tuple[Purpose, bool, int]]) -> ConsentState:
    return ConsentState.of("p", [ConsentEntry(p, g, Source("web", f"m{i}"), T0 + timedelta(minutes=m), seq=i)
                                 for i, (p, g, m) in enumerate(raw)])


def oracle(raw: list[tuple[Purpose, bool, int]], minute: int) -> dict[Purpose, bool]:
    """An independent reading of the history: the last statement at or before ``minute``."""
    best: dict[Purpose, tuple[int, int, bool]] = {}
    for i, (p, g, m) in enumerate(raw):
        if m <= minute and (p not in best or (m, i) > best[p][:2]):
            best[p] = (m, i, g)
    return {p: best.get(p, (0, 0, False))[2] for p in ALL}


@settings(max_examples=EXAMPLES, deadline=None)
@given(entries_st, st.sampled_from(tuple(Use)), categories_st, channels_st, st.integers(-10, 520))
def test_no_use_beyond_the_consents(raw: list[tuple[Purpose, bool, int]], use: Use,
                                    categories: set[DataCategory], channel: str | None, minute: int) -> None:
    at = T0 + timedelta(minutes=minute)
    granted = oracle(raw, minute)
    decision = may(build(raw), use, categories, channel, at)
    if decision.allowed and use is Use.MARKETING:
        assert granted[Purpose.OWN_MARKETING]
    if decision.allowed and use is Use.THIRD_PARTY_MARKETING:
        assert granted[Purpose.THIRD_PARTY_MARKETING]
    if decision.allowed and use is Use.EXPORT:
        assert granted[Purpose.TRANSFER_TO_THIRD_PARTIES]
    if decision.allowed and use is Use.SURVEY:
        assert granted[Purpose.SATISFACTION_SURVEY]
    if decision.allowed and (DataCategory.BEHAVIOURAL in categories or use in (Use.PROFILING, Use.MODEL_TRAINING,
                                                                             Use.ENGAGEMENT_TRACKING)):
        assert granted[Purpose.PROFILING]
    if decision.allowed and DataCategory.SENSITIVE in categories:
        assert granted[Purpose.SENSITIVE_DATA]
    if decision.allowed and use is not Use.SERVICE:
        assert granted[Purpose.PERSONAL_DATA]
    if decision.may_promote:
        assert granted[Purpose.OWN_MARKETING] and decision.allowed
    # and nothing is refused that the consents allow
    needs = {Use.MARKETING: [Purpose.OWN_MARKETING], Use.THIRD_PARTY_MARKETING: [Purpose.THIRD_PARTY_MARKETING],
             Use.EXPORT: [Purpose.TRANSFER_TO_THIRD_PARTIES], Use.SURVEY: [Purpose.SATISFACTION_SURVEY],
             Use.PROFILING: [Purpose.PROFILING], Use.MODEL_TRAINING: [Purpose.PROFILING],
             Use.ENGAGEMENT_TRACKING: [Purpose.PROFILING], Use.SERVICE: []}[use]
    needs += [Purpose.PERSONAL_DATA] if use is not Use.SERVICE else []
    needs += [Purpose.PROFILING] if DataCategory.BEHAVIOURAL in categories else []
    needs += [Purpose.SENSITIVE_DATA] if DataCategory.SENSITIVE in categories else []
    assert decision.allowed is all(granted[p] for p in needs)
    assert decision.reasons, "every decision carries its reasons"


@settings(max_examples=EXAMPLES, deadline=None)
@given(entries_st, st.lists(st.sampled_from(["page", "Form Submitted", "Competitor Site Visited", "propensity",
                                             "Transfer Failed", "religion", "E-banking Login", "x"]), max_size=8),
       st.dictionaries(st.sampled_from(["city", "health", "political_opinions", "age", "sensitive_note", "job"]),
                       st.integers()))
def test_no_behavioural_signal_or_sensitive_field_without_consent(
        raw: list[tuple[Purpose, bool, int]], signals: list[str], traits: dict[str, int]) -> None:
    s, granted = build(raw), oracle(raw, 10_000)
    kept = allowed_signals(s, signals)
    if not granted[Purpose.PROFILING]:
        assert all(sig in ("Form Submitted", "Transfer Failed", "religion") for sig in kept)
    if not granted[Purpose.SENSITIVE_DATA]:
        assert "religion" not in kept
        assert not any(is_sensitive_field(k) for k in filter_sensitive(s, traits))
    assert set(kept) <= set(signals)
