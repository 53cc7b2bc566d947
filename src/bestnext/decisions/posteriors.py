"""Posteriors of many (action, channel) models at once, for fast arbitration.

A decision over a large catalog asks hundreds of models for their posterior on the same
person. :class:`PosteriorTable` keeps the learning half's ``BayesLogit`` models (through their
public ``to_state()``) as dense rows of weight means and variances, so that one decision is a
few small matrix products instead of hundreds of Python loops. Models of other kinds are
asked one by one; models never trained answer with their prior.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bestnext.decisions.learning.bank import ModelBank
from bestnext.decisions.learning.features import drop_behavioural
from bestnext.decisions.learning.models import BIAS, BayesLogit, _bucket, hashed

Key = tuple[str, str]


class PosteriorTable:
    """Dense copies of a bank's Bayesian logit models (refresh a key after it learns).

    Examples
    --------
    >>> bank = ModelBank()
    >>> for _ in range(50):
    ...     bank.learn("a", "email", {"x": 1.0, "ctx:channel=email": 1.0}, True)
    >>> table = PosteriorTable(bank)
    >>> mu, sd = table.posteriors([("a", "email"), ("b", "email")], {"x": 1.0}, True)
    >>> expected = bank.model("a", "email").posterior({"x": 1.0, "ctx:channel=email": 1.0})
    >>> bool(np.allclose([mu[0], sd[0]], expected, rtol=1e-5)), mu[1] < mu[0]
    (True, True)
    """

    def __init__(self, bank: ModelBank) -> None:
        self.bank = bank
        prior = BayesLogit()._g
        self.dim, self.prior_bias, self.prior_precision = prior.dim, prior.prior_bias, prior.prior_precision
        self.bias = _bucket(BIAS, self.dim)
        self.rows: dict[Key, int] = {}
        # float32 rows: 2 x 16 KiB per trained model with the default 4096 buckets
        self.mean = np.zeros((0, self.dim), dtype=np.float32)
        self.var = np.zeros((0, self.dim), dtype=np.float32)
        for key in list(bank.models):
            self.refresh(key)

    def refresh(self, key: Key) -> None:
        """Copy the bank's current model for ``key`` (call after it learns)."""
        model = self.bank.models.get(key)
        if model is None:
            return
        state: dict[str, Any] = model.to_state()
        if state.get("kind") != BayesLogit.kind or int(state["dim"]) != self.dim \
                or float(state["prior_bias"]) != self.prior_bias \
                or float(state["prior_precision"]) != self.prior_precision:
            self.rows.pop(key, None)  # asked one by one
            return
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = len(self.rows)
            if row >= len(self.mean):
                grow = max(16, len(self.mean))
                self.mean = np.vstack([self.mean, np.zeros((grow, self.dim), dtype=np.float32)])
                self.var = np.vstack([self.var, np.zeros((grow, self.dim), dtype=np.float32)])
        self.mean[row] = 0.0
        self.mean[row, self.bias] = self.prior_bias
        self.var[row] = 1.0 / self.prior_precision
        for i, m in state["mean"].items():
            self.mean[row, int(i)] = float(m)
        for i, q in state["precision"].items():
            self.var[row, int(i)] = 1.0 / float(q)

    def posteriors(self, pairs: Sequence[Key], features: Mapping[str, float],
                   profiling: bool) -> tuple[list[float], list[float]]:
        """Mean and standard deviation of the logit of each ``(action, channel)`` model, for
        ``features`` plus the channel feature ``ctx:channel=<channel>`` (as the bank learns them)."""
        base = drop_behavioural(features, profiling)
        mu = np.zeros(len(pairs))
        var = np.zeros(len(pairs))
        by_channel: dict[str, list[int]] = {}
        for n, (_, channel) in enumerate(pairs):
            by_channel.setdefault(channel, []).append(n)
        for channel, members in by_channel.items():
            x = {**base, f"ctx:channel={channel}": 1.0}
            h = hashed(x, self.dim)
            idx = np.array(list(h.keys()), dtype=np.intp)
            v = np.array(list(h.values()), dtype=np.float32)
            dense: list[int] = []
            slow: list[int] = []
            for n in members:
                (dense if pairs[n] in self.rows else slow).append(n)
            if dense:
                rows = np.array([self.rows[pairs[n]] for n in dense], dtype=np.intp)
                mu[dense] = self.mean[np.ix_(rows, idx)] @ v
                var[dense] = self.var[np.ix_(rows, idx)] @ (v * v)
            for n in slow:
                model = self.bank.models.get(pairs[n])
                if model is None:
                    mu[n] = self.prior_bias * h.get(self.bias, 0.0)
                    var[n] = float(v @ v) / self.prior_precision
                else:
                    m, s = model.posterior(x)
                    mu[n], var[n] = m, s * s
        return mu.tolist(), np.sqrt(var).tolist()


__all__ = ["PosteriorTable"]
