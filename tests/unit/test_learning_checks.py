"""The shared check suite (River style): every model class and every policy class must pass it."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bestnext.decisions.learning import (
    BayesLogit,
    RiverLogit,
    Scored,
    model_from_state,
)
from bestnext.decisions.learning.models import PropensityModel
from bestnext.decisions.learning.monitoring import auc
from bestnext.decisions.learning.policies import POLICIES, Policy

MODELS: list[Callable[[], PropensityModel]] = [BayesLogit, RiverLogit]
POLICY_FACTORIES: list[Callable[[], Policy]] = list(POLICIES.values())


def _separable(rng: np.random.Generator, n: int) -> list[tuple[dict[str, float], bool]]:
    """Two segments with a noisy numeric feature; the segment decides the label."""
    rows = []
    for _ in range(n):
        y = bool(rng.random() < 0.5)
        rows.append(({"segment=" + ("a" if y else "b"): 1.0, "noise": float(rng.normal())}, y))
    return rows


@pytest.fixture(params=MODELS, ids=lambda f: f.__name__)
def make_model(request: pytest.FixtureRequest) -> Callable[[], PropensityModel]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=POLICY_FACTORIES, ids=lambda f: f.__name__)
def make_policy(request: pytest.FixtureRequest) -> Callable[[], Policy]:
    return request.param  # type: ignore[no-any-return]


def _trained(make_model: Callable[[], PropensityModel], n: int = 600, seed: int = 0) -> PropensityModel:
    model = make_model()
    for x, y in _separable(np.random.default_rng(seed), n):
        model.learn_one(x, y)
    return model


# ---- models ----

def test_learns_a_separable_problem(make_model: Callable[[], PropensityModel]) -> None:
    model = _trained(make_model)
    test = _separable(np.random.default_rng(99), 300)
    predicted = [model.predict_one(x) for x, _ in test]
    assert auc(predicted, [y for _, y in test]) == pytest.approx(1.0, abs=0.01)
    assert model.predict_one({"segment=a": 1.0}) > 0.7
    assert model.predict_one({"segment=b": 1.0}) < 0.3


def test_untrained_model_is_uncertain_and_data_shrinks_the_posterior(
        make_model: Callable[[], PropensityModel]) -> None:
    fresh = make_model()
    _mu, sd_before = fresh.posterior({"segment=a": 1.0})
    _mu, sd_after = _trained(make_model).posterior({"segment=a": 1.0})
    assert sd_before > 1.0 > 3 * sd_after


def test_save_restore_round_trip_gives_identical_predictions(make_model: Callable[[], PropensityModel]) -> None:
    model = _trained(make_model)
    restored = model_from_state(json.loads(json.dumps(model.to_state())))
    assert type(restored) is type(model)
    for x, _ in _separable(np.random.default_rng(5), 50):
        assert restored.predict_one(x) == model.predict_one(x)
        assert restored.posterior(x) == model.posterior(x)
    # and they keep learning identically
    for x, y in _separable(np.random.default_rng(6), 50):
        model.learn_one(x, y)
        restored.learn_one(x, y)
    assert restored.to_state() == model.to_state()


def test_seeded_determinism(make_model: Callable[[], PropensityModel]) -> None:
    a, b = _trained(make_model, seed=3), _trained(make_model, seed=3)
    assert a.to_state() == b.to_state()
    x = {"segment=a": 1.0}
    draws_a = [a.sample_one(x, rng) for rng in [np.random.default_rng(11)] for _ in range(5)]
    draws_b = [b.sample_one(x, rng) for rng in [np.random.default_rng(11)] for _ in range(5)]
    assert draws_a == draws_b
    assert len(set(draws_a)) == 5


def test_posterior_draws_centre_on_the_prediction(make_model: Callable[[], PropensityModel]) -> None:
    model = _trained(make_model, n=200)
    x = {"segment=a": 1.0}
    rng = np.random.default_rng(2)
    draws = np.array([model.sample_one(x, rng) for _ in range(4000)])
    mu, _sd = model.posterior(x)
    assert np.median(draws) == pytest.approx(model.predict_one(x), abs=0.02)
    assert mu == pytest.approx(np.log(model.predict_one(x) / (1 - model.predict_one(x))), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), st.floats(-1e6, 1e6), max_size=6), st.booleans())
def test_probabilities_are_in_the_unit_interval(x: dict[str, float], y: bool) -> None:
    for make in MODELS:
        model = make()
        model.learn_one(x, y)
        for p in (model.predict_one(x), model.sample_one(x, np.random.default_rng(0))):
            assert 0.0 <= p <= 1.0 and not np.isnan(p)


# ---- policies ----

def _candidates(rng: np.random.Generator, k: int) -> list[Scored]:
    return [Scored(f"a{i}", float(rng.normal(-2, 1)), float(rng.uniform(0, 1.5)),
                   float(rng.uniform(0.5, 2)), float(rng.uniform())) for i in range(k)]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 16), st.integers(0, 2**32 - 1), st.floats(0.0, 1.0))
def test_policy_propensities_are_a_distribution(k: int, seed: int, control_rate: float) -> None:
    for make in POLICY_FACTORIES:
        rng = np.random.default_rng(seed)
        scored = _candidates(rng, k)
        choice = make().choose(scored, rng, control_rate)
        assert sorted(choice.ranked) == sorted(s.key for s in scored)
        assert all(0.0 <= p <= 1.0 for p in choice.propensities.values())
        assert sum(choice.propensities.values()) == pytest.approx(1.0)
        assert choice.propensity > 0.0
        assert all(0.0 <= p <= 1.0 for p in choice.sampled.values())


def test_policy_is_deterministic_given_the_seed(make_policy: Callable[[], Policy]) -> None:
    scored = _candidates(np.random.default_rng(1), 12)
    runs = [make_policy().choose(scored, np.random.default_rng(42)) for _ in range(2)]
    assert runs[0] == runs[1]


def test_policy_without_candidates_chooses_nothing(make_policy: Callable[[], Policy]) -> None:
    choice = make_policy().choose([], np.random.default_rng(0))
    assert choice.ranked == [] and choice.chosen is None and choice.propensity == 1.0


def test_logged_propensities_match_how_often_each_action_is_chosen(make_policy: Callable[[], Policy]) -> None:
    scored = [Scored("a", -1.0, 0.8, 1.0, 1.0), Scored("b", -1.2, 0.8, 1.2), Scored("c", -3.0, 0.3)]
    rng = np.random.default_rng(8)
    n = 3000
    counts = dict.fromkeys("abc", 0)
    logged = dict.fromkeys("abc", 0.0)
    for _ in range(n):
        choice = make_policy().choose(scored, rng, 0.1)
        counts[choice.ranked[0][0]] += 1
        for key, p in choice.propensities.items():
            logged[key] += p / n
    for key in "abc":
        # binomial standard error at n=3000 is below 0.01; Monte-Carlo propensities add a little
        assert counts[key] / n == pytest.approx(logged[key], abs=0.035)


def test_control_group_gets_the_baseline_at_the_configured_rate(make_policy: Callable[[], Policy]) -> None:
    scored = [Scored("personal", 3.0, 0.1, 1.0, 0.0), Scored("baseline", -3.0, 0.1, 1.0, 1.0)]
    rng = np.random.default_rng(4)
    choices = [make_policy().choose(scored, rng, 0.05) for _ in range(4000)]
    control = [c for c in choices if c.control]
    assert len(control) / 4000 == pytest.approx(0.05, abs=0.012)
    assert all(c.ranked[0] == "baseline" for c in control)
    assert all(c.propensities["baseline"] >= 0.05 for c in choices)


def test_thompson_chosen_only_mode_logs_the_same_propensity_as_the_full_mode() -> None:
    from bestnext.decisions.learning import ThompsonPolicy

    scored = _candidates(np.random.default_rng(12), 9)
    full = ThompsonPolicy(0.7, 0.05).choose(scored, np.random.default_rng(5), 0.02)
    chosen = ThompsonPolicy(0.7, 0.05, propensities="chosen").choose(scored, np.random.default_rng(5), 0.02)
    assert chosen.ranked == full.ranked
    assert chosen.chosen in chosen.propensities and len(chosen.propensities) <= 2
    assert chosen.propensity == pytest.approx(full.propensities[full.chosen], rel=1e-6)  # "all" normalises
    # the uniform floor keeps every candidate possible
    assert min(full.propensities.values()) >= 0.98 * 0.05 / 9


def test_thompson_exact_propensities_match_sampling_frequencies() -> None:
    from bestnext.decisions.learning import ThompsonPolicy

    scored = _candidates(np.random.default_rng(21), 6)
    policy = ThompsonPolicy()
    rng = np.random.default_rng(0)
    exact = policy.choose(scored, rng, 0.0).propensities
    n = 20000
    counts = dict.fromkeys(exact, 0)
    for _ in range(n):
        counts[policy.choose(scored, rng, 0.0).ranked[0]] += 1
    for key, p in exact.items():
        assert counts[key] / n == pytest.approx(p, abs=4 * (p * (1 - p) / n) ** 0.5 + 1e-3)


def test_thompson_on_a_large_catalog_gives_the_head_of_the_ranking_its_exact_propensity() -> None:
    from bestnext.decisions.learning import ThompsonPolicy

    scored = _candidates(np.random.default_rng(3), 120)
    auto = ThompsonPolicy().choose(scored, np.random.default_rng(9), 0.02)
    full = ThompsonPolicy(propensities="all").choose(scored, np.random.default_rng(9), 0.02)
    assert auto.ranked == full.ranked
    assert set(auto.ranked[:3]) <= set(auto.propensities) and len(auto.propensities) <= 4
    for key, p in auto.propensities.items():
        assert p == pytest.approx(full.propensities[key], rel=1e-4, abs=1e-9)  # "all" normalises
