"""Exploration and arbitration policies around the models (never inside them).

A policy gets the candidates of one decision, each :class:`Scored` with its posterior over
the response logit (from a model's ``posterior(x)``), a weight (value × levers × context
weight: the score is ``p × weight``) and a non-personalised baseline score. It returns a
:class:`Choice`: the ranking, the probability that each candidate would be ranked first by
this policy (logged for off-policy evaluation) and whether this decision fell in the random
control group, which receives the baseline ranking (for uplift measurement).

The propensities are those of the whole policy, control group included:
``(1 - control_rate) * P(policy ranks a first) + control_rate * [a is the baseline's first]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from bestnext.decisions.learning.thompson import first_place

DEFAULT_CONTROL_RATE = 0.02


@dataclass(slots=True)  # not frozen: built for every candidate of every decision (frozen is 10x slower)
class Scored:
    """One candidate: a key (e.g. ``"offer_pension_fund/email"``) and what the policy needs."""

    key: str
    mean: float
    sd: float = 0.0
    weight: float = 1.0
    baseline: float = 0.0


@dataclass(frozen=True, slots=True)
class Choice:
    """The outcome of a policy: keys best first, first-place probabilities (of every
    candidate, or at least of the chosen one), the control flag and the sampled ``p``."""

    ranked: list[str]
    propensities: dict[str, float]
    control: bool
    sampled: dict[str, float]

    @property
    def chosen(self) -> str | None:
        return self.ranked[0] if self.ranked else None

    @property
    def propensity(self) -> float:
        """Probability that the chosen candidate would have been chosen (1.0 if none)."""
        return self.propensities[self.ranked[0]] if self.ranked else 1.0


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))
    return out


def _arrays(scored: Sequence[Scored]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = np.fromiter((s.mean for s in scored), float, len(scored))
    sd = np.fromiter((s.sd for s in scored), float, len(scored))
    weight = np.fromiter((s.weight for s in scored), float, len(scored))
    return mean, sd, weight


def _order(values: np.ndarray) -> list[int]:
    order: list[int] = np.argsort(-values, kind="stable").tolist()
    return order


class Policy(Protocol):
    """What every policy offers."""

    name: ClassVar[str]

    def choose(self, scored: Sequence[Scored], rng: np.random.Generator,
               control_rate: float = DEFAULT_CONTROL_RATE) -> Choice: ...


class _Base:
    name: ClassVar[str] = "base"

    def _personalised(self, mean: np.ndarray, sd: np.ndarray, weight: np.ndarray, rng: np.random.Generator,
                      base: int) -> tuple[list[int], np.ndarray, np.ndarray]:
        """(order, first-place probabilities, sampled p) of the personalised policy; ``base`` is
        the baseline's first candidate (whose probability is needed too)."""
        raise NotImplementedError

    def choose(self, scored: Sequence[Scored], rng: np.random.Generator,
               control_rate: float = DEFAULT_CONTROL_RATE) -> Choice:
        """Rank ``scored``; a ``control_rate`` share of decisions gets the baseline ranking."""
        if not scored:
            return Choice([], {}, False, {})
        mean, sd, weight = _arrays(scored)
        baseline = np.fromiter((s.baseline for s in scored), float, len(scored))
        return self.choose_arrays([s.key for s in scored], mean, sd, weight, baseline, rng, control_rate)

    def choose_arrays(self, keys: list[str], mean: np.ndarray, sd: np.ndarray, weight: np.ndarray,
                      baseline: np.ndarray, rng: np.random.Generator,
                      control_rate: float = DEFAULT_CONTROL_RATE, head: int | None = None) -> Choice:
        """:meth:`choose` on the candidates' fields as arrays (what arbitration has at hand);
        with ``head``, the ranking and the sampled ``p`` only of the first ``head`` (the same
        draws: the rest of the choice is unchanged)."""
        if not keys:
            return Choice([], {}, False, {})
        base = _order(baseline)[0]
        order, first, sampled = self._personalised(mean, sd, weight, rng, base)
        probs = (1.0 - control_rate) * first
        probs[base] += control_rate  # NaN stays NaN: not computed (see ThompsonPolicy)
        control = bool(rng.random() < control_rate)
        if control:
            order = _order(baseline)
        known = np.flatnonzero(probs == probs)  # NaN: not computed
        shown = order if head is None else order[:head]
        return Choice(
            ranked=[keys[i] for i in shown],
            propensities={keys[i]: p for i, p in zip(known.tolist(), probs[known].tolist(), strict=True)},
            control=control,
            sampled=dict(zip(keys, sampled.tolist(), strict=True)) if head is None
            else {keys[i]: float(sampled[i]) for i in shown},
        )


