"""Logged bandit feedback (ours as JSON lines, or the Open Bandit Dataset's CSV), target
policies to evaluate on it, and the cross-fitted reward models used by the DR estimator."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from bestnext.decisions.learning import ope
from bestnext.decisions.learning.bank import crossed
from bestnext.decisions.learning.models import BayesLogit
from bestnext.errors import InvalidInput

Context = dict[str, float]
TargetPolicy = Callable[[Context, Sequence[str]], dict[str, float]]


@dataclass
class BanditLog:
    """Logged decisions: what was known, what could be done, what was done and how it went."""

    contexts: list[Context]
    candidates: list[list[str]]
    actions: list[str]
    propensities: np.ndarray
    rewards: np.ndarray
    strata: list[str]  # the reward model fits one cell per (action, stratum) when tabular
    tabular: bool = False

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def on_policy_value(self) -> float:
        """The logging policy's own mean reward."""
        return float(self.rewards.mean())


def log_record(context: Context, candidates: Sequence[str], action: str, propensity: float,
               reward: float) -> dict[str, Any]:
    """One line of a JSON-lines log."""
    return {"context": context, "candidates": list(candidates), "action": action,
            "propensity": propensity, "reward": reward}


def from_records(records: Iterable[dict[str, Any]]) -> BanditLog:
    """Build a log from records shaped like :func:`log_record`."""
    rows = list(records)
    try:
        log = BanditLog(
            contexts=[dict(r["context"]) for r in rows], candidates=[list(r["candidates"]) for r in rows],
            actions=[str(r["action"]) for r in rows],
            propensities=np.array([float(r["propensity"]) for r in rows]),
            rewards=np.array([float(r["reward"]) for r in rows]), strata=["" for _ in rows])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"log record is missing or has a wrong field: {exc}") from None
    return _checked(log)


def _checked(log: BanditLog) -> BanditLog:
    if not len(log):
        raise InvalidInput("the log has no decisions")
    if np.any(log.propensities <= 0) or np.any(log.propensities > 1):
        raise InvalidInput("every logged propensity must be in (0, 1]")
    return log


def read_jsonl(path: Path) -> BanditLog:
    """Read our JSON-lines log."""
    with path.open("rb") as fh:
        try:
            return from_records(orjson.loads(line) for line in fh if line.strip())
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"{path.name}: not JSON lines ({exc})") from None


def read_open_bandit(path: Path, n_items: int = 80) -> BanditLog:
    """Read an Open Bandit Dataset CSV (item shown at a position, click, propensity)."""
    contexts, actions, props, rewards, strata = [], [], [], [], []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                position = row["position"]
                contexts.append({f"position={position}": 1.0})
                actions.append(row["item_id"])
                props.append(float(row["propensity_score"]))
                rewards.append(float(row["click"]))
                strata.append(position)
            except (KeyError, ValueError) as exc:
                raise InvalidInput(f"{path.name}: not an Open Bandit Dataset file ({exc})") from None
    items = [str(i) for i in range(n_items)]
    return _checked(BanditLog(contexts, [items] * len(actions), actions, np.array(props),
                              np.array(rewards), strata, tabular=True))


def read_log(path: Path) -> BanditLog:
    """Read a log by its extension (``.csv``: Open Bandit Dataset; otherwise JSON lines)."""
    if not path.is_file():
        raise InvalidInput(f"no log file at {path}")
    return read_open_bandit(path) if path.suffix == ".csv" else read_jsonl(path)


def uniform_policy(context: Context, candidates: Sequence[str]) -> dict[str, float]:
    """Every candidate with the same probability.

    Examples
    --------
    >>> uniform_policy({}, ["a", "b"])
    {'a': 0.5, 'b': 0.5}
    """
    return {a: 1.0 / len(candidates) for a in candidates}


