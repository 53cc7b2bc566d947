"""Online propensity models in River's shape, with a posterior for Thompson sampling.

Every model answers the same small interface (:class:`PropensityModel`): ``learn_one(x, y)``,
``predict_one(x)`` (a probability), ``posterior(x)`` (a Gaussian over the logit: mean and
standard deviation), ``sample_one(x, rng)`` (one posterior draw) and ``to_state()`` /
``from_state()`` (plain JSON). Randomness is always passed in (``numpy.random.Generator``).

- :class:`BayesLogit` is a Bayesian logistic regression with a diagonal Gaussian posterior,
  updated one example at a time by a Laplace step (Chapelle & Li 2011, "An Empirical Evaluation
  of Thompson Sampling", algorithm 3, applied online). Features are hashed.
- :class:`RiverLogit` wraps ``river.linear_model.LogisticRegression`` (SGD); its posterior spread
  comes from a diagonal Fisher-information tracker over the same hashed features.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar, Protocol

import numpy as np

Features = Mapping[str, float]
BIAS = "__bias__"


def sigmoid(z: float) -> float:
    """The logistic function, safe for large ``|z|``.

    Examples
    --------
    >>> sigmoid(0.0)
    0.5
    >>> round(sigmoid(40.0), 6), round(sigmoid(-40.0), 6)
    (1.0, 0.0)
    """
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@lru_cache(maxsize=65536)
def _bucket(key: str, dim: int) -> int:
    return zlib.crc32(key.encode()) % dim


def hashed(x: Features, dim: int) -> dict[int, float]:
    """Hash feature names into ``dim`` buckets (the bias always included), summing collisions.

    Examples
    --------
    >>> h = hashed({"segment=young": 1.0}, 1024)
    >>> len(h), h[_bucket("__bias__", 1024)]
    (2, 1.0)
    """
    out: dict[int, float] = {_bucket(BIAS, dim): 1.0}
    for key, value in x.items():
        if value:
            i = _bucket(key, dim)
            out[i] = out.get(i, 0.0) + float(value)
    return out


class PropensityModel(Protocol):
    """What the bank and the policies need from a model."""

    kind: ClassVar[str]

    @property
    def n_seen(self) -> int: ...

    def learn_one(self, x: Features, y: bool | float) -> None: ...
    def predict_one(self, x: Features) -> float: ...
    def posterior(self, x: Features) -> tuple[float, float]: ...
    def sample_one(self, x: Features, rng: np.random.Generator) -> float: ...
    def to_state(self) -> dict[str, Any]: ...


class _DiagonalGaussian:
    """Mean and precision per hashed weight; the part both models share."""

    def __init__(self, dim: int, prior_precision: float, prior_bias: float) -> None:
        self.dim = dim
        self.prior_precision = prior_precision
        self.prior_bias = prior_bias
        self.mean: dict[int, float] = {}
        self.precision: dict[int, float] = {}
        self.n_seen = 0
        self._bias_i = _bucket(BIAS, dim)

    def _m(self, i: int) -> float:
        return self.mean.get(i, self.prior_bias if i == self._bias_i else 0.0)

    def _q(self, i: int) -> float:
        return self.precision.get(i, self.prior_precision)

    def spread(self, h: Mapping[int, float]) -> float:
        """Standard deviation of the logit ``w·x`` under the posterior."""
        return math.sqrt(sum(v * v / self._q(i) for i, v in h.items()))

    def logit(self, h: Mapping[int, float]) -> float:
        return sum(self._m(i) * v for i, v in h.items())

    def laplace_step(self, h: Mapping[int, float], y: float) -> None:
        """One online Laplace update for one example.

        The likelihood touches the weights only through the logit ``z = w·x``, so the new mode
        moves along ``x / q``: solve ``dz = s (y - sigmoid(z0 + dz))`` with ``s = sum x²/q``
        (a few Newton steps), move the means by ``dz / s · x / q``, then add the curvature
        ``p(1-p) x²`` at the new mode to the precisions (the diagonal Laplace of Chapelle & Li).
        """
        z0 = self.logit(h)
        s = sum(v * v / self._q(i) for i, v in h.items())
        if s <= 0.0:
            return
        dz = 0.0
        for _ in range(6):
            p = sigmoid(z0 + dz)
            dz -= (dz - s * (y - p)) / (1.0 + s * p * (1.0 - p))
        p = sigmoid(z0 + dz)
        curvature = max(p * (1.0 - p), 1e-6)
        step = dz / s
        for i, v in h.items():
            q = self._q(i)
            self.mean[i] = self._m(i) + step * v / q
            self.precision[i] = q + curvature * v * v
        self.n_seen += 1

    def state(self) -> dict[str, Any]:
        return {
            "dim": self.dim, "prior_precision": self.prior_precision, "prior_bias": self.prior_bias,
            "n_seen": self.n_seen,
            "mean": {str(i): m for i, m in self.mean.items()},
            "precision": {str(i): q for i, q in self.precision.items()},
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        self.n_seen = int(state["n_seen"])
        self.mean = {int(i): float(m) for i, m in state["mean"].items()}
        self.precision = {int(i): float(q) for i, q in state["precision"].items()}


class BayesLogit:
    """Bayesian online logistic regression with a diagonal Laplace posterior.

    Parameters
    ----------
    dim
        Number of hash buckets for the features.
    prior_precision
        Precision (1/variance) of the Gaussian prior on each weight.
    prior_bias
        Prior mean of the bias weight (a logit: -3 is about a 5% base rate).

    Examples
    --------
    >>> m = BayesLogit()
    >>> for _ in range(200):
    ...     m.learn_one({"likes": 1.0}, True)
    ...     m.learn_one({"dislikes": 1.0}, False)
    >>> m.predict_one({"likes": 1.0}) > 0.8 > 0.2 > m.predict_one({"dislikes": 1.0})
    True
    """

    kind: ClassVar[str] = "bayes_logit"

    def __init__(self, dim: int = 4096, prior_precision: float = 1.0, prior_bias: float = -3.0) -> None:
        self._g = _DiagonalGaussian(dim, prior_precision, prior_bias)

    @property
    def n_seen(self) -> int:
        return self._g.n_seen

    def learn_one(self, x: Features, y: bool | float) -> None:
        self._g.laplace_step(hashed(x, self._g.dim), float(y))

    def posterior(self, x: Features) -> tuple[float, float]:
        h = hashed(x, self._g.dim)
        return self._g.logit(h), self._g.spread(h)

    def predict_one(self, x: Features) -> float:
        return sigmoid(self._g.logit(hashed(x, self._g.dim)))

    def sample_one(self, x: Features, rng: np.random.Generator) -> float:
        mu, sd = self.posterior(x)
        return sigmoid(mu + sd * float(rng.standard_normal()))

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, **self._g.state()}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> BayesLogit:
        model = cls(int(state["dim"]), float(state["prior_precision"]), float(state["prior_bias"]))
        model._g.restore(state)
        return model


class RiverLogit:
    """``river.linear_model.LogisticRegression`` behind the same interface.

    River's SGD gives the point estimate (the mean logit); a diagonal Fisher-information
    tracker over hashed features gives the spread used for posterior draws.

    Examples
    --------
    >>> m = RiverLogit()
    >>> for _ in range(300):
    ...     m.learn_one({"likes": 1.0}, True)
    ...     m.learn_one({"dislikes": 1.0}, False)
    >>> m.predict_one({"likes": 1.0}) > 0.5 > m.predict_one({"dislikes": 1.0})
    True
    """

    kind: ClassVar[str] = "river_logit"

    def __init__(self, lr: float = 0.1, l2: float = 0.0, dim: int = 4096, prior_bias: float = -3.0) -> None:
        from river import linear_model, optim  # imported here: river (and scipy.stats) take ~2 s to import

        self.lr = lr
        self.l2 = l2
        self._model = linear_model.LogisticRegression(optimizer=optim.SGD(lr), l2=l2,
                                                      intercept_init=prior_bias, intercept_lr=lr)
        self._fisher = _DiagonalGaussian(dim, 1.0, prior_bias)

    @property
    def n_seen(self) -> int:
        return self._fisher.n_seen

    def learn_one(self, x: Features, y: bool | float) -> None:
        self._model.learn_one(dict(x), bool(y))
        h = hashed(x, self._fisher.dim)
        p = self.predict_one(x)
        curvature = max(p * (1.0 - p), 1e-6)
        for i, v in h.items():
            self._fisher.precision[i] = self._fisher._q(i) + curvature * v * v
        self._fisher.n_seen += 1

    def _logit(self, x: Features) -> float:
        w = self._model._weights
        return float(self._model.intercept) + float(sum(w.get(k, 0.0) * v for k, v in x.items()))

    def posterior(self, x: Features) -> tuple[float, float]:
        return self._logit(x), self._fisher.spread(hashed(x, self._fisher.dim))

    def predict_one(self, x: Features) -> float:
        return sigmoid(self._logit(x))

    def sample_one(self, x: Features, rng: np.random.Generator) -> float:
        mu, sd = self.posterior(x)
        return sigmoid(mu + sd * float(rng.standard_normal()))

    def to_state(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "lr": self.lr, "l2": self.l2,
            "weights": {k: float(v) for k, v in self._model._weights.to_dict().items()},
            "intercept": float(self._model.intercept),
            "iterations": int(self._model.optimizer.n_iterations),
            "fisher": self._fisher.state(),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> RiverLogit:
        from river.utils import VectorDict

        fisher = state["fisher"]
        model = cls(float(state["lr"]), float(state["l2"]), int(fisher["dim"]), float(fisher["prior_bias"]))
        model._model._weights = VectorDict(dict(state["weights"]))
        model._model.intercept = float(state["intercept"])
        model._model.optimizer.n_iterations = int(state["iterations"])
        model._fisher.restore(fisher)
        return model


MODEL_KINDS: dict[str, type[BayesLogit] | type[RiverLogit]] = {
    BayesLogit.kind: BayesLogit,
    RiverLogit.kind: RiverLogit,
}


def model_from_state(state: Mapping[str, Any]) -> PropensityModel:
    """Rebuild any model from its ``to_state()``.

    Examples
    --------
    >>> m = BayesLogit(); m.learn_one({"a": 1.0}, True)
    >>> model_from_state(m.to_state()).predict_one({"a": 1.0}) == m.predict_one({"a": 1.0})
    True
    """
    model: PropensityModel = MODEL_KINDS[str(state["kind"])].from_state(state)
    return model
