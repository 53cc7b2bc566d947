"""Screening for arbitration: which actions of a catalog may be proposed now, on which channels.

An action passes its validity window, its rules (eligibility, the automatic "not already
held", applicability, suitability), a positive context weight, and keeps the channels that the
consent policy and the contact policy allow. The catalog is compiled once per catalog object
into a :class:`Plan` of index arrays, so that a decision evaluates each distinct rule, consent
and contact-policy gate once and screens every action with a few array operations; only the
rejected actions (for their reasons) and the ranked few are handled one by one. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from bestnext.calendar import BusinessCalendar
from bestnext.clock import ROME
from bestnext.decisions.catalog import Action, Catalog, Offer
from bestnext.decisions.contact_policy import ContactPolicyConfig, ContactState, evaluate
from bestnext.decisions.model import ConsentCheck, ConsentUse, DecisionContext
from bestnext.decisions.offers import business_value, in_window
from bestnext.decisions.rules import Condition, Rule, holds

Gate = tuple[ConsentUse | None, str]
GateKey = tuple[str, tuple[str, ...], str]  # (purpose, data categories, channel)
IntArray = np.ndarray[Any, np.dtype[np.intp]]


def rules_of(action: Action) -> list[Rule]:
    """An action's rules in the order they are checked (marketing: not already held)."""
    auto: list[Rule] = []
    if action.purpose == "marketing" and action.product:
        auto.append(Condition(field="holdings", op="not_contains", value=action.product))
    return [*action.eligibility, *auto, *action.applicability, *action.suitability]


def _padded(rows: list[list[int]], fill: int) -> IntArray:
    width = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), max(width, 1)), fill, dtype=np.intp)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out


class Plan:
    """A catalog compiled for screening (built once per catalog object, see :func:`plan_of`)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.actions = catalog.actions
        self.ids = [a.id for a in catalog.actions]
        self.position = {a.id: i for i, a in enumerate(catalog.actions)}
        self.categories = [tuple(a.data_categories) for a in catalog.actions]
        self.channels = [tuple(a.treatments) for a in catalog.actions]
        self.rule_keys: list[tuple[str, ...]] = []
        self.rules: list[Rule] = []  # distinct rules (by their description), evaluated once a decision
        seen: dict[str, int] = {}
        action_rules = []
        for action in catalog.actions:
            pairs = [(r, r.describe()) for r in rules_of(action)]
            self.rule_keys.append(tuple(k for _, k in pairs))
            for rule, key in pairs:
                if key not in seen:
                    seen[key] = len(self.rules)
                    self.rules.append(rule)
            action_rules.append([seen[k] for _, k in pairs])
        self.rule_names = list(seen)
        self.action_rules = _padded(action_rules, len(self.rules))  # the pad is a rule that holds
        self.gates: list[GateKey] = []  # distinct (purpose, categories, channel) gates
        gate_ids: dict[GateKey, int] = {}
        cells: list[list[int]] = []
        action_gates = []
        self.pairs: list[tuple[str, str]] = []  # every (action, channel): a cell of the posteriors
        for action, cats, chans in zip(catalog.actions, self.categories, self.channels, strict=True):
            row = []
            for ch in chans:
                row.append(gate_ids.setdefault((action.purpose, cats, ch), len(gate_ids)))
            action_gates.append(row)
            cells.append(list(range(len(self.pairs), len(self.pairs) + len(chans))))
            self.pairs.extend((action.id, ch) for ch in chans)
        self.gates = list(gate_ids)
        self.action_gates = _padded(action_gates, -1)
        self.cells = _padded(cells, -1)
        self.cell_channels = [ch for _, ch in self.pairs]
        self.windowed = [i for i, a in enumerate(catalog.actions) if a.valid_from or a.valid_until]
        self.valued = np.array([bool(a.value_rules) for a in catalog.actions])
        self.values = np.array([a.value for a in catalog.actions], dtype=float)
        self.levers = np.array([a.levers.weight * a.levers.priority for a in catalog.actions], dtype=float)
        self.products = np.array([a.product or "" for a in catalog.actions], dtype=object)
        self.interest_weight = catalog.interest_weight
        offer_groups: dict[tuple[str, ...], int] = {}
        self.offer_group = np.array([offer_groups.setdefault(tuple(a.offers), len(offer_groups)) if a.offers
                                     else -1 for a in catalog.actions], dtype=np.intp)
        by_id = {o.id: o for o in catalog.offers}
        self.offer_lists = [[(by_id[o], tuple((r, r.describe()) for r in by_id[o].conditions)) for o in k]
                            for k in offer_groups]
        self._weights: dict[str, np.ndarray] = {}

    def weights(self, reason: str) -> np.ndarray:
        """Each action's context weight for ``reason`` (cached per reason, a few kept)."""
        found = self._weights.get(reason)
        if found is None:
            if len(self._weights) >= 64:
                self._weights.clear()
            found = self._weights[reason] = np.array(
                [w.get(reason, w.get("default", 1.0)) if w else 1.0 for w in (a.context_weights for a in self.actions)],
                dtype=float)
        return found


