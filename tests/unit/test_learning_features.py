"""Behavioural features need profiling; monitoring statistics are right for every input."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bestnext.decisions.learning import BEHAVIOURAL_PREFIXES, ModelBank, build_features, drop_behavioural
from bestnext.decisions.learning.features import is_behavioural
from bestnext.decisions.learning.monitoring import auc

keys = st.one_of(st.text(min_size=1, max_size=12),
                 st.builds(lambda p, s: p + s, st.sampled_from(BEHAVIOURAL_PREFIXES), st.text(max_size=8)))


@settings(deadline=None)
@given(st.dictionaries(keys, st.floats(-10, 10), max_size=12))
def test_without_profiling_no_behavioural_key_survives_and_nothing_else_is_lost(x: dict[str, float]) -> None:
    kept = drop_behavioural(x, profiling=False)
    assert not any(is_behavioural(k) for k in kept)
    assert kept == {k: v for k, v in x.items() if not is_behavioural(k)}
    assert drop_behavioural(x, profiling=True) == x


def test_built_features_use_interests_and_activity_only_with_profiling() -> None:
    common = {"age": 41, "lifecycle_stage": "customer", "holdings": ["current_account"],
              "interests": ["pension_fund"], "event_count": 40, "context": {"channel": "branch"}}
    with_consent = build_features(**common, profiling=True)  # type: ignore[arg-type]
    without = build_features(**common, profiling=False)  # type: ignore[arg-type]
    assert "interest:pension_fund" in with_consent and "activity=high" in with_consent
    assert set(without) == {"age=30-49", "stage=customer", "holds:current_account", "ctx:channel=branch"}


def test_a_person_without_profiling_gets_the_same_answer_whatever_their_behaviour() -> None:
    bank = ModelBank()
    rng = np.random.default_rng(0)
    for _ in range(300):
        bank.learn("offer_pension_fund", "email", {"age=50-64": 1.0, "interest:pension_fund": 1.0}, True)
        bank.learn("offer_pension_fund", "email", {"age=50-64": 1.0}, False)
    a = bank.propensity("offer_pension_fund", "email", {"age=50-64": 1.0, "interest:pension_fund": 1.0},
                        rng, explore=False, profiling=False)
    b = bank.propensity("offer_pension_fund", "email", {"age=50-64": 1.0}, rng, explore=False, profiling=False)
    assert a == b


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=2, max_size=40))
def test_auc_is_the_probability_that_a_positive_outranks_a_negative(rows: list[tuple[float, bool]]) -> None:
    p, y = [r[0] for r in rows], [r[1] for r in rows]
    pos = [pi for pi, yi in rows if yi]
    neg = [pi for pi, yi in rows if not yi]
    got = auc(p, y)
    if not pos or not neg:
        assert got is None
        return
    pairs = [(1.0 if a > b else 0.5 if a == b else 0.0) for a in pos for b in neg]
    assert got is not None and abs(got - sum(pairs) / len(pairs)) < 1e-9
