"""Arbitration: the pure ``decide`` that ranks the catalog's actions for one person, now.

score = propensity x context weight x value x levers. Each action passes eligibility,
applicability and suitability rules, gets its best allowed channel (consent and contact
policy), an offer whose conditions hold, a rendered treatment and an explanation.
No I/O here: the service loads the inputs and logs the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import numpy as np

from bestnext.calendar import BusinessCalendar
from bestnext.clock import ROME, Clock, as_utc
from bestnext.decisions.catalog import Action, Catalog, Offer
from bestnext.decisions.contact_policy import ContactPolicyConfig, ContactState, evaluate
from bestnext.decisions.learning.models import sigmoid
from bestnext.decisions.learning.policies import Choice, Scored, choose
from bestnext.decisions.model import (
    BatchModels,
    ConsentCheck,
    ConsentUse,
    Decision,
    DecisionContext,
    Explanation,
    ProfileView,
    PropensityModels,
    RankedAction,
)
from bestnext.decisions.offers import business_value, in_window, offer_valid_until, pick_offer
from bestnext.decisions.rules import Condition, Rule, holds
from bestnext.decisions.treatments import render


@dataclass(frozen=True, slots=True)
class PolicyInputs:
    """The contact-policy side of a decision: the person's state and the bank's policy."""

    state: ContactState
    config: ContactPolicyConfig = field(default_factory=ContactPolicyConfig)
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    offer_usage: Mapping[str, int] = field(default_factory=dict)


Chooser = Callable[[Sequence[Scored], np.random.Generator, float], Choice]


@dataclass(slots=True)  # not frozen: hundreds per decision, and frozen __init__ is 10x slower
class _Candidate:
    action: Action
    channel: str
    weight: float
    baseline: float
    mean_logit: float
    sd_logit: float
    screened: _Screened  # its context weight, value and levers explain the score
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


@dataclass(frozen=True, slots=True)
class _Inputs:
    profile: ProfileView
    context: DecisionContext
    catalog: Catalog
    policy: PolicyInputs
    models: PropensityModels | BatchModels
    consent: ConsentCheck
    rng: np.random.Generator
    explore: bool
    at: datetime
    profiling: ConsentUse
    facts: dict[str, Any]
    declined: frozenset[str]
    memo: dict[str, bool] = field(default_factory=dict)
    # per decision: the outcome of each distinct rule list (many actions share one)
    verdicts: dict[tuple[str, ...], tuple[bool, tuple[str, ...], str | None]] = field(default_factory=dict)
    gates: dict[tuple[str, tuple[str, ...], str], tuple[ConsentUse | None, str]] = field(default_factory=dict)
    # per decision: allowed channels of actions alike (purpose, data, channels) and offers picked
    routes: dict[tuple[str, tuple[str, ...], tuple[str, ...]], tuple[tuple[tuple[str, ConsentUse], ...], str]] = \
        field(default_factory=dict)
    offers: dict[tuple[str, ...], Offer | None] = field(default_factory=dict)


@dataclass(slots=True)  # not frozen: hundreds per decision, and frozen __init__ is 10x slower
class _Screened:
    """An action that passed its rules, with its allowed channels (and their consent)."""

    action: Action
    weight: float
    value: float
    levers: float
    offer: Offer | None
    rules_passed: tuple[str, ...]
    channels: tuple[tuple[str, ConsentUse], ...]


@dataclass(frozen=True, slots=True)
class _Static:
    """What a decision needs from an action that never changes (computed once per action)."""

    action: Action
    rules: tuple[tuple[Rule, str], ...]
    rule_keys: tuple[str, ...]
    channels: tuple[str, ...]
    categories: tuple[str, ...]
    levers: float
    windowed: bool


_STATIC: dict[int, _Static] = {}


def _static(action: Action) -> _Static:
    found = _STATIC.get(id(action))
    if found is None or found.action is not action:
        rules = tuple((r, r.describe()) for r in _rules_of(action))
        found = _STATIC[id(action)] = _Static(
            action, rules, tuple(k for _, k in rules), tuple(action.treatments),
            tuple(action.data_categories), action.levers.weight * action.levers.priority,
            action.valid_from is not None or action.valid_until is not None)
    return found


_CATALOGS: dict[int, tuple[Catalog, tuple[_Static, ...]]] = {}


def _statics(catalog: Catalog) -> tuple[_Static, ...]:
    """The static part of every action of ``catalog`` (computed once per catalog object)."""
    found = _CATALOGS.get(id(catalog))
    if found is None or found[0] is not catalog:
        if len(_CATALOGS) >= 16:
            _CATALOGS.clear()
        found = _CATALOGS[id(catalog)] = (catalog, tuple(_static(a) for a in catalog.actions))
    return found[1]


def _rules(static: _Static, inp: _Inputs) -> tuple[bool, tuple[str, ...], str | None]:
    found = inp.verdicts.get(static.rule_keys)
    if found is None:
        found = inp.verdicts[static.rule_keys] = _verdict(static, inp)
    return found


def _verdict(static: _Static, inp: _Inputs) -> tuple[bool, tuple[str, ...], str | None]:
    passed: list[str] = []
    memo = inp.memo
    for rule, key in static.rules:
        ok = memo.get(key)
        if ok is None:
            ok = memo[key] = holds(rule, inp.facts)
        if not ok:
            return False, tuple(passed), key
        passed.append(key)
    return True, tuple(passed), None


Gate = tuple[ConsentUse | None, str]


def _gate(static: _Static, channel: str, inp: _Inputs) -> Gate:
    """Consent and contact policy for the action on ``channel``: (consent use, "") when allowed,
    else (None, the reason). Shared by every action with the same purpose and data."""
    action = static.action
    declined = action.id in inp.declined
    key = (action.purpose, static.categories, channel)
    found = None if declined else inp.gates.get(key)
    if found is not None:
        return found
    use = inp.consent(action.purpose, static.categories, channel, inp.at)
    if not use.allowed:
        found = (None, f"consent: {action.purpose} on {channel} not allowed")
    else:
        result = evaluate(inp.policy.state, channel, action.purpose, inp.at, inp.policy.config,
                          inp.policy.calendar, action.id if declined else None,
                          inbound=channel == inp.context.inbound_channel)
        found = (use, "") if result.allowed else (None, f"contact policy on {channel}: {', '.join(result.reasons)}")
    if not declined:
        inp.gates[key] = found
    return found


def _routes(static: _Static, channel: str | None, inp: _Inputs) -> tuple[tuple[tuple[str, ConsentUse], ...], str]:
    """The allowed channels of the action (with their consent) and, if none, why not; shared
    by the actions with the same purpose, data and channels unless the action was declined."""
    declined = static.action.id in inp.declined
    key = (static.action.purpose, static.categories, static.channels)
    found = None if declined else inp.routes.get(key)
    if found is not None:
        return found
    allowed: list[tuple[str, ConsentUse]] = []
    reason = "no channel"
    gates, purpose, categories = inp.gates, static.action.purpose, static.categories
    for ch in static.channels:
        if channel is not None and ch != channel:
            continue
        gate = None if declined else gates.get((purpose, categories, ch))  # most are known already
        use, why = gate if gate is not None else _gate(static, ch, inp)
        if use is None:
            reason = why
        else:
            allowed.append((ch, use))
    found = (tuple(allowed), reason)
    if not declined:
        inp.routes[key] = found
    return found


def _offer(action: Action, inp: _Inputs) -> Offer | None:
    """The action's offer (the same for every action with the same offers, in one decision)."""
    key = tuple(action.offers)
    if key not in inp.offers:
        inp.offers[key] = pick_offer(action, inp.catalog, inp.facts, inp.at, inp.policy.offer_usage)
    return inp.offers[key]