_PLANS: dict[int, Plan] = {}


def plan_of(catalog: Catalog) -> Plan:
    """The plan of ``catalog`` (compiled once per catalog object)."""
    found = _PLANS.get(id(catalog))
    if found is None or found.catalog is not catalog:
        if len(_PLANS) >= 16:
            _PLANS.clear()
        found = _PLANS[id(catalog)] = Plan(catalog)
    return found


@dataclass(frozen=True, slots=True)
class PolicyInputs:
    """The contact-policy side of a decision: the person's state and the bank's policy."""

    state: ContactState
    config: ContactPolicyConfig = field(default_factory=ContactPolicyConfig)
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    offer_usage: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Inputs:
    """What one decision knows (and remembers while it screens)."""

    context: DecisionContext
    catalog: Catalog
    policy: PolicyInputs
    consent: ConsentCheck
    at: datetime
    facts: dict[str, Any]
    declined: frozenset[str]
    gates: dict[GateKey, Gate] = field(default_factory=dict)


@dataclass(slots=True)
class Screened:
    """The actions that passed (catalog order), with what ranking and explaining them needs."""

    index: IntArray  # positions in the catalog
    allowed: np.ndarray  # (passed, channels): whether each of its channels is allowed
    weight: np.ndarray  # context weight
    value: np.ndarray  # business value x the offer's boost
    offers: list[Offer | None]
    rejected: dict[str, str]


def gate(inp: Inputs, purpose: str, categories: tuple[str, ...], channel: str, declined: str | None = None) -> Gate:
    """Consent and contact policy on ``channel``: (consent use, "") when allowed, else (None,
    the reason). Shared by every action with the same purpose and data, unless declined."""
    key = (purpose, categories, channel)
    found = None if declined else inp.gates.get(key)
    if found is not None:
        return found
    use = inp.consent(purpose, categories, channel, inp.at)
    if not use.allowed:
        found = (None, f"consent: {purpose} on {channel} not allowed")
    else:
        result = evaluate(inp.policy.state, channel, purpose, inp.at, inp.policy.config, inp.policy.calendar,
                          declined, inbound=channel == inp.context.inbound_channel)
        found = (use, "") if result.allowed else (None, f"contact policy on {channel}: {', '.join(result.reasons)}")
    if not declined:
        inp.gates[key] = found
    return found


def channel_gate(plan: Plan, i: int, channel: str, inp: Inputs) -> Gate:
    """The gate of action ``i`` on ``channel`` (its own when the person declined it)."""
    action = plan.actions[i]
    return gate(inp, action.purpose, plan.categories[i], channel, action.id if action.id in inp.declined else None)


def _no_route(plan: Plan, i: int, channel: str | None, inp: Inputs) -> str:
    reason = "no channel"
    for ch in plan.channels[i]:
        if channel is None or ch == channel:
            use, why = channel_gate(plan, i, ch, inp)
            if use is None:
                reason = why
    return reason


def _allowed(plan: Plan, channel: str | None, inp: Inputs, candidates: IntArray) -> np.ndarray:
    """(candidates, channels): which channels of each candidate are allowed."""
    gates = plan.action_gates[candidates]
    needed = np.unique(gates[gates >= 0])
    ok = np.zeros(len(plan.gates) + 1, dtype=bool)  # the last: padding, never allowed
    for g in needed.tolist():
        purpose, cats, ch = plan.gates[g]
        ok[g] = (channel is None or ch == channel) and gate(inp, purpose, cats, ch)[0] is not None
    allowed: np.ndarray = ok[gates]
    if inp.declined:
        for row, i in enumerate(candidates.tolist()):
            if plan.ids[i] in inp.declined:
                for j, ch in enumerate(plan.channels[i]):
                    allowed[row, j] = (channel is None or ch == channel) and \
                        channel_gate(plan, i, ch, inp)[0] is not None
    return allowed


def interests_of(inp: Inputs) -> tuple[set[str], bool]:
    """The products the person is interested in: what the moment signals (the trigger's
    ``signal_products``) and, only with profiling (then ``facts`` holds the signals), the
    profile's interests; and whether the moment signalled any."""
    found: set[str] = set()
    signalled = inp.context.features.get("signal_products")
    for source in (signalled, inp.facts.get("interests")):
        if isinstance(source, list | tuple | set | frozenset):
            found.update(str(p) for p in source)
    return found, bool(signalled)


