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
from bestnext.errors import Conflict

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
        # persistence (after a load or a save): the version of each stored model this bank's
        # model builds on, and the lessons learnt since, replayed on a newer version if another
        # process saved one in between (optimistic concurrency: no lesson is lost)
        self.persistent = False
        self._versions: dict[Key, int] = {}
        self._lessons: dict[Key, list[Lesson]] = {}

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
        lesson = Lesson(action_id, channel, dict(features), reward, profiling)
        self._apply(lesson)
        key = self._key(action_id, channel)
        self._dirty.add(key)
        if self.persistent:
            self._lessons.setdefault(key, []).append(lesson)

    def _apply(self, lesson: Lesson) -> None:
        x = self._x(lesson.action_id, lesson.channel, lesson.features, lesson.profiling)
        model = self.model(lesson.action_id, lesson.channel)
        self.windows[(lesson.action_id, lesson.channel)].record(model.predict_one(x), bool(lesson.reward))
        model.learn_one(x, lesson.reward)

    def monitor(self) -> dict[str, dict[str, Any]]:
        """Per (action, channel) ``"action/channel"``: responses, AUC, calibration and drift."""
        return {f"{a}/{c}": {"kind": self.models[self._key(a, c)].kind, "pooled": self.pooled, **w.report()}
                for (a, c), w in sorted(self.windows.items()) if self._key(a, c) in self.models}

    def _windows_of(self, key: Key) -> dict[str, Any]:
        return {f"{a}/{c}": w.to_state() for (a, c), w in self.windows.items()
                if self._key(a, c) == key}

    def _row(self, key: Key) -> dict[str, Any]:
        windows = self._windows_of(key)
        return {"action_id": key[0], "channel": key[1], "kind": self.models[key].kind,
                "state": self.models[key].to_state(), "monitor": {"windows": windows},
                "responses": sum(w["responses"] for w in windows.values())}

    def save(self, conn: Connection) -> int:
        """Persist the models changed since the last save or load; returns how many.

        A model is written only over the version it was loaded (or last saved) at. When another
        process saved it in between, the stored model is read back, this bank's lessons since
        are replayed on it, and the write is tried again: concurrent learners lose nothing.
        """
        for key in sorted(self._dirty):
            for _ in range(MAX_SAVE_ATTEMPTS):
                expected = self._versions.get(key)
                if store.save_model(conn, self._row(key), expected):
                    self._versions[key] = (expected or 0) + 1
                    break
                self._merge(conn, key)
            else:
                raise Conflict(f"Model {key[0]}/{key[1]} kept changing while it was saved.")
        saved = len(self._dirty)
        self._dirty.clear()
        self._lessons.clear()
        self.persistent = True
        return saved

    def _merge(self, conn: Connection, key: Key) -> None:
        """Rebuild ``key``'s model from the stored row, then replay this bank's lessons on it."""
        if not self.persistent:
            raise Conflict(f"Model {key[0]}/{key[1]} is stored already: load the bank before teaching it.")
        row = store.load_model(conn, *key)
        self._versions.pop(key, None)
        self.models.pop(key, None)
        for pair in [p for p in self.windows if self._key(*p) == key]:
            del self.windows[pair]
        if row is not None:
            self._restore(row)
        for lesson in self._lessons.get(key, []):
            self._apply(lesson)

    def _restore(self, row: Mapping[str, Any]) -> None:
        key = (row["action_id"], row["channel"])
        self.models[key] = model_from_state(row["state"])
        self._versions[key] = int(row["version"])
        for arm, state in row["monitor"]["windows"].items():
            a, c = arm.rsplit("/", 1)
            self.windows[(a, c)] = Window.from_state(state)

    def load(self, conn: Connection) -> int:
        """Replace the in-memory models with the persisted ones; returns how many."""
        rows = store.load_models(conn)
        for row in rows:
            self._restore(row)
        self.pooled = any(key == POOLED for key in self.models)
        self._dirty.clear()
        self._lessons.clear()
        self.persistent = True
        return len(rows)


@dataclass(frozen=True, slots=True)
class Lesson:
    """One outcome a model learnt from, kept until it is saved (to replay on a newer version)."""

    action_id: str
    channel: str
    features: dict[str, float]
    reward: bool | float
    profiling: bool


MAX_SAVE_ATTEMPTS = 20


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
