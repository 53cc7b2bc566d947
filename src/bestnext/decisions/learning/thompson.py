"""Exact first-place probabilities of Thompson sampling (for off-policy evaluation logs).

Candidate ``a`` scores ``w_a * sigmoid(mu_a + s_a Z_a)`` with independent standard normal
``Z``. The probability that ``a`` ranks first is a one-dimensional integral over ``Z_a``:

    P(a first) = E_z[ prod_{b != a} P(w_b sigmoid(mu_b + s_b Z_b) < w_a sigmoid(mu_a + s_a z)) ]

and each factor is a normal CDF. The integral is a trapezoid rule on a fine grid of ``z``
(spectrally accurate for such smooth, Gaussian-weighted integrands), so the logged
propensities are deterministic and accurate even when small, unlike Monte-Carlo counts whose
reciprocals (the IPS weights) are biased.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

_GRID = np.linspace(-6.5, 6.5, 66)
_SURE = 8.3  # ndtr(z) == 1.0 exactly in double precision for z >= 8.3
_GRID_WEIGHTS = np.exp(-0.5 * _GRID**2) / np.sqrt(2.0 * np.pi) * (_GRID[1] - _GRID[0])


def _below(target: np.ndarray, mean: np.ndarray, sd: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """P(w_b sigmoid(mu_b + s_b Z) < t) for every rival b (rows) and threshold t (columns of
    the 1-d ``target``): the normal CDF of ``(logit(t / w_b) - mu_b) / s_b``, with
    ``logit(t / w) = log t - log(w - t)`` (one log per cell), 1 when ``t >= w_b``."""
    room = weight[:, None] - target[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        logit = np.log(target)[None, :] - np.log(room)
        spread = sd > 0.0
        if spread.all():
            z = (logit - mean[:, None]) * (1.0 / sd)[:, None]
            open_ = z < _SURE  # elsewhere the CDF is exactly 1.0 (or t >= w_b: set below)
            prob = np.ones_like(z)
            prob[open_] = ndtr(z[open_])
        else:  # a rival without spread is a step: below, tied or above
            mu = mean[:, None]
            prob = np.where(spread[:, None], ndtr((logit - mu) / np.where(spread, sd, 1.0)[:, None]),
                            np.where(mu < logit, 1.0, np.where(mu == logit, 0.5, 0.0)))
    out: np.ndarray = prob
    out[room <= 0.0] = 1.0
    return out


def first_place(mean: np.ndarray, sd: np.ndarray, weight: np.ndarray,
                which: np.ndarray | None = None) -> np.ndarray:
    """Probability that each candidate in ``which`` (default: all) is ranked first.

    Weights must be positive. With ``which`` = all, the result is normalised to sum to 1.

    Examples
    --------
    >>> p = first_place(np.array([0.0, 0.0]), np.array([1.0, 1.0]), np.array([1.0, 1.0]))
    >>> [round(float(v), 6) for v in p]
    [0.5, 0.5]
    >>> p = first_place(np.array([0.0, -1.0, -5.0]), np.array([1.0, 1.0, 0.0]), np.ones(3))
    >>> bool(p[0] > p[1] > 1e-3 > 1e-9 > p[2]), round(float(p.sum()), 9)
    (True, 1.0)
    """
    idx = np.arange(len(mean)) if which is None else np.asarray(which, dtype=np.intp)
    reach = _GRID[-1]
    upper = weight / (1.0 + np.exp(-np.clip(mean + reach * sd, -700.0, 700.0)))
    out = np.empty(len(idx))
    for j, a in enumerate(idx):
        target = weight[a] / (1.0 + np.exp(-np.clip(mean[a] + sd[a] * _GRID, -700.0, 700.0)))
        # rivals that cannot beat even a's lowest value on the grid contribute a factor of 1
        rivals = np.flatnonzero(upper > target[0])
        rivals = rivals[rivals != a]
        below = _below(target, mean[rivals], sd[rivals], weight[rivals])
        out[j] = float(np.prod(below, axis=0) @ _GRID_WEIGHTS)
    if which is None and out.sum() > 0:
        out = out / out.sum()
    return out
