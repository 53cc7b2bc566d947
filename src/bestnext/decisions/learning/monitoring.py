"""Prequential monitoring of a propensity model: AUC, calibration and drift over windows.

Each response is recorded with the probability the model predicted *before* learning from it
(River's prequential evaluation). The current window holds the last ``size`` responses; when
it is full it becomes the previous window, and drift compares the two.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def auc(predicted: Sequence[float], actual: Sequence[bool]) -> float | None:
    """Area under the ROC curve (rank statistic, ties averaged); None without both classes.

    Examples
    --------
    >>> auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True])
    0.75
    >>> auc([0.2, 0.3], [True, True]) is None
    True
    """
    pos = sum(1 for y in actual if y)
    neg = len(actual) - pos
    if not pos or not neg:
        return None
    order = sorted(range(len(predicted)), key=lambda i: predicted[i])
    ranks = [0.0] * len(predicted)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and predicted[order[j + 1]] == predicted[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    rank_sum = sum(r for r, y in zip(ranks, actual, strict=True) if y)
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg)


def calibration(predicted: Sequence[float], actual: Sequence[bool], bins: int = 10) -> dict[str, float]:
    """Mean predicted vs observed rate, and the expected calibration error over ``bins``.

    Examples
    --------
    >>> calibration([0.5, 0.5], [True, False])
    {'mean_predicted': 0.5, 'observed_rate': 0.5, 'ece': 0.0}
    """
    n = len(predicted)
    if not n:
        return {"mean_predicted": 0.0, "observed_rate": 0.0, "ece": 0.0}
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(predicted):
        groups.setdefault(min(int(p * bins), bins - 1), []).append(i)
    ece = sum(abs(sum(predicted[i] for i in g) - sum(1 for i in g if actual[i])) for g in groups.values()) / n
    return {"mean_predicted": round(sum(predicted) / n, 6),
            "observed_rate": round(sum(1 for y in actual if y) / n, 6), "ece": round(ece, 6)}


def psi(before: Sequence[float], after: Sequence[float], bins: int = 10) -> float:
    """Population stability index between two samples of predicted probabilities.

    Examples
    --------
    >>> psi([0.1, 0.2, 0.3], [0.1, 0.2, 0.3])
    0.0
    >>> psi([0.05] * 50, [0.95] * 50) > 1
    True
    """
    def shares(values: Sequence[float]) -> list[float]:
        counts = [0] * bins
        for v in values:
            counts[min(int(v * bins), bins - 1)] += 1
        return [(c + 0.5) / (len(values) + 0.5 * bins) for c in counts]

    if not before or not after:
        return 0.0
    a, b = shares(before), shares(after)
    return round(sum((y - x) * math.log(y / x) for x, y in zip(a, b, strict=True)), 6)


@dataclass
class Window:
    """Sliding windows of (predicted, actual) for one model."""

    size: int = 500
    responses: int = 0
    current: list[tuple[float, bool]] = field(default_factory=list)
    previous: list[tuple[float, bool]] = field(default_factory=list)

    def record(self, predicted: float, actual: bool) -> None:
        self.responses += 1
        self.current.append((predicted, actual))
        if len(self.current) >= self.size:
            self.previous, self.current = self.current, []

    def _recent(self) -> list[tuple[float, bool]]:
        """The last ``size`` responses (end of the previous window plus the current one)."""
        keep = self.size - len(self.current)
        return (self.previous[-keep:] if keep > 0 else []) + self.current

    def report(self) -> dict[str, Any]:
        recent = self._recent()
        p, y = [r[0] for r in recent], [r[1] for r in recent]
        out: dict[str, Any] = {"responses": self.responses, "window": len(recent),
                               "positives": sum(y), "auc": auc(p, y), "calibration": calibration(p, y)}
        if self.previous and self.current:
            before = [r[0] for r in self.previous]
            rate_before = sum(1 for r in self.previous if r[1]) / len(self.previous)
            rate_now = sum(1 for r in self.current if r[1]) / len(self.current)
            out["drift"] = {"psi": psi(before, [r[0] for r in self.current]),
                            "rate_change": round(rate_now - rate_before, 6)}
        else:
            out["drift"] = None
        return out

    def to_state(self) -> dict[str, Any]:
        return {"size": self.size, "responses": self.responses,
                "current": [[p, y] for p, y in self.current],
                "previous": [[p, y] for p, y in self.previous]}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Window:
        return cls(int(state["size"]), int(state["responses"]),
                   [(float(p), bool(y)) for p, y in state["current"]],
                   [(float(p), bool(y)) for p, y in state["previous"]])
