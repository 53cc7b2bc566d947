"""The block-wise first-place probabilities equal the column-by-column integrals."""

from __future__ import annotations

import numpy as np
import pytest

from bestnext.decisions.learning.thompson import _by_blocks, _by_columns, first_place


def _case(seed: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mean = rng.normal(-2.0, 1.5, k)
    sd = rng.choice([0.05, 0.3, 1.0, 2.5], k) * rng.uniform(0.5, 1.5, k)
    weight = rng.integers(10, 300, k) * rng.choice([0.5, 1.0, 2.0, 3.0], k)
    return mean, sd, weight.astype(float)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("k", [2, 7, 40, 200])
def test_blocks_give_the_integrals_of_every_column(seed: int, k: int) -> None:
    mean, sd, weight = _case(seed, k)
    which = np.unique(np.random.default_rng(seed).integers(0, k, 4))
    fast = _by_blocks(mean, sd, weight, which)
    slow = _by_columns(mean, sd, weight, which)
    assert np.allclose(fast, slow, rtol=1e-12, atol=1e-300)


def test_a_candidate_that_cannot_win_has_probability_zero_and_all_sum_to_one() -> None:
    mean = np.array([0.0, 0.0, -30.0])
    p = first_place(mean, np.array([0.5, 0.5, 0.1]), np.array([1.0, 1.0, 1.0]))
    assert p[2] < 1e-12
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert p[0] == pytest.approx(p[1], rel=1e-12)


def test_rivals_without_spread_take_the_column_path() -> None:
    mean, sd, weight = _case(3, 30)
    sd[5] = 0.0
    assert np.allclose(first_place(mean, sd, weight, np.array([0, 5])),
                       _by_columns(mean, sd, weight, np.array([0, 5])), rtol=0, atol=0)