def _reward_model(log: BanditLog, train: np.ndarray) -> Callable[[int, str], float]:
    """q(i, action), fitted on the rows ``train`` only."""
    prior = float(log.rewards[train].mean())
    if log.tabular:
        sums: dict[tuple[str, str], list[float]] = {}
        for i in train:
            cell = sums.setdefault((log.actions[i], log.strata[i]), [0.0, 0.0])
            cell[0] += log.rewards[i]
            cell[1] += 1.0
        m = 20.0  # shrink each cell toward the overall rate

        def tabular(i: int, action: str) -> float:
            s, n = sums.get((action, log.strata[i]), (0.0, 0.0))
            return (s + m * prior) / (n + m)
        return tabular
    return _logistic_reward_model(log, train, prior)


def _logistic_reward_model(log: BanditLog, train: np.ndarray, prior: float) -> Callable[[int, str], float]:
    """One Bayesian logistic model on context features crossed with the action (and, for
    ``"action/channel"`` keys, with each part), so that related actions share what is learnt."""
    model = BayesLogit(dim=16384, prior_bias=float(np.log(max(prior, 1e-4) / max(1 - prior, 1e-4))))

    def features(i: int, action: str) -> dict[str, float]:
        first, _, second = action.partition("/")
        return crossed(first, second or "-", log.contexts[i], 0.5)

    for i in train:
        model.learn_one(features(int(i), log.actions[i]), log.rewards[i])
    return lambda i, action: model.predict_one(features(i, action))


def support_warnings(weights: np.ndarray) -> list[str]:
    """Warnings when the logs barely support the target policy (estimates then run low, and
    their intervals are too narrow: the rare rows with huge weights have not been seen enough).

    Examples
    --------
    >>> support_warnings(np.ones(1000))
    []
    >>> support_warnings(np.r_[np.zeros(999), 1000.0])[0][:24]
    'effective sample size 1 '
    """
    n = len(weights)
    ess = ope.effective_sample_size(weights)
    out = []
    if ess < 0.01 * n:
        out.append(f"effective sample size {ess:.0f} is under 1% of {n} logged decisions: the target "
                   "is poorly supported; expect under-estimates and intervals that are too narrow")
    top = np.sort(weights)[-max(1, n // 1000):].sum() / max(weights.sum(), 1e-300)
    if n >= 1000 and top > 0.2:
        out.append(f"the top 0.1% of weights carry {100 * top:.0f}% of the total weight")
    return out


def evaluate(log: BanditLog, target: TargetPolicy, seed: int = 0, rounds: int = 1000) -> dict[str, Any]:
    """IPS, SNIPS and DR estimates of ``target``'s mean reward on ``log``'s contexts."""
    n = len(log)
    pis = [target(log.contexts[i], log.candidates[i]) for i in range(n)]
    weights = np.array([pis[i].get(log.actions[i], 0.0) for i in range(n)]) / log.propensities
    rng = np.random.default_rng(seed)
    folds = rng.permutation(n) % 2
    q_logged, q_target = np.empty(n), np.empty(n)
    for fold in (0, 1):
        q = _reward_model(log, np.flatnonzero(folds != fold))
        for i in np.flatnonzero(folds == fold):
            q_logged[i] = q(int(i), log.actions[i])
            q_target[i] = sum(p * q(int(i), a) for a, p in pis[i].items() if p)
    estimates = [ope.ips(log.rewards, weights, rng, rounds), ope.snips(log.rewards, weights, rng, rounds),
                 ope.doubly_robust(log.rewards, weights, q_logged, q_target, rng, rounds)]
    return {"n": n, "logged_value": round(log.on_policy_value, 6), "warnings": support_warnings(weights),
            "effective_sample_size": round(ope.effective_sample_size(weights), 1),
            "max_weight": round(float(weights.max()), 3),
            # E[w] is 1 when the logs support the target; well below 1 means unseen actions
            "mean_weight": round(float(weights.mean()), 4),
            "estimates": {e.method: e.as_dict() for e in estimates}}
