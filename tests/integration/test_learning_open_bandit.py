"""Off-policy evaluation on real logs: the Open Bandit Dataset sample (ZOZOTOWN, CC BY 4.0).

From the Bernoulli Thompson Sampling logs alone, estimate the click rate the uniform random
policy would get; the truth is the random policy's own log (0.0038 on this sample).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bestnext.decisions.learning.logs import read_log
from bestnext.decisions.learning.services import evaluate_file

OBD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "open-bandit-dataset"

pytestmark = pytest.mark.skipif(not (OBD / "bts" / "all.csv").is_file(),
                                reason=f"Open Bandit Dataset sample not found at {OBD} (../shared beside the repo)")


def test_estimates_of_the_random_policy_from_thompson_logs_cover_its_real_click_rate() -> None:
    truth = read_log(OBD / "random" / "all.csv").on_policy_value
    assert truth == pytest.approx(0.0038)
    result = evaluate_file("uniform", OBD / "bts" / "all.csv", seed=0)
    assert result["n"] == 10000
    for name in ("ips", "snips", "dr"):
        est = result["estimates"][name]
        assert est["ci_low"] <= truth <= est["ci_high"], (name, est)
        assert est["boot_low"] <= truth <= est["boot_high"], (name, est)
        # a small sample: the estimate is noisy but informative (the interval excludes 0)
        assert 0.0 < est["ci_low"] and est["value"] < 0.01
    # the logging policy itself clicked more: the estimate is not just the logged rate
    assert result["logged_value"] == pytest.approx(0.0042)
