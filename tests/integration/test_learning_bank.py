"""The model bank persists its models and their monitoring, and reloads them (both databases)."""

from __future__ import annotations

import numpy as np
import pytest

from bestnext.db import create_db_engine
from bestnext.decisions.learning import ModelBank, RiverLogit


def _teach(bank: ModelBank, seed: int, n: int = 700) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        young = bool(rng.random() < 0.5)
        x = {"age=18-29" if young else "age=50-64": 1.0, "interest:prepaid_card": float(young)}
        bank.learn("offer_prepaid_card", "email", x, bool(rng.random() < (0.6 if young else 0.05)))
        bank.learn("offer_pension_fund", "branch", x, bool(rng.random() < (0.05 if young else 0.4)))


@pytest.mark.parametrize("factory", [None, RiverLogit], ids=["bayes_logit", "river_logit"])
def test_models_persist_and_reload_across_restarts(db_url: str, factory: type[RiverLogit] | None) -> None:
    bank = ModelBank() if factory is None else ModelBank(factory)
    _teach(bank, 1)
    engine = create_db_engine(db_url)
    with engine.begin() as conn:
        assert bank.save(conn) == 2
    with engine.begin() as conn:
        assert bank.save(conn) == 0  # nothing changed since
    engine.dispose()

    engine = create_db_engine(db_url)  # a new process, as after a restart
    restored = ModelBank()
    with engine.begin() as conn:
        assert restored.load(conn) == 2
    x = {"age=18-29": 1.0, "interest:prepaid_card": 1.0}
    for action, channel in [("offer_prepaid_card", "email"), ("offer_pension_fund", "branch")]:
        a = bank.propensity(action, channel, x, np.random.default_rng(3))
        b = restored.propensity(action, channel, x, np.random.default_rng(3))
        assert a == b
    assert restored.monitor() == bank.monitor()

    # learning continues after the reload and is saved again
    _teach(restored, 2, n=10)
    with engine.begin() as conn:
        assert restored.save(conn) == 2
        again = ModelBank()
        again.load(conn)
    assert again.monitor()["offer_prepaid_card/email"]["responses"] == 710
    engine.dispose()


def test_monitor_reports_auc_calibration_and_drift() -> None:
    bank = ModelBank(window=300)
    _teach(bank, 4)
    report = bank.monitor()["offer_prepaid_card/email"]
    assert report["responses"] == 700 and report["window"] == 300
    assert report["auc"] > 0.75
    calib = report["calibration"]
    assert calib["observed_rate"] == pytest.approx(calib["mean_predicted"], abs=0.08)
    assert abs(report["drift"]["rate_change"]) < 0.1


def test_monitor_sees_drift_when_responses_change() -> None:
    bank = ModelBank(window=300)
    x = {"age=30-49": 1.0}
    rng = np.random.default_rng(9)
    for i in range(800):
        rate = 0.05 if i < 600 else 0.5  # a campaign suddenly works much better
        bank.learn("offer_family_mortgage", "call_center", x, bool(rng.random() < rate))
    drift = bank.monitor()["offer_family_mortgage/call_center"]["drift"]
    assert drift["rate_change"] > 0.3
    assert drift["psi"] > 0.1  # the model's own predictions moved as it adapted


def test_behavioural_features_are_ignored_without_profiling() -> None:
    bank = ModelBank()
    _teach(bank, 5)
    rng = np.random.default_rng(0)
    with_signal = {"age=50-64": 1.0, "interest:prepaid_card": 1.0}
    without = {"age=50-64": 1.0}
    consented = bank.propensity("offer_prepaid_card", "email", with_signal, rng, explore=False)
    refused = bank.propensity("offer_prepaid_card", "email", with_signal, rng, explore=False, profiling=False)
    plain = bank.propensity("offer_prepaid_card", "email", without, rng, explore=False)
    assert refused == plain
    assert consented.p_mean > refused.p_mean
