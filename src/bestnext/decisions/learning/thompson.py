"""Exact first-place probabilities of Thompson sampling (for off-policy evaluation logs).

Candidate ``a`` scores ``w_a * sigmoid(mu_a + s_a Z_a)`` with independent standard normal
``Z``. The probability that ``a`` ranks first is a one-dimensional integral over ``Z_a``:

    P(a first) = E_z[ prod_{b != a} P(w_b sigmoid(mu_b + s_b Z_b) < w_a sigmoid(mu_a + s_a z)) ]

and each factor is a normal CDF. The integral is a trapezoid rule on a fine grid of ``z``
(spectrally accurate for such smooth, Gaussian-weighted integrands), so the logged
propensities are deterministic and accurate even when small, unlike Monte-Carlo counts whose
reciprocals (the IPS weights) are biased.

Most of the grid contributes nothing that a double can hold: the integrand
``P_z = prod_b P(b below a's value at z)`` grows with ``z`` (a's value grows, every factor
grows), so below a column ``g`` the rest of the integral is at most ``P_g`` times the Gaussian
mass below ``g``. :func:`first_place` computes the columns from the top down, a block at a
time and for all candidates together, and stops once that bound is under ``_TAIL`` of what it
has summed; in each column only the rivals that can still beat ``a`` (their value's reach
above ``a``'s) get a normal CDF. On a 200-action catalog that is ~1/8 of the cells.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def ndtr(x: Any) -> Any:
    """The standard normal CDF (``scipy.special.ndtr``), imported at the first call: importing
    scipy.special costs ~0.75 s, in every ``bestnext`` process that never decides."""
    from scipy.special import ndtr as scipy_ndtr

    globals()["ndtr"] = scipy_ndtr  # later calls go straight to scipy
    return scipy_ndtr(x)


_GRID = np.linspace(-6.5, 6.5, 66)
_SURE = 8.3  # ndtr(z) == 1.0 exactly in double precision for z >= 8.3
_GRID_WEIGHTS = np.exp(-0.5 * _GRID**2) / np.sqrt(2.0 * np.pi) * (_GRID[1] - _GRID[0])
_MASS_BELOW = np.concatenate([[0.0], np.cumsum(_GRID_WEIGHTS)[:-1]])  # grid weight below each column
_TAIL = 1e-17  # the columns left out hold at most this share of a probability


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
    out = _by_blocks(mean, sd, weight, idx) if len(idx) and (sd > 0.0).all() \
        else _by_columns(mean, sd, weight, idx)
    if which is None and out.sum() > 0:
        out = out / out.sum()
    return out


def _targets(mean: np.ndarray, sd: np.ndarray, weight: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Each candidate's value at each grid point (rows: candidates)."""
    z = mean[idx, None] + sd[idx, None] * _GRID[None, :]
    out: np.ndarray = weight[idx, None] / (1.0 + np.exp(-np.clip(z, -700.0, 700.0)))
    return out


def _by_columns(mean: np.ndarray, sd: np.ndarray, weight: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Every column of every candidate (any spread, zero included)."""
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
    return out


def _by_blocks(mean: np.ndarray, sd: np.ndarray, weight: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The same integrals, top columns first (every spread positive): columns from
    ``_LOWS[0]`` up for every candidate, then down to the next of ``_LOWS`` for those whose
    bound does not hold yet."""
    grid = _Grid(mean, sd, weight, idx)
    high = _GRID.size
    active = np.arange(len(idx))
    with np.errstate(divide="ignore", invalid="ignore"):
        for low in _LOWS:
            cols = np.arange(low, high)
            grid.compute(np.repeat(active, cols.size), np.tile(cols, active.size))
            active = active[~grid.settled(active, low)]
            if not active.size:
                break
            high = low
    out: np.ndarray = grid.products @ _GRID_WEIGHTS
    return out


# where the integrals may stop (on a 200-action catalog: columns 24-35 for nearly every candidate)
_LOWS = (30, 22, 12, 0)


class _Grid:
    """The integrand of each candidate at the grid columns computed so far.

    In a column, the rivals whose factor is not exactly 1 are those whose *reach* (the value
    above which their CDF is 1.0 in double precision, ``z >= _SURE``, or their weight) is
    above the candidate's value: a prefix of the rivals sorted by reach."""

    def __init__(self, mean: np.ndarray, sd: np.ndarray, weight: np.ndarray, idx: np.ndarray) -> None:
        self.mean, self.weight, self.inv_sd = mean, weight, 1.0 / sd
        self.targets = _targets(mean, sd, weight, idx)
        upper = weight / (1.0 + np.exp(-np.clip(mean + _GRID[-1] * sd, -700.0, 700.0)))
        reach = np.minimum(weight / (1.0 + np.exp(-np.clip(mean + _SURE * sd, -700.0, 700.0))), weight)
        self.order = np.argsort(-reach, kind="stable")
        # rivals left out (factor 1): the candidate itself and, as in _by_columns, those that
        # cannot beat its lowest value on the grid
        self.left_out = (upper[self.order][None, :] <= self.targets[:, :1]) | (self.order[None, :] == idx[:, None])
        self.counts = len(mean) - np.searchsorted(reach[self.order][::-1], self.targets, side="right")
        self.products = np.zeros_like(self.targets)
        self.total = np.zeros(len(idx))

    def compute(self, rows: np.ndarray, cols: np.ndarray) -> None:
        """The integrand at the (candidate ``rows``, grid ``cols``) pairs: one flat array of
        cells, a pair's rivals in a run, multiplied per run."""
        n = self.counts[rows, cols]
        starts = np.cumsum(n) - n
        pair = np.repeat(np.arange(n.size), n)
        rank = np.arange(pair.size) - starts[pair]
        b = self.order[rank]
        t = self.targets[rows[pair], cols[pair]]
        factors = ndtr((np.log(t) - np.log(self.weight[b] - t) - self.mean[b]) * self.inv_sd[b])
        factors[self.left_out[rows[pair], rank]] = 1.0
        products = np.ones(n.size)
        some = n > 0
        if factors.size:
            products[some] = np.multiply.reduceat(factors, starts[some])
        self.products[rows, cols] = products
        self.total += np.bincount(rows, products * _GRID_WEIGHTS[cols], minlength=self.total.size)

    def settled(self, rows: np.ndarray, low: int) -> np.ndarray:
        """Whether the columns below ``low`` hold at most ``_TAIL`` of each integral (the
        integrand only grows with the column, so they hold at most its value at ``low`` times
        the grid's weight below)."""
        done: np.ndarray = self.products[rows, low] * _MASS_BELOW[low] <= _TAIL * self.total[rows]
        return done