def _screen(static: _Static, channel: str | None, inp: _Inputs) -> _Screened | str:
    """The action with its allowed channels, or the reason it was left out."""
    action = static.action
    if static.windowed and not in_window(action, inp.at):
        return "outside its validity window"
    ok, passed, failed = _rules(static, inp)
    if not ok:
        return f"rule failed: {failed}"
    weights = action.context_weights
    weight = weights.get(inp.context.reason, weights.get("default", 1.0)) if weights else 1.0
    if weight <= 0:
        return f"not for context '{inp.context.reason}'"
    allowed, reason = _routes(static, channel, inp)
    if not allowed:
        return reason
    offer = _offer(action, inp) if action.offers else None
    value = (business_value(action, inp.facts) if action.value_rules else action.value) * (offer.boost if offer else 1.0)
    return _Screened(action, weight, value, static.levers, offer, passed, tuple(allowed))


def _posteriors(models: PropensityModels | BatchModels, pairs: list[tuple[str, str]], features: Mapping[str, float],
                profiling: bool) -> tuple[list[float], list[float]]:
    batch = getattr(models, "posteriors", None)
    if batch is not None:
        result: tuple[list[float], list[float]] = batch(pairs, features, profiling)
        return result
    single = cast(PropensityModels, models)
    props = [single.propensity(a, ch, {**features, f"ctx:channel={ch}": 1.0}, None, False, profiling)
             for a, ch in pairs]
    return [float(p.mean_logit) for p in props], [float(p.sd_logit) for p in props]


