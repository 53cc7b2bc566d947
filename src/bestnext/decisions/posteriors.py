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
_Group = tuple[str, "np.ndarray[Any, np.dtype[np.intp]]", "np.ndarray[Any, np.dtype[np.intp]]",
               "np.ndarray[Any, np.dtype[np.intp]]", list[int]]


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
        self._plans: dict[tuple[Key, ...], list[_Group]] = {}
        self._by_id: dict[int, tuple[Sequence[Key], list[_Group]]] = {}
        self._count = -1  # models in the bank when the plans were made
        self._next_row = 0
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
            if self.rows.pop(key, None) is not None:  # asked one by one from now on
                self._plans.clear()
                self._by_id.clear()
            return
        row = self.rows.get(key)
        if row is None:
            self._plans.clear()
            self._by_id.clear()
            row = self.rows[key] = self._next_row
            self._next_row += 1
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

    def _plan(self, pairs: Sequence[Key]) -> list[_Group]:
        """Per channel: positions of dense pairs with their rows, and the other positions
        (cached: a catalog asks for the same pairs again and again; the same list object is
        found by identity, without hashing its pairs)."""
        if len(self.bank.models) != self._count:  # a model was added (refreshed or not)
            self._count = len(self.bank.models)
            self._plans.clear()
            self._by_id.clear()
        same = self._by_id.get(id(pairs))
        if same is not None and same[0] is pairs:
            return same[1]
        key = tuple(pairs)
        plan = self._plans.get(key)
        if plan is not None:
            self._by_id[id(pairs)] = (pairs, plan)
            return plan
        by_channel: dict[str, tuple[list[int], list[int], list[int], list[int]]] = {}
        models = self.bank.models
        for n, pair in enumerate(pairs):
            dense, rows, untrained, others = by_channel.setdefault(pair[1], ([], [], [], []))
            row = self.rows.get(pair)
            if row is not None:
                dense.append(n)
                rows.append(row)
            else:
                (others if pair in models else untrained).append(n)
        plan = [(channel, np.array(dense, dtype=np.intp), np.array(rows, dtype=np.intp)[:, None],
                 np.array(untrained, dtype=np.intp), others)
                for channel, (dense, rows, untrained, others) in by_channel.items()]
        if len(self._plans) >= 256:
            self._plans.clear()
            self._by_id.clear()
        self._plans[key] = plan
        self._by_id[id(pairs)] = (pairs, plan)
        return plan

    def posteriors(self, pairs: Sequence[Key], features: Mapping[str, float],
                   profiling: bool) -> tuple[list[float], list[float]]:
        """Mean and standard deviation of the logit of each ``(action, channel)`` model, for
        ``features`` plus the channel feature ``ctx:channel=<channel>`` (as the bank learns them)."""
        mu, sd = self.posterior_arrays(pairs, features, profiling)
        return mu.tolist(), sd.tolist()

    def posterior_arrays(self, pairs: Sequence[Key], features: Mapping[str, float],
                         profiling: bool) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`posteriors` as arrays."""
        base = drop_behavioural(features, profiling)
        mu = np.zeros(len(pairs))
        var = np.zeros(len(pairs))
        hashed_base = hashed(base, self.dim)
        for channel, dense, rows, untrained, others in self._plan(pairs):
            name = f"ctx:channel={channel}"
            x = {**base, name: 1.0}
            if name in base:
                h = hashed(x, self.dim)
            else:  # hashed(x): the base's buckets, then the channel's (x lists it last)
                h = dict(hashed_base)
                c = _bucket(name, self.dim)
                h[c] = h.get(c, 0.0) + 1.0
            idx = np.fromiter(h.keys(), dtype=np.intp, count=len(h))
            v = np.fromiter(h.values(), dtype=np.float32, count=len(h))
            if len(dense):
                # summed in double precision: a cell's value does not depend on how many are asked
                v64 = v.astype(np.float64)
                mu[dense] = self.mean[rows, idx].astype(np.float64) @ v64
                var[dense] = self.var[rows, idx].astype(np.float64) @ (v64 * v64)
            if len(untrained):  # the prior: the same for every untrained model on a channel
                mu[untrained] = self.prior_bias * h.get(self.bias, 0.0)
                var[untrained] = float(v @ v) / self.prior_precision
            for n in others:  # models of other kinds, one by one
                m, s = self.bank.models[pairs[n]].posterior(x)
                mu[n], var[n] = m, s * s
        return mu, np.sqrt(var)


__all__ = ["PosteriorTable"]