def _with_interests(plan: Plan, inp: Inputs, weights: np.ndarray) -> np.ndarray:
    """Context weights, times the catalog's ``interest_weight`` for the actions about a product
    of interest (an action without a product is about what the moment signalled, if anything)."""
    interests, signalled = interests_of(inp)
    if plan.interest_weight == 1.0 or not interests:
        return weights
    about = np.isin(plan.products, list(interests)) | ((plan.products == "") & signalled)
    boosted: np.ndarray = np.where(about, weights * plan.interest_weight, weights)
    return boosted


def screen(plan: Plan, channel: str | None, inp: Inputs) -> Screened:
    """Every action's verdict: the passed ones as arrays, the others' first failed check."""
    verdicts = [holds(r, inp.facts) for r in plan.rules]
    held = np.array([*verdicts, True])
    rule_ok = held[plan.action_rules]
    passed = np.asarray(rule_ok.all(axis=1))
    in_time = np.ones(len(plan.ids), dtype=bool)
    for i in plan.windowed:
        in_time[i] = in_window(plan.actions[i], inp.at)
    weights = _with_interests(plan, inp, plan.weights(inp.context.reason))
    first = np.flatnonzero(in_time & passed & (weights > 0))
    allowed = _allowed(plan, channel, inp, first)
    routed = allowed.any(axis=1)
    index = first[routed]
    rejected = _rejected(plan, channel, inp, in_time, passed, rule_ok, weights, index)
    offers, value = _values(plan, inp, index, dict(zip(plan.rule_names, verdicts, strict=True)))
    return Screened(index, allowed[routed], weights[index], value, offers, rejected)


def _rejected(plan: Plan, channel: str | None, inp: Inputs, in_time: np.ndarray, passed: np.ndarray,
              rule_ok: np.ndarray, weights: np.ndarray, index: IntArray) -> dict[str, str]:
    """Why each action left out was (its first failed check), in catalog order."""
    out: dict[str, str] = {}
    keep = np.zeros(len(plan.ids), dtype=bool)
    keep[index] = True
    failed_rule = np.argmin(rule_ok, axis=1)
    routes: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}
    reason = f"not for context '{inp.context.reason}'"
    for i in np.flatnonzero(~keep).tolist():
        if not in_time[i]:
            out[plan.ids[i]] = "outside its validity window"
        elif not passed[i]:
            out[plan.ids[i]] = f"rule failed: {plan.rule_keys[i][failed_rule[i]]}"
        elif weights[i] <= 0:
            out[plan.ids[i]] = reason
        elif plan.ids[i] in inp.declined:
            out[plan.ids[i]] = _no_route(plan, i, channel, inp)
        else:
            key = (plan.actions[i].purpose, plan.categories[i], plan.channels[i])
            if key not in routes:
                routes[key] = _no_route(plan, i, channel, inp)
            out[plan.ids[i]] = routes[key]
    return out


def _pick(plan: Plan, group: int, inp: Inputs, memo: dict[str, bool], day: date) -> Offer | None:
    """The first offer of a list whose conditions hold, within budget and validity
    (:func:`bestnext.decisions.offers.pick_offer`, with the rules judged once a decision)."""
    usage = inp.policy.offer_usage
    for offer, conditions in plan.offer_lists[group]:
        if offer.budget is not None and usage.get(offer.id, 0) >= offer.budget:
            continue
        if (offer.valid_from and day < offer.valid_from) or (offer.valid_until and day > offer.valid_until):
            continue
        ok = True
        for rule, key in conditions:
            held = memo.get(key)
            if held is None:
                held = memo[key] = holds(rule, inp.facts)
            if not held:
                ok = False
                break
        if ok:
            return offer
    return None


def _values(plan: Plan, inp: Inputs, index: IntArray, memo: dict[str, bool]) -> tuple[list[Offer | None], np.ndarray]:
    """The offer of each passed action (one pick per distinct offer list) and its value."""
    picked: dict[int, Offer | None] = {}
    offers: list[Offer | None] = []
    day = inp.at.astimezone(ROME).date()
    boost = np.ones(len(index))
    for n, g in enumerate(plan.offer_group[index].tolist()):
        if g < 0:
            offers.append(None)
            continue
        if g not in picked:
            picked[g] = _pick(plan, g, inp, memo, day)
        offer = picked[g]
        offers.append(offer)
        if offer is not None:
            boost[n] = offer.boost
    base = plan.values[index]
    for n in np.flatnonzero(plan.valued[index]).tolist():
        base[n] = business_value(plan.actions[int(index[n])], inp.facts)
    value: np.ndarray = base * boost
    return offers, value


__all__ = ["Gate", "Inputs", "Plan", "PolicyInputs", "Screened", "channel_gate", "plan_of", "rules_of", "screen"]
