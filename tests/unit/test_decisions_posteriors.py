"""The dense posterior table answers exactly what the model bank answers."""

from __future__ import annotations

import numpy as np
import pytest

from bestnext.decisions.learning.bank import ModelBank
from bestnext.decisions.learning.models import RiverLogit
from bestnext.decisions.posteriors import PosteriorTable

FEATURES = {"age=18-29": 1.0, "stage=lead": 1.0, "interest:prepaid_card": 1.0, "holds:current_account": 1.0}


def trained_bank(rng: np.random.Generator) -> ModelBank:
    bank = ModelBank()
    for action in ("a", "b", "c"):
        for channel in ("email", "sms"):
            for _ in range(40):
                x = {k: 1.0 for k in FEATURES if rng.random() < 0.7}
                bank.learn(action, channel, {**x, f"ctx:channel={channel}": 1.0}, float(rng.random() < 0.3))
    return bank


@pytest.mark.parametrize("profiling", [True, False])
def test_table_matches_the_bank(profiling: bool) -> None:
    bank = trained_bank(np.random.default_rng(4))
    table = PosteriorTable(bank)
    pairs = [(a, c) for a in ("a", "b", "c", "never_trained") for c in ("email", "sms", "push")]
    mu, sd = table.posteriors(pairs, FEATURES, profiling)
    for (action, channel), m, s in zip(pairs, mu, sd, strict=True):
        p = bank.propensity(action, channel, {**FEATURES, f"ctx:channel={channel}": 1.0},
                            np.random.default_rng(0), explore=False, profiling=profiling)
        assert m == pytest.approx(p.mean_logit, rel=1e-4, abs=1e-5)
        assert s == pytest.approx(p.sd_logit, rel=1e-4, abs=1e-5)


def test_refresh_after_learning_and_other_model_kinds() -> None:
    bank = trained_bank(np.random.default_rng(5))
    table = PosteriorTable(bank)
    x = {**FEATURES, "ctx:channel=email": 1.0}
    for _ in range(30):
        bank.learn("a", "email", x, 1.0)
    stale = table.posteriors([("a", "email")], FEATURES, True)[0][0]
    table.refresh(("a", "email"))
    fresh = table.posteriors([("a", "email")], FEATURES, True)[0][0]
    assert fresh > stale
    assert fresh == pytest.approx(bank.model("a", "email").posterior(x)[0], rel=1e-4)
    bank.models[("r", "sms")] = river = RiverLogit()
    river.learn_one({**FEATURES, "ctx:channel=sms": 1.0}, True)
    table.refresh(("r", "sms"))
    mu, sd = table.posteriors([("r", "sms")], FEATURES, True)
    assert (mu[0], sd[0]) == pytest.approx(river.posterior({**FEATURES, "ctx:channel=sms": 1.0}))
