"""Arbitration: the pure ``decide`` that ranks the catalog's actions for one person, now.

score = propensity x context weight x value x levers. Each action passes eligibility,
applicability and suitability rules, gets its best allowed channel (consent and contact
policy), an offer whose conditions hold, a rendered treatment and an explanation.
No I/O here: the service loads the inputs and logs the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import numpy as np

from bestnext.calendar import BusinessCalendar
from bestnext.clock import ROME, Clock, as_utc
from bestnext.decisions.catalog import Action, Catalog, Offer
from bestnext.decisions.contact_policy import ContactPolicyConfig, ContactState, evaluate
from bestnext.decisions.learning.policies import Choice, Scored, choose
from bestnext.decisions.model import (
    ConsentCheck,
    ConsentUse,
    Decision,
    DecisionContext,
    Explanation,
    ProfileView,
    PropensityModels,
    RankedAction,
)
from bestnext.decisions.rules import Condition, Rule, holds
from bestnext.decisions.rules import evaluate as evaluate_rules
from bestnext.decisions.treatments import render


@dataclass(frozen=True, slots=True)
class PolicyInputs:
    """The contact-policy side of a decision: the person's state and the bank's policy."""

    state: ContactState
    config: ContactPolicyConfig = field(default_factory=ContactPolicyConfig)
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    offer_usage: Mapping[str, int] = field(default_factory=dict)


Chooser = Callable[[Sequence[Scored], np.random.Generator, float], Choice]


@dataclass(frozen=True, slots=True)
class _Candidate:
    action: Action
    channel: str
    weight: float
    baseline: float
    p_mean: float
    mean_logit: float
    sd_logit: float
    terms: dict[str, float]
    offer: Offer | None
    rules_passed: tuple[str, ...]
    consents: tuple[ConsentUse, ...]


def _facts(profile: ProfileView, profiling: bool) -> dict[str, Any]:
    return {**profile.facts, **profile.signals} if profiling else dict(profile.facts)


def _rules_of(action: Action) -> list[Rule]:
    auto: list[Rule] = []
    if action.purpose == "marketing" and action.product:
        auto.append(Condition(field="holdings", op="not_contains", value=action.product))
    return [*action.eligibility, *auto, *action.applicability, *action.suitability]


def _in_window(action: Action, at: datetime) -> bool:
    day = at.astimezone(ROME).date()
    return (action.valid_from is None or action.valid_from <= day) and (
        action.valid_until is None or day <= action.valid_until)


def _value(action: Action, facts: Mapping[str, Any]) -> float:
    for rule in action.value_rules:
        if all(holds(r, facts) for r in rule.when):
            return rule.value
    return action.value


def _offer(action: Action, catalog: Catalog, facts: Mapping[str, Any], at: datetime,
           usage: Mapping[str, int]) -> Offer | None:
    day = at.astimezone(ROME).date()
    for offer_id in action.offers:
        offer = catalog.offer(offer_id)
        if offer.budget is not None and usage.get(offer.id, 0) >= offer.budget:
            continue
        if (offer.valid_from and day < offer.valid_from) or (offer.valid_until and day > offer.valid_until):
            continue
        if all(holds(r, facts) for r in offer.conditions):
            return offer
    return None


def offer_valid_until(offer: Offer, at: datetime) -> datetime | None:
    """The end (local midnight) of the offer's validity: ``valid_days`` from ``at``, or its end date.

    >>> from bestnext.decisions.catalog import Text
    >>> o = Offer(id="gift", description=Text(it="x", en="x"), valid_days=5)
    >>> offer_valid_until(o, datetime(2025, 4, 27, 12, 22, tzinfo=ROME)).astimezone(ROME).isoformat()
    '2025-05-02T23:59:59+02:00'
    """
    local = at.astimezone(ROME).date()
    if offer.valid_days is not None:
        end = local + timedelta(days=offer.valid_days)
        if offer.valid_until is not None:
            end = min(end, offer.valid_until)
    elif offer.valid_until is not None:
        end = offer.valid_until
    else:
        return None
    return as_utc(datetime.combine(end, time(23, 59, 59), tzinfo=ROME))


def _channel_candidates(action: Action, wanted: str | None) -> list[str]:
    channels: list[str] = list(action.treatments)
    return [c for c in channels if c == wanted] if wanted else channels


@dataclass(frozen=True, slots=True)
class _Inputs:
    profile: ProfileView
    context: DecisionContext
    catalog: Catalog
    policy: PolicyInputs
    models: PropensityModels
    consent: ConsentCheck
    rng: np.random.Generator
    explore: bool
    at: datetime
    profiling: ConsentUse
    facts: dict[str, Any]


def _score_action(action: Action, channel: str | None, inp: _Inputs) -> _Candidate | str:
    """The action on its best channel, or the reason it was left out."""
    if not _in_window(action, inp.at):
        return "outside its validity window"
    verdict = evaluate_rules(_rules_of(action), inp.facts)
    if not verdict.passed:
        return f"rule failed: {verdict.failed}"
    weight = action.context_weights.get(inp.context.reason, action.context_weights.get("default", 1.0))
    if weight <= 0:
        return f"not for context '{inp.context.reason}'"
    offer = _offer(action, inp.catalog, inp.facts, inp.at, inp.policy.offer_usage)
    value = _value(action, inp.facts) * (offer.boost if offer else 1.0)
    levers = action.levers.weight * action.levers.priority
    best: _Candidate | None = None
    last_reason = "no channel"
    for ch in _channel_candidates(action, channel):
        use = inp.consent(action.purpose, action.data_categories, ch, inp.at)
        if not use.allowed:
            last_reason = f"consent: {action.purpose} on {ch} not allowed"
            continue
        pol = evaluate(inp.policy.state, ch, action.purpose, inp.at, inp.policy.config, inp.policy.calendar,
                       action.id, inbound=ch == inp.context.inbound_channel)
        if not pol.allowed:
            last_reason = f"contact policy on {ch}: {', '.join(pol.reasons)}"
            continue
        features = {**inp.profile.features, "ctx:channel=" + ch: 1.0}
        prop = inp.models.propensity(action.id, ch, features, inp.rng, False, inp.profiling.allowed)
        if best is None or prop.p_mean * weight * value * levers > best.p_mean * best.weight:
            chosen_offer = offer if (action.purpose == "marketing" or use.may_promote) else None
            best = _Candidate(action, ch, weight * value * levers, value * levers, float(prop.p_mean),
                              float(prop.mean_logit), float(prop.sd_logit),
                              {"context_weight": weight, "value": value, "levers": levers},
                              chosen_offer, verdict.passed_rules, (inp.profiling, use))
    return best if best is not None else last_reason


def _render(cand: _Candidate, inp: _Inputs) -> tuple[str | None, str, datetime | None]:
    treatment = cand.action.treatments[cand.channel]  # type: ignore[index]
    lang = inp.context.language
    until = offer_valid_until(cand.offer, inp.at) if cand.offer else None
    variables: dict[str, Any] = {
        **inp.profile.variables, **inp.context.variables,
        "product": cand.action.product, "channel": cand.channel,
        "offer": cand.offer.id if cand.offer else None,
        "offer_text": render(cand.offer.description.get(lang), {}) if cand.offer else "",
        "offer_valid_until": until.astimezone(ROME).strftime("%d/%m/%Y") if until else "",
    }
    subject = render(treatment.subject.get(lang), variables) if treatment.subject else None
    return subject, render(treatment.text.get(lang), variables), until


def decide(profile: ProfileView, context: DecisionContext, catalog: Catalog, policy: PolicyInputs,
           models: PropensityModels, clock: Clock | None = None, *, consent: ConsentCheck,
           channel: str | None = None, n: int = 3, rng: np.random.Generator | None = None,
           control_rate: float = 0.02, explore: bool = True, chooser: Chooser = choose) -> Decision:
    """Rank the catalog's actions for ``profile`` in ``context``; at most ``n`` are returned.

    Each action keeps its best allowed channel (by expected value); the ``chooser`` (Thompson
    sampling with a control group by default) ranks the actions and gives each one the
    probability that it would have been ranked first, logged for off-policy evaluation.
    """
    if context.at is None and clock is None:
        raise ValueError("decide needs context.at or a clock")
    at = as_utc(context.at if context.at is not None else clock.now())  # type: ignore[union-attr]
    rng = rng if rng is not None else np.random.default_rng()
    profiling = consent("profiling", ["behavioural"], context.inbound_channel, at)
    inp = _Inputs(profile, context, catalog, policy, models, consent, rng, explore, at, profiling,
                  _facts(profile, profiling.allowed))
    candidates: dict[str, _Candidate] = {}
    rejected: dict[str, str] = {}
    for action in catalog.actions:
        result = _score_action(action, channel, inp)
        if isinstance(result, str):
            rejected[action.id] = result
        else:
            candidates[action.id] = result
    scored = [Scored(c.action.id, c.mean_logit, c.sd_logit if explore else 0.0, c.weight, c.baseline)
              for c in candidates.values()]
    choice = chooser(scored, rng, control_rate)
    signals = tuple(sorted(profile.signals)) if profiling.allowed else ()
    return Decision(tuple(_ranked(candidates[a], choice, signals, inp) for a in choice.ranked[:n]),
                    choice.control, catalog.version, rejected)


def _ranked(cand: _Candidate, choice: Choice, signals: tuple[str, ...], inp: _Inputs) -> RankedAction:
    subject, text, until = _render(cand, inp)
    p = choice.sampled.get(cand.action.id, cand.p_mean)
    terms = {"propensity": p, **cand.terms}
    return RankedAction(
        cand.action.id, cand.action.purpose, cand.action.product, cand.offer.id if cand.offer else None,
        until, cand.channel, cand.action.treatments[cand.channel].kind,  # type: ignore[index]
        subject, text, p * cand.weight, cand.p_mean, choice.propensities.get(cand.action.id, 0.0),
        Explanation(cand.rules_passed, cand.consents, signals, terms, ("allowed",)))


__all__ = ["Chooser", "PolicyInputs", "decide", "offer_valid_until"]
