"""Off-policy evaluation: what would a new policy have earned, from another policy's logs?

Given logged decisions (context, candidates, chosen action, its logged propensity, reward)
and a target policy ``pi(a | x)``, the estimators are

- **IPS**: mean of ``w r`` with ``w = pi(a|x) / p``;
- **SNIPS**: ``sum(w r) / sum(w)`` (self-normalised: less variance, a little bias);
- **DR** (doubly robust): mean of ``sum_a pi(a|x) q(x,a) + w (r - q(x,a))`` with a reward
  model ``q`` fitted on the other fold (cross-fitting), unbiased if either part is right.

Each comes with a normal confidence interval (influence terms / delta method) and a seeded
percentile bootstrap interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Estimate:
    """One estimator's answer."""

    method: str
    value: float
    se: float
    ci_low: float
    ci_high: float
    boot_low: float
    boot_high: float
    n: int

    def covers(self, truth: float) -> bool:
        """Whether the normal 95% interval contains ``truth``."""
        return self.ci_low <= truth <= self.ci_high

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _bootstrap(statistic: Callable[[np.ndarray], float], n: int, rng: np.random.Generator,
               rounds: int) -> tuple[float, float]:
    values = np.array([statistic(rng.integers(0, n, n)) for _ in range(rounds)])
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def _from_terms(method: str, terms: np.ndarray, rng: np.random.Generator, rounds: int) -> Estimate:
    n = len(terms)
    value = float(terms.mean())
    se = float(terms.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    low, high = _bootstrap(lambda idx: float(terms[idx].mean()), n, rng, rounds)
    return Estimate(method, value, se, value - Z95 * se, value + Z95 * se, low, high, n)


def ips(rewards: np.ndarray, weights: np.ndarray, rng: np.random.Generator, rounds: int = 1000) -> Estimate:
    """Inverse propensity scoring.

    Examples
    --------
    >>> est = ips(np.array([1.0, 0.0, 1.0, 0.0]), np.array([2.0, 2.0, 0.0, 0.0]), np.random.default_rng(0))
    >>> est.value, est.n
    (0.5, 4)
    """
    return _from_terms("ips", weights * rewards, rng, rounds)


def snips(rewards: np.ndarray, weights: np.ndarray, rng: np.random.Generator, rounds: int = 1000) -> Estimate:
    """Self-normalised IPS, with a delta-method standard error.

    Examples
    --------
    >>> round(snips(np.array([1.0, 0.0, 1.0, 0.0]), np.array([2.0, 2.0, 0.0, 0.0]),
    ...             np.random.default_rng(0)).value, 6)
    0.5
    """
    n = len(rewards)
    mean_w = float(weights.mean())
    value = float((weights * rewards).sum() / weights.sum())
    terms = weights * (rewards - value) / mean_w
    se = float(terms.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")

    def stat(idx: np.ndarray) -> float:
        w = weights[idx]
        return float((w * rewards[idx]).sum() / w.sum()) if w.sum() > 0 else 0.0

    low, high = _bootstrap(stat, n, rng, rounds)
    return Estimate("snips", value, se, value - Z95 * se, value + Z95 * se, low, high, n)


def doubly_robust(rewards: np.ndarray, weights: np.ndarray, q_logged: np.ndarray, q_target: np.ndarray,
                  rng: np.random.Generator, rounds: int = 1000) -> Estimate:
    """Doubly robust: the reward model's value of the target policy, corrected by IPS residuals.

    ``q_logged[i]`` is the model's reward for the logged action, ``q_target[i]`` the model's
    expected reward under the target policy (``sum_a pi(a|x_i) q(x_i, a)``).

    Examples
    --------
    >>> r = np.array([1.0, 0.0]); w = np.array([1.0, 1.0])
    >>> doubly_robust(r, w, np.array([0.5, 0.5]), np.array([0.5, 0.5]), np.random.default_rng(0)).value
    0.5
    """
    return _from_terms("dr", q_target + weights * (rewards - q_logged), rng, rounds)


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of importance weights.

    Examples
    --------
    >>> effective_sample_size(np.ones(10))
    10.0
    """
    total = float(weights.sum())
    return total * total / float((weights * weights).sum()) if total > 0 else 0.0
