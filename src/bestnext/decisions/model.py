"""Plain values of the decisions context (no I/O): what decide() reads and returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

Outcome = Literal["impression", "accepted", "declined", "ignored", "converted"]
OUTCOMES: tuple[str, ...] = ("impression", "accepted", "declined", "ignored", "converted")
# the reward an outcome teaches the online model (None: nothing to learn yet)
REWARDS: dict[str, float | None] = {"impression": None, "accepted": 1.0, "converted": 1.0,
                                    "declined": 0.0, "ignored": 0.0}


@dataclass(frozen=True, slots=True)
class ProfileView:
    """What arbitration may know about a person.

    ``facts`` are the profile facts rules read (age, residency, lifecycle_stage, holdings,
    risk_profile, ...); ``signals`` are behavioural facts (interests, recent behaviour), used
    only when the person granted ``profiling``.
    """

    person_id: str
    facts: Mapping[str, Any]
    signals: Mapping[str, Any] = field(default_factory=dict)
    features: Mapping[str, float] = field(default_factory=dict)  # model features (see learning.features)
    variables: Mapping[str, Any] = field(default_factory=dict)  # for treatment texts only


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """The moment of a decision: why, where and when (``at``; the clock's now when None)."""

    at: datetime | None = None
    reason: str = "browse"
    inbound_channel: str | None = None
    language: str = "it"
    based_on: tuple[str, ...] = ()
    features: Mapping[str, Any] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConsentUse:
    """One consent check made for a decision (the consent policy's answer)."""

    purpose_of_use: str
    channel: str | None
    allowed: bool
    reasons: tuple[str, ...] = ()
    may_promote: bool = True


@dataclass(frozen=True, slots=True)
class Explanation:
    rules_passed: tuple[str, ...]
    consents: tuple[ConsentUse, ...]
    signals_used: tuple[str, ...]
    score_terms: Mapping[str, float]
    contact_policy: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RankedAction:
    """One action of a decision, with its channel, treatment, offer and explanation."""

    action_id: str
    purpose: str
    product: str | None
    offer: str | None
    offer_valid_until: datetime | None
    channel: str
    treatment_kind: str
    subject: str | None
    text: str
    score: float
    propensity: float
    probability: float  # the policy's probability of proposing this action (for off-policy evaluation)
    explanation: Explanation
    decision_id: str | None = None  # set once the decision is logged; pass it on to report outcomes


@dataclass(frozen=True, slots=True)
class Decision:
    ranked: tuple[RankedAction, ...]
    control: bool
    catalog_version: str
    rejected: Mapping[str, str] = field(default_factory=dict)  # action id -> first failed check


class PropensityModels(Protocol):
    """The learning half's ModelBank, as far as arbitration needs it."""

    def propensity(self, action_id: str, channel: str, features: Mapping[str, float], rng: Any,
                   explore: bool = True, profiling: bool = True) -> Any:
        """An object with ``p_mean``, ``p_sampled``, ``mean_logit`` and ``sd_logit``."""
        ...


class BatchModels(Protocol):
    """Models that answer many ``(action, channel)`` posteriors at once (see ``posteriors``)."""

    def posteriors(self, pairs: Sequence[tuple[str, str]], features: Mapping[str, float],
                   profiling: bool) -> tuple[list[float], list[float]]:
        """Logit means and standard deviations, one per pair."""
        ...


class ConsentCheck(Protocol):
    """The consent policy bound to one person's state (``bestnext.consent`` policy ``may``)."""

    def __call__(self, purpose_of_use: str, data_categories: Sequence[str], channel: str | None,
                 at: datetime) -> ConsentUse:
        ...


__all__ = ["OUTCOMES", "REWARDS", "BatchModels", "ConsentCheck", "ConsentUse", "Decision", "DecisionContext",
           "Explanation", "Outcome", "ProfileView", "PropensityModels", "RankedAction"]
