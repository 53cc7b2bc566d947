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

    def __init__(self, factory: Callable[[], PropensityModel] = BayesLogit, window: int = 500) -> None:
        self.factory = factory
        self.window = window
        self.models: dict[Key, PropensityModel] = {}
        self.windows: dict[Key, Window] = {}
        self._dirty: set[Key] = set()

    def model(self, action_id: str, channel: str) -> PropensityModel:
        key = (action_id, channel)
        found = self.models.get(key)
        if found is None:
            found = self.models[key] = self.factory()
            self.windows[key] = Window(self.window)
        return found

    def propensity(self, action_id: str, channel: str, features: Mapping[str, float],
                   rng: np.random.Generator, explore: bool = True, profiling: bool = True) -> Propensity:
        """Probability of a positive response; ``p_sampled`` is a posterior draw if ``explore``."""
        mu, sd = self.model(action_id, channel).posterior(drop_behavioural(features, profiling))
        mean = sigmoid(mu)
        sampled = sigmoid(mu + sd * float(rng.standard_normal())) if explore else mean
        return Propensity(mean, sampled, mu, sd)

    def scored(self, action_id: str, channel: str, features: Mapping[str, float], *,
               weight: float = 1.0, baseline: float = 0.0, profiling: bool = True) -> Scored:
        """A policy candidate for this (action, channel): its posterior, weight and baseline."""
        mu, sd = self.model(action_id, channel).posterior(drop_behavioural(features, profiling))
        return Scored(f"{action_id}/{channel}", mu, sd, weight, baseline)

    def learn(self, action_id: str, channel: str, features: Mapping[str, float],
              reward: bool | float, profiling: bool = True) -> None:
        """Learn from one outcome (recorded first for prequential monitoring)."""
        x = drop_behavioural(features, profiling)
        model = self.model(action_id, channel)
        self.windows[(action_id, channel)].record(model.predict_one(x), bool(reward))
        model.learn_one(x, reward)
        self._dirty.add((action_id, channel))

    def monitor(self) -> dict[str, dict[str, Any]]:
        """Per model (``"action/channel"``): responses, AUC, calibration and drift."""
        return {f"{a}/{c}": {"kind": self.models[(a, c)].kind, **w.report()}
                for (a, c), w in sorted(self.windows.items())}

    def save(self, conn: Connection) -> int:
        """Persist the models changed since the last save or load; returns how many."""
        rows = [{"action_id": a, "channel": c, "kind": self.models[(a, c)].kind,
                 "state": self.models[(a, c)].to_state(), "monitor": self.windows[(a, c)].to_state(),
                 "responses": self.windows[(a, c)].responses} for a, c in sorted(self._dirty)]
        self._dirty.clear()
        return store.save_models(conn, rows)

    def load(self, conn: Connection) -> int:
        """Replace the in-memory models with the persisted ones; returns how many."""
        rows = store.load_models(conn)
        for row in rows:
            key = (row["action_id"], row["channel"])
            self.models[key] = model_from_state(row["state"])
            self.windows[key] = Window.from_state(row["monitor"])
        self._dirty.clear()
        return len(rows)
