"""Arbitration: the pure ``decide`` that ranks the catalog's actions for one person, now.

score = propensity x context weight x value x levers. Each action passes eligibility,
applicability and suitability rules, gets its best allowed channel (consent and contact
policy), an offer whose conditions hold, a rendered treatment and an explanation.
No I/O here: the service loads the inputs and logs the result. Screening is
:mod:`.screening`; the models answer for every (action, channel) cell of the catalog at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import numpy as np

from bestnext.clock import ROME, Clock, as_utc
from bestnext.decisions.catalog import Action, Catalog, Offer
from bestnext.decisions.learning.models import sigmoid
from bestnext.decisions.learning.policies import Choice, Scored, choose, choose_arrays
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
from bestnext.decisions.offers import offer_valid_until
from bestnext.decisions.screening import Inputs, Plan, PolicyInputs, Screened, channel_gate, plan_of, screen
from bestnext.decisions.treatments import render

Chooser = Callable[[Sequence[Scored], np.random.Generator, float], Choice]


@dataclass(slots=True)
class _Candidate:
    """A ranked action with what its answer needs."""

    action: Action
    channel: str
    use: ConsentUse
    offer: Offer | None
    rules_passed: tuple[str, ...]
    weight: float  # context weight x value x levers
    terms: tuple[float, float, float]  # context weight, value, levers
    mean_logit: float


def _facts(profile: ProfileView, profiling: bool) -> dict[str, Any]:
    return {**profile.facts, **profile.signals} if profiling else dict(profile.facts)


def _posteriors(models: PropensityModels | BatchModels, plan: Plan, cells: np.ndarray, features: Mapping[str, float],
                profiling: bool) -> tuple[np.ndarray, np.ndarray]:
    """Logit mean and spread of each cell of the plan (batch models: every cell at once;
    others: only ``cells``, the allowed ones; the rest are NaN)."""
    batch = getattr(models, "posteriors", None)
    if batch is not None:
        arrays = getattr(models, "posterior_arrays", None)
        if arrays is not None:
            found: tuple[np.ndarray, np.ndarray] = arrays(plan.pairs, features, profiling)
            return found
        mu, sd = batch(plan.pairs, features, profiling)
        return np.asarray(mu, dtype=float), np.asarray(sd, dtype=float)
    single = cast(PropensityModels, models)
    mus, sds = np.full(len(plan.pairs), np.nan), np.full(len(plan.pairs), np.nan)
    for c in cells.tolist():
        a, ch = plan.pairs[c]
        p = single.propensity(a, ch, {**features, f"ctx:channel={ch}": 1.0}, None, False, profiling)
        mus[c], sds[c] = float(p.mean_logit), float(p.sd_logit)
    return mus, sds


def _best_cells(plan: Plan, screened: Screened, models: PropensityModels | BatchModels,
                profile: ProfileView, profiling: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each passed action on its allowed channel of highest mean (the first of ties): the
    position of that channel, its logit mean and spread."""
    cells = plan.cells[screened.index]
    mus, sds = _posteriors(models, plan, cells[screened.allowed], profile.features, profiling)
    means = np.where(screened.allowed, mus[cells], -np.inf)
    best = np.argmax(means, axis=1)
    chosen = cells[np.arange(len(best)), best]
    return best, mus[chosen], sds[chosen]


def _topic(action: Action, context: DecisionContext) -> str | None:
    """What the contact is about: the action's product, else the first product the trigger
    signalled (``context.features["signal_products"]``, as journeys pass it)."""
    if action.product:
        return action.product
    signalled = context.features.get("signal_products")
    return str(signalled[0]) if isinstance(signalled, list | tuple) and signalled else None


def _render(cand: _Candidate, profile: ProfileView, inp: Inputs) -> tuple[str | None, str, datetime | None]:
    treatment = cand.action.treatments[cand.channel]  # type: ignore[index]
    lang = inp.context.language
    until = offer_valid_until(cand.offer, inp.at) if cand.offer else None
    variables: dict[str, Any] = {
        **profile.variables, **inp.context.variables,
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
    inp = Inputs(context, catalog, policy, consent, at, _facts(profile, profiling.allowed),
                 frozenset(a for a, _ in policy.state.declines))
    plan = plan_of(catalog)
    screened = screen(plan, channel, inp)
    best, mean, sd = _best_cells(plan, screened, models, profile, profiling.allowed)
    levers = plan.levers[screened.index]
    weight = screened.weight * screened.value * levers
    baseline = screened.value * levers
    keys = [plan.ids[i] for i in screened.index.tolist()]
    spread = sd * (catalog.exploration if explore else 0.0)
    if chooser is choose:
        choice = choose_arrays(keys, mean, spread, weight, baseline, rng, control_rate, head=n)
    else:
        choice = chooser([Scored(*f) for f in zip(keys, mean.tolist(), spread.tolist(), weight.tolist(),
                                                  baseline.tolist(), strict=True)], rng, control_rate)
    signals = tuple(sorted(profile.signals)) if profiling.allowed else ()
    ranked = []
    for key in choice.ranked[:n]:
        r = keys.index(key)
        i = int(screened.index[r])
        ch = plan.channels[i][int(best[r])]
        use = channel_gate(plan, i, ch, inp)[0]
        assert use is not None
        action, offer = plan.actions[i], screened.offers[r]
        cand = _Candidate(action, ch, use, offer if (action.purpose == "marketing" or use.may_promote) else None,
                          plan.rule_keys[i], float(weight[r]),
                          (float(screened.weight[r]), float(screened.value[r]), float(levers[r])), float(mean[r]))
        ranked.append(_ranked(cand, choice, signals, profiling, profile, inp))
    return Decision(tuple(ranked), choice.control, catalog.version, screened.rejected)


def _ranked(cand: _Candidate, choice: Choice, signals: tuple[str, ...], profiling: ConsentUse,
            profile: ProfileView, inp: Inputs) -> RankedAction:
    subject, text, until = _render(cand, profile, inp)
    p_mean = sigmoid(cand.mean_logit)
    p = choice.sampled.get(cand.action.id, p_mean)
    weight, value, levers = cand.terms
    terms = {"propensity": p, "context_weight": weight, "value": value, "levers": levers}
    return RankedAction(
        cand.action.id, cand.action.purpose, cand.action.product, cand.offer.id if cand.offer else None,
        until, cand.channel, cand.action.treatments[cand.channel].kind,  # type: ignore[index]
        subject, text, p * cand.weight, p_mean, choice.propensities.get(cand.action.id, 0.0),
        Explanation(cand.rules_passed, (profiling, cand.use), signals, terms, ("allowed",)))


__all__ = ["Chooser", "PolicyInputs", "decide", "offer_valid_until"]