class ThompsonPolicy(_Base):
    """Thompson sampling: rank by ``weight × p`` with ``p`` drawn from each posterior.

    Parameters
    ----------
    exploration
        Scales the posterior spread (Chapelle & Li 2011 found a smaller one often better: a
        diagonal posterior overstates the uncertainty of a sum of correlated weights).
    floor
        Share of decisions whose first place is uniformly random, so that the logs support
        any target policy in off-policy evaluation (0 by default).
    propensities
        ``"all"``: the exact first-place probability of every candidate (cost grows with the
        square of the candidates); ``"chosen"``: only the chosen one's (linear; enough for
        logs); ``"auto"`` (default): all up to ``all_limit`` candidates, else the first
        ``top`` of the ranking. The baseline's first candidate is always included.

    The probabilities are exact (numerical integration, :mod:`.thompson`), not Monte-Carlo.

    Examples
    --------
    >>> rng = np.random.default_rng(7)
    >>> c = ThompsonPolicy().choose([Scored("a", 2.0, 0.1), Scored("b", -2.0, 0.1)], rng, 0.0)
    >>> c.ranked, {k: round(v, 6) for k, v in c.propensities.items()}
    (['a', 'b'], {'a': 1.0, 'b': 0.0})
    """

    name: ClassVar[str] = "thompson"

    def __init__(self, exploration: float = 1.0, floor: float = 0.0, propensities: str = "auto",
                 all_limit: int = 16, top: int = 3) -> None:
        if propensities not in ("all", "chosen", "auto"):
            raise ValueError("propensities must be 'all', 'chosen' or 'auto'")
        self.exploration = exploration
        self.floor = floor
        self.which = propensities
        self.all_limit = all_limit
        self.top = top

    def _personalised(self, mean: np.ndarray, sd: np.ndarray, weight: np.ndarray, rng: np.random.Generator,
                      base: int) -> tuple[list[int], np.ndarray, np.ndarray]:
        sd = sd * self.exploration
        k = len(mean)
        sampled = _sigmoid(mean + sd * rng.standard_normal(k))
        order = _order(sampled * weight)
        if self.floor and rng.random() < self.floor:
            pick = int(rng.integers(k))
            order = [pick, *[i for i in order if i != pick]]
        weight = np.maximum(weight, 1e-12)
        if self.which == "all" or (self.which == "auto" and k <= self.all_limit):
            first = first_place(mean, sd, weight)
        else:
            first = np.full(k, np.nan)
            head = order[:1] if self.which == "chosen" else order[:self.top]
            needed = np.array(sorted({*head, base}))
            first[needed] = first_place(mean, sd, weight, needed)
        return order, (1.0 - self.floor) * first + self.floor / k, sampled


class GreedyPolicy(_Base):
    """Rank by ``weight × p_mean`` (no exploration besides the control group).

    Examples
    --------
    >>> GreedyPolicy().choose([Scored("a", 0.0), Scored("b", 1.0)], np.random.default_rng(1), 0.0).ranked
    ['b', 'a']
    """

    name: ClassVar[str] = "greedy"

    def _personalised(self, mean: np.ndarray, sd: np.ndarray, weight: np.ndarray, rng: np.random.Generator,
                      base: int) -> tuple[list[int], np.ndarray, np.ndarray]:
        p = _sigmoid(mean)
        order = _order(p * weight)
        first = np.zeros(len(mean))
        first[order[0]] = 1.0
        return order, first, p


class EpsilonGreedyPolicy(_Base):
    """Greedy, except that with probability ``epsilon`` the first place is uniformly random.

    Examples
    --------
    >>> c = EpsilonGreedyPolicy(0.5).choose([Scored("a", 0.0), Scored("b", 1.0)],
    ...                                     np.random.default_rng(1), 0.0)
    >>> c.propensities
    {'a': 0.25, 'b': 0.75}
    """

    name: ClassVar[str] = "epsilon_greedy"

    def __init__(self, epsilon: float = 0.05) -> None:
        self.epsilon = epsilon

    def _personalised(self, mean: np.ndarray, sd: np.ndarray, weight: np.ndarray, rng: np.random.Generator,
                      base: int) -> tuple[list[int], np.ndarray, np.ndarray]:
        order, first, p = GreedyPolicy()._personalised(mean, sd, weight, rng, base)
        k = len(mean)
        first = (1.0 - self.epsilon) * first + self.epsilon / k
        if rng.random() < self.epsilon:
            pick = int(rng.integers(k))
            order = [pick, *[i for i in order if i != pick]]
        return order, first, p


class UniformPolicy(_Base):
    """Uniformly random ranking (the logging policy of a randomised experiment).

    Examples
    --------
    >>> UniformPolicy().choose([Scored("a", 0.0), Scored("b", 1.0)], np.random.default_rng(1), 0.0).propensities
    {'a': 0.5, 'b': 0.5}
    """

    name: ClassVar[str] = "uniform"

    def _personalised(self, mean: np.ndarray, sd: np.ndarray, weight: np.ndarray, rng: np.random.Generator,
                      base: int) -> tuple[list[int], np.ndarray, np.ndarray]:
        k = len(mean)
        return [int(i) for i in rng.permutation(k)], np.full(k, 1.0 / k), _sigmoid(mean)


POLICIES: dict[str, type[_Base]] = {
    p.name: p for p in (ThompsonPolicy, GreedyPolicy, EpsilonGreedyPolicy, UniformPolicy)
}

_DEFAULT = ThompsonPolicy()


def choose(scored: Sequence[Scored], rng: np.random.Generator,
           control_rate: float = DEFAULT_CONTROL_RATE) -> Choice:
    """Thompson sampling with a random control group: the policy bestnext uses.

    Examples
    --------
    >>> c = choose([Scored("a", 0.0, 1.0, baseline=1.0), Scored("b", 0.0, 1.0)],
    ...            np.random.default_rng(3), control_rate=0.02)
    >>> round(sum(c.propensities.values()), 9)
    1.0
    """
    return _DEFAULT.choose(scored, rng, control_rate)


def choose_arrays(keys: list[str], mean: np.ndarray, sd: np.ndarray, weight: np.ndarray, baseline: np.ndarray,
                  rng: np.random.Generator, control_rate: float = DEFAULT_CONTROL_RATE,
                  head: int | None = None) -> Choice:
    """:func:`choose` on the candidates' fields as arrays (the same choice, the same draws)."""
    return _DEFAULT.choose_arrays(keys, mean, sd, weight, baseline, rng, control_rate, head)
