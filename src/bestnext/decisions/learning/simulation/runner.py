"""Run each policy day by day on its own copy of the same world (common random numbers).

Every day a share of persons has a decision moment; those within their contact budget and
with an eligible offer get one arm (action × channel) from the policy. A person takes the
offer if the day's uniform draw is below the arm's true rate (the same draw for every policy)
and then holds the product. Regret is the expected take-up lost against the best eligible arm.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bestnext.decisions.learning.logs import log_record
from bestnext.decisions.learning.simulation.agents import ARM_KEYS, Agent, make_agents
from bestnext.decisions.learning.simulation.world import ARMS, World, build_world

POLICY_NAMES: tuple[str, ...] = ("oracle", "random", "static", "vw", "bestnext")


@dataclass(frozen=True)
class SimConfig:
    """A simulation run: population, horizon, seed and the contact policy."""

    persons: int = 5000
    days: int = 60
    seed: int = 0
    visit_rate: float = 0.3  # share of persons with a decision moment each day
    budget: int = 3  # marketing contacts per person per rolling 7 days
    profiling_rate: float = 0.9


@dataclass
class PolicyResult:
    """What one policy achieved."""

    name: str
    decisions: int = 0
    conversions: int = 0
    expected: float = 0.0
    regret: float = 0.0
    contacts_per_person_month: float = 0.0
    seconds: float = 0.0
    daily_conversions: list[int] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list, repr=False)
    truth: list[dict[str, float]] = field(default_factory=list, repr=False)

    def as_dict(self, oracle: PolicyResult | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "policy": self.name, "decisions": self.decisions, "conversions": self.conversions,
            "expected_conversions": round(self.expected, 1), "regret": round(self.regret, 1),
            "conversion_rate": round(self.conversions / max(self.decisions, 1), 5),
            "contacts_per_person_month": round(self.contacts_per_person_month, 3),
            "seconds": round(self.seconds, 1),
        }
        if oracle is not None and oracle.conversions:
            out["pct_of_oracle"] = round(100.0 * self.conversions / oracle.conversions, 1)
            out["pct_of_oracle_expected"] = round(100.0 * self.expected / oracle.expected, 1)
        return out


def _day_draws(config: SimConfig, day: int) -> tuple[np.ndarray, np.ndarray]:
    """Who has a decision moment today and their uniform take-up draws (same for all)."""
    rng = np.random.default_rng([config.seed, day, 7])
    return rng.random(config.persons) < config.visit_rate, rng.random(config.persons)


def run_policy(world: World, agent: Agent, config: SimConfig, keep_logs: bool = False) -> PolicyResult:
    """Run one agent over the whole horizon."""
    started = time.monotonic()
    rng = np.random.default_rng([config.seed, sum(map(ord, agent.name)), 11])
    holdings = world.holdings0.copy()
    contacts = np.zeros((config.days, config.persons), bool)
    result = PolicyResult(agent.name)
    for day in range(config.days):
        visiting, u = _day_draws(config, day)
        recent = contacts[max(0, day - 6):day].sum(axis=0)
        candidates = np.flatnonzero(visiting & (recent < config.budget))
        eligible = world.eligible(candidates, holdings)
        has_offer = eligible.any(axis=1)
        persons, eligible = candidates[has_offer], eligible[has_offer]
        contexts = [world.features(int(p), holdings) for p in persons]
        arms, props = agent.act(persons, contexts, eligible, rng)
        rates = world.true_rates(persons)
        chosen = rates[np.arange(len(persons)), arms]
        rewards = u[persons] < chosen
        agent.learn(contexts, arms, rewards)
        holdings[persons[rewards], [ARMS[k][0] for k in arms[rewards]]] = True
        contacts[day, persons] = True
        result.decisions += len(persons)
        result.conversions += int(rewards.sum())
        result.expected += float(chosen.sum())
        result.regret += float((np.where(eligible, rates, 0.0).max(axis=1) - chosen).sum())
        result.daily_conversions.append(int(rewards.sum()))
        if keep_logs:
            _keep(result, contexts, eligible, arms, props, rewards, rates)
    result.contacts_per_person_month = float(contacts.sum()) / config.persons / config.days * 30
    result.seconds = time.monotonic() - started
    return result


def _keep(result: PolicyResult, contexts: Sequence[dict[str, float]], eligible: np.ndarray,
          arms: np.ndarray, props: np.ndarray, rewards: np.ndarray, rates: np.ndarray) -> None:
    for i, x in enumerate(contexts):
        ks = np.flatnonzero(eligible[i])
        result.logs.append(log_record(x, [ARM_KEYS[k] for k in ks], ARM_KEYS[arms[i]],
                                      float(props[i]), float(rewards[i])))
        result.truth.append({ARM_KEYS[k]: float(rates[i, k]) for k in ks})


def simulate(config: SimConfig, policies: Sequence[str] = POLICY_NAMES,
             log_policies: Sequence[str] = ()) -> list[PolicyResult]:
    """Run the named policies on the same world; ``log_policies``' decisions are kept as logs."""
    world = build_world(config.persons, config.seed, config.profiling_rate)
    results = []
    for agent in make_agents(world, config.seed, policies):
        results.append(run_policy(world, agent, config, keep_logs=agent.name in {_display(p) for p in log_policies}))
        close = getattr(agent, "close", None)
        if close is not None:
            close()
    return results


def _display(name: str) -> str:
    return {"static": "static rules", "vw": "vowpal wabbit"}.get(name, name)