def _best_channels(screened: list[_Screened], inp: _Inputs) -> list[_Candidate]:
    """Each action on the channel where its expected value (p_mean x weight) is highest."""
    pairs = [(s.action.id, ch) for s in screened for ch, _ in s.channels]
    mus, sds = _posteriors(inp.models, pairs, inp.profile.features, inp.profiling.allowed)
    out: list[_Candidate] = []
    n = 0
    for s in screened:
        best: tuple[float, int, int] | None = None
        for j in range(len(s.channels)):
            if best is None or mus[n] > best[0]:
                best = (mus[n], j, n)
            n += 1
        assert best is not None
        _, j, k = best
        channel, use = s.channels[j]
        offer = s.offer if (s.action.purpose == "marketing" or use.may_promote) else None
        weight = s.weight * s.value * s.levers
        out.append(_Candidate(s.action, channel, weight, s.value * s.levers, mus[k], sds[k], s, offer, s.rules_passed, (inp.profiling, use)))
    return out


def _topic(action: Action, context: DecisionContext) -> str | None:
    """What the contact is about: the action's product, else the first product the trigger
    signalled (``context.features["signal_products"]``, as journeys pass it)."""
    if action.product:
        return action.product
    signalled = context.features.get("signal_products")
    return str(signalled[0]) if isinstance(signalled, list | tuple) and signalled else None


def _render(cand: _Candidate, inp: _Inputs) -> tuple[str | None, str, datetime | None]:
    treatment = cand.action.treatments[cand.channel]  # type: ignore[index]
    lang = inp.context.language
    until = offer_valid_until(cand.offer, inp.at) if cand.offer else None
    variables: dict[str, Any] = {
        **inp.profile.variables, **inp.context.variables,
        "product": cand.action.product, "channel": cand.channel, "topic": _topic(cand.action, inp.context),
        "offer": cand.offer.id if cand.offer else None,
        "offer_text": render(cand.offer.description.get(lang), {}) if cand.offer else "",
        "offer_valid_until": until.astimezone(ROME).strftime("%d/%m/%Y") if until else "",
    }
    subject = render(treatment.subject.get(lang), variables) if treatment.subject else None
    return subject, render(treatment.text.get(lang), variables), until


def decide(profile: ProfileView, context: DecisionContext, catalog: Catalog, policy: PolicyInputs,
           models: PropensityModels | BatchModels, clock: Clock | None = None, *, consent: ConsentCheck,
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
                  _facts(profile, profiling.allowed), frozenset(a for a, _ in policy.state.declines))
    screened: list[_Screened] = []
    rejected: dict[str, str] = {}
    for static in _statics(catalog):
        result = _screen(static, channel, inp)
        if isinstance(result, str):
            rejected[static.action.id] = result
        else:
            screened.append(result)
    candidates = {c.action.id: c for c in _best_channels(screened, inp)}
    spread = catalog.exploration if explore else 0.0
    scored = [Scored(c.action.id, c.mean_logit, c.sd_logit * spread, c.weight, c.baseline)
              for c in candidates.values()]
    choice = chooser(scored, rng, control_rate)
    signals = tuple(sorted(profile.signals)) if profiling.allowed else ()
    return Decision(tuple(_ranked(candidates[a], choice, signals, inp) for a in choice.ranked[:n]),
                    choice.control, catalog.version, rejected)


def _ranked(cand: _Candidate, choice: Choice, signals: tuple[str, ...], inp: _Inputs) -> RankedAction:
    subject, text, until = _render(cand, inp)
    p_mean = sigmoid(cand.mean_logit)
    p = choice.sampled.get(cand.action.id, p_mean)
    s = cand.screened
    terms = {"propensity": p, "context_weight": s.weight, "value": s.value, "levers": s.levers}
    return RankedAction(
        cand.action.id, cand.action.purpose, cand.action.product, cand.offer.id if cand.offer else None,
        until, cand.channel, cand.action.treatments[cand.channel].kind,  # type: ignore[index]
        subject, text, p * cand.weight, p_mean, choice.propensities.get(cand.action.id, 0.0),
        Explanation(cand.rules_passed, cand.consents, signals, terms, ("allowed",)))


__all__ = ["Chooser", "PolicyInputs", "decide", "offer_valid_until"]
