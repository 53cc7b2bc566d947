"""The policies the simulator compares: oracle, random, static rules, Vowpal Wabbit, bestnext.

Every agent answers ``act(persons, contexts, eligible, rng) -> (arms, propensities)`` for one
day's decisions and ``learn(contexts, arms, rewards)`` with the day's outcomes. ``contexts``
are the features the bank may use for each person (behavioural ones only with profiling).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from bestnext.decisions.learning.bank import ModelBank
from bestnext.decisions.learning.models import BayesLogit
from bestnext.decisions.learning.policies import ThompsonPolicy
from bestnext.decisions.learning.simulation.world import ACTIONS, ARMS, CHANNELS, World

Contexts = Sequence[dict[str, float]]
ARM_KEYS = [f"{ACTIONS[a]}/{CHANNELS[c]}" for a, c in ARMS]
ARM_INDEX = {key: k for k, key in enumerate(ARM_KEYS)}


class Agent(Protocol):
    name: str

    def act(self, persons: np.ndarray, contexts: Contexts, eligible: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]: ...
    def learn(self, contexts: Contexts, arms: np.ndarray, rewards: np.ndarray) -> None: ...


class Oracle:
    """Knows the true rates and always makes the best eligible offer."""

    name = "oracle"

    def __init__(self, world: World) -> None:
        self.world = world

    def act(self, persons: np.ndarray, contexts: Contexts, eligible: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        rates = np.where(eligible, self.world.true_rates(persons), -1.0)
        return np.argmax(rates, axis=1), np.ones(len(persons))

    def learn(self, contexts: Contexts, arms: np.ndarray, rewards: np.ndarray) -> None:
        return None


class RandomAgent:
    """Any eligible offer on any channel, uniformly."""

    name = "random"

    def act(self, persons: np.ndarray, contexts: Contexts, eligible: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        scores = np.where(eligible, rng.random(eligible.shape), -1.0)
        return np.argmax(scores, axis=1), 1.0 / eligible.sum(axis=1)

    def learn(self, contexts: Contexts, arms: np.ndarray, rewards: np.ndarray) -> None:
        return None


# A marketer's table: life stage -> products in priority order.
STATIC_RULES: dict[str, tuple[str, ...]] = {
    "student": ("offer_prepaid_card", "offer_current_account"),
    "single": ("offer_current_account", "offer_prepaid_card", "offer_pension_fund"),
    "young_family": ("offer_family_mortgage", "offer_savings_junior", "offer_current_account"),
    "established": ("offer_pension_fund", "offer_savings_junior", "offer_current_account"),
    "retired": ("offer_pension_fund", "offer_current_account"),
}


def static_choice(context: dict[str, float], eligible: Sequence[bool]) -> int:
    """The static rules' arm for a context: the stage's first eligible product, on email
    for digital people (or the young, when the habit is unknown) and in the branch otherwise.

    Examples
    --------
    >>> static_choice({"stage=student": 1.0, "age=18-29": 1.0}, [True] * 25) == ARM_INDEX[
    ...     "offer_prepaid_card/email"]
    True
    """
    stage = next((k.split("=", 1)[1] for k in context if k.startswith("stage=")), "single")
    digital = context.get("prefers=digital", 0.0) > 0 or (
        "prefers=traditional" not in context and ("age=18-29" in context or "age=30-49" in context))
    channel = "email" if digital else "branch"
    for action in (*STATIC_RULES[stage], *ACTIONS):
        for ch in (channel, *CHANNELS):
            k = ARM_INDEX[f"{action}/{ch}"]
            if eligible[k]:
                return k
    raise ValueError("no eligible arm")


class StaticRules:
    """A marketer's segment → product table (no learning)."""

    name = "static rules"

    def act(self, persons: np.ndarray, contexts: Contexts, eligible: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        arms = np.array([static_choice(x, e) for x, e in zip(contexts, eligible, strict=True)], int)
        return arms, np.ones(len(persons))

    def learn(self, contexts: Contexts, arms: np.ndarray, rewards: np.ndarray) -> None:
        return None


class Bestnext:
    """bestnext: a pooled ModelBank (Bayesian logistic regression on features crossed with the
    action, the channel and the pair), Thompson sampling (with a 1% uniform floor so that its
    logs support off-policy evaluation of any policy), and a 2% control group that gets the
    non-personalised baseline: the arm with the best take-up rate over everyone so far."""

    name = "bestnext"

    def __init__(self, control_rate: float = 0.02, exploration: float = 0.5, floor: float = 0.01,
                 prior_precision: float = 3.0, pooled: bool = True, arm_scale: float = 0.3) -> None:
        dim = 8192 if pooled else 1024
        self.bank = ModelBank(lambda: BayesLogit(dim=dim, prior_precision=prior_precision, prior_bias=-4.0),
                              pooled=pooled, arm_scale=arm_scale)
        self.policy = ThompsonPolicy(exploration, floor, propensities="chosen")
        self.control_rate = control_rate
        self.taken = np.zeros(len(ARMS))
        self.offered = np.zeros(len(ARMS))

    def act(self, persons: np.ndarray, contexts: Contexts, eligible: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        arms = np.empty(len(persons), int)
        props = np.empty(len(persons))
        baseline = (self.taken + 1.0) / (self.offered + 20.0)
        for i, (x, ok) in enumerate(zip(contexts, eligible, strict=True)):
            scored = [self.bank.scored(ACTIONS[ARMS[k][0]], CHANNELS[ARMS[k][1]], x,
                                       baseline=float(baseline[k])) for k in np.flatnonzero(ok)]
            choice = self.policy.choose(scored, rng, self.control_rate)
            arms[i] = ARM_INDEX[choice.ranked[0]]
            props[i] = choice.propensity
        return arms, props

    def learn(self, contexts: Contexts, arms: np.ndarray, rewards: np.ndarray) -> None:
        for x, k, r in zip(contexts, arms, rewards, strict=True):
            a, c = ARMS[k]
            self.bank.learn(ACTIONS[a], CHANNELS[c], x, bool(r))
        np.add.at(self.offered, arms, 1.0)
        np.add.at(self.taken, arms, rewards.astype(float))


def _vw_line(x: dict[str, float]) -> str:
    return " ".join(k.replace(":", "_").replace("|", "_").replace(" ", "_") for k in x)


class VowpalWabbit:
    """Vowpal Wabbit's contextual bandit with action-dependent features (``cb_explore_adf``,
    epsilon-greedy exploration, user × arm quadratic features)."""

    name = "vowpal wabbit"

    def __init__(self, seed: int, epsilon: float = 0.05) -> None:
        import vowpalwabbit

        self.vw = vowpalwabbit.Workspace(
            f"--cb_explore_adf --epsilon {epsilon} -q ua --quiet --random_seed {seed}")
        self._pending: list[tuple[list[str], int, float]] = []

    def act(self, persons: np.ndarray, contexts: Contexts, eligible: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        arms = np.empty(len(persons), int)
        props = np.empty(len(persons))
        self._pending = []
        for i, (x, ok) in enumerate(zip(contexts, eligible, strict=True)):
            candidates = [int(k) for k in np.flatnonzero(ok)]
            lines = [f"shared |u {_vw_line(x)}"] + [
                f"|a arm={ARM_KEYS[k]} action={ACTIONS[ARMS[k][0]]} channel={CHANNELS[ARMS[k][1]]}"
                for k in candidates]
            pmf = np.asarray(self.vw.predict(lines), float)
            pmf = pmf / pmf.sum()
            j = int(rng.choice(len(candidates), p=pmf))
            arms[i], props[i] = candidates[j], pmf[j]
            self._pending.append((lines, j, float(pmf[j])))
        return arms, props

    def learn(self, contexts: Contexts, arms: np.ndarray, rewards: np.ndarray) -> None:
        for (lines, j, p), r in zip(self._pending, rewards, strict=True):
            labelled = list(lines)
            labelled[j + 1] = f"0:{-float(r)}:{p} {labelled[j + 1]}"
            self.vw.learn(labelled)
        self._pending = []

    def close(self) -> None:
        self.vw.finish()


def make_agents(world: World, seed: int, names: Sequence[str]) -> list[Agent]:
    """The named agents, in the order given."""
    makers: dict[str, Callable[[], Agent]] = {
        "oracle": lambda: Oracle(world), "random": RandomAgent, "static": StaticRules,
        "vw": lambda: VowpalWabbit(seed), "bestnext": Bestnext,
    }
    return [makers[n]() for n in names]
