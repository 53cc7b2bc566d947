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


def test_cached_plans_follow_new_and_replaced_models() -> None:
    bank = trained_bank(np.random.default_rng(6))
    table = PosteriorTable(bank)
    pairs = [("a", "email"), ("new", "email"), ("b", "sms")]
    before = table.posteriors(pairs, FEATURES, True)
    x = {**FEATURES, "ctx:channel=email": 1.0}
    for _ in range(20):
        bank.learn("new", "email", x, 1.0)
    table.refresh(("new", "email"))
    bank.models[("a", "email")] = river = RiverLogit()  # a key changes kind: its row is dropped
    table.refresh(("a", "email"))
    for _ in range(5):
        bank.learn("newer", "email", x, 0.0)
    table.refresh(("newer", "email"))  # must not take the row of another model
    mu, sd = table.posteriors([*pairs, ("newer", "email")], FEATURES, True)
    assert mu[1] > before[0][1]
    assert (mu[0], sd[0]) == pytest.approx(river.posterior(x))
    for n, key in ((1, ("new", "email")), (2, ("b", "sms")), (3, ("newer", "email"))):
        channel_x = {**FEATURES, f"ctx:channel={key[1]}": 1.0}
        assert (mu[n], sd[n]) == pytest.approx(bank.model(*key).posterior(channel_x), rel=1e-4)
