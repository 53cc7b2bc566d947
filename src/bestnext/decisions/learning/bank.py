"""The bank of propensity models, one per (action, channel), persisted in ``decision_models``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection

from bestnext.decisions.learning import store
from bestnext.decisions.learning.features import drop_behavioural
from bestnext.decisions.learning.models import BayesLogit, PropensityModel, model_from_state, sigmoid
from bestnext.decisions.learning.monitoring import Window
from bestnext.decisions.learning.policies import Scored

Key = tuple[str, str]
POOLED: Key = ("*", "*")


@dataclass(frozen=True, slots=True)
class Propensity:
    """A model's answer: the posterior mean probability and one posterior draw."""

    p_mean: float
    p_sampled: float
    mean_logit: float
    sd_logit: float


class ModelBank:
    """Propensity models keyed by ``(action_id, channel)``, created on first use.

    Parameters
    ----------
    factory
        Builds a new model (default :class:`BayesLogit`).
    window
        Size of the monitoring windows.
    pooled
        One model for all (action, channel) pairs on :func:`crossed` features, instead of one
        model per pair: it learns much faster when pairs share effects (persisted as ``*/*``).
    arm_scale
        Prior scale of the pair-specific weights of the pooled model.

    Examples
    --------
    >>> bank = ModelBank()
    >>> for _ in range(100):
    ...     bank.learn("offer_prepaid_card", "email", {"age=18-29": 1.0}, True)
    >>> p = bank.propensity("offer_prepaid_card", "email", {"age=18-29": 1.0},
    ...                     np.random.default_rng(1), explore=False)
    >>> p.p_mean > 0.9 and p.p_sampled == p.p_mean
    True
    """

    def __init__(self, factory: Callable[[], PropensityModel] = BayesLogit, window: int = 500,
                 pooled: bool = False, arm_scale: float = 0.5) -> None:
        self.factory = factory
        self.window = window
        self.pooled = pooled
        self.arm_scale = arm_scale
        self.models: dict[Key, PropensityModel] = {}
        self.windows: dict[Key, Window] = {}
        self._dirty: set[Key] = set()

    def _key(self, action_id: str, channel: str) -> Key:
        return POOLED if self.pooled else (action_id, channel)

    def model(self, action_id: str, channel: str) -> PropensityModel:
        """The model that answers for (action, channel): its own, or the pooled one."""
        if (action_id, channel) not in self.windows:
            self.windows[(action_id, channel)] = Window(self.window)
        key = self._key(action_id, channel)
        found = self.models.get(key)
        if found is None:
            found = self.models[key] = self.factory()
        return found

    def _x(self, action_id: str, channel: str, features: Mapping[str, float],
           profiling: bool) -> dict[str, float]:
        x = drop_behavioural(features, profiling)
        return crossed(action_id, channel, x, self.arm_scale) if self.pooled else x

    def propensity(self, action_id: str, channel: str, features: Mapping[str, float],
                   rng: np.random.Generator, explore: bool = True, profiling: bool = True) -> Propensity:
        """Probability of a positive response; ``p_sampled`` is a posterior draw if ``explore``."""
        mu, sd = self.model(action_id, channel).posterior(self._x(action_id, channel, features, profiling))
        mean = sigmoid(mu)
        sampled = sigmoid(mu + sd * float(rng.standard_normal())) if explore else mean
        return Propensity(mean, sampled, mu, sd)

    def scored(self, action_id: str, channel: str, features: Mapping[str, float], *,
               weight: float = 1.0, baseline: float = 0.0, profiling: bool = True) -> Scored:
        """A policy candidate for this (action, channel): its posterior, weight and baseline."""
        mu, sd = self.model(action_id, channel).posterior(self._x(action_id, channel, features, profiling))
        return Scored(f"{action_id}/{channel}", mu, sd, weight, baseline)

    def learn(self, action_id: str, channel: str, features: Mapping[str, float],
              reward: bool | float, profiling: bool = True) -> None:
        """Learn from one outcome (recorded first for prequential monitoring)."""
        x = self._x(action_id, channel, features, profiling)
        model = self.model(action_id, channel)
        self.windows[(action_id, channel)].record(model.predict_one(x), bool(reward))
        model.learn_one(x, reward)
        self._dirty.add(self._key(action_id, channel))

    def monitor(self) -> dict[str, dict[str, Any]]:
        """Per (action, channel) ``"action/channel"``: responses, AUC, calibration and drift."""
        return {f"{a}/{c}": {"kind": self.models[self._key(a, c)].kind, "pooled": self.pooled, **w.report()}
                for (a, c), w in sorted(self.windows.items()) if self._key(a, c) in self.models}

    def _windows_of(self, key: Key) -> dict[str, Any]:
        return {f"{a}/{c}": w.to_state() for (a, c), w in self.windows.items()
                if self._key(a, c) == key}

    def save(self, conn: Connection) -> int:
        """Persist the models changed since the last save or load; returns how many."""
        rows = [{"action_id": a, "channel": c, "kind": self.models[(a, c)].kind,
                 "state": self.models[(a, c)].to_state(), "monitor": {"windows": self._windows_of((a, c))},
                 "responses": sum(w["responses"] for w in self._windows_of((a, c)).values())}
                for a, c in sorted(self._dirty)]
        self._dirty.clear()
        return store.save_models(conn, rows)

    def load(self, conn: Connection) -> int:
        """Replace the in-memory models with the persisted ones; returns how many."""
        rows = store.load_models(conn)
        for row in rows:
            self.models[(row["action_id"], row["channel"])] = model_from_state(row["state"])
            for arm, state in row["monitor"]["windows"].items():
                a, c = arm.rsplit("/", 1)
                self.windows[(a, c)] = Window.from_state(state)
        self.pooled = any(key == POOLED for key in self.models)
        self._dirty.clear()
        return len(rows)


def crossed(action_id: str, channel: str, x: Mapping[str, float], arm_scale: float = 0.5) -> dict[str, float]:
    """Features of one pooled model shared by every (action, channel): each feature crossed
    with the action, with the channel and (scaled down: a tighter prior) with the pair, plus
    a bias for each. Effects common to an action's channels, or a channel's actions, are
    learnt once from all their responses.

    Examples
    --------
    >>> sorted(crossed("offer_x", "email", {"stage=single": 1.0}))  # doctest: +NORMALIZE_WHITESPACE
    ['a=offer_x', 'a=offer_x|stage=single', 'ac=offer_x/email', 'ac=offer_x/email|stage=single',
     'c=email', 'c=email|stage=single']
    """
    out: dict[str, float] = {}
    for tag, scale in ((f"a={action_id}", 1.0), (f"c={channel}", 1.0), (f"ac={action_id}/{channel}", arm_scale)):
        out[tag] = scale
        for k, v in x.items():
            out[f"{tag}|{k}"] = v * scale
    return out
