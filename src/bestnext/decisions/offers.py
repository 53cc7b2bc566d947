"""Offers, business value and validity windows of catalog actions (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from bestnext.clock import ROME, as_utc
from bestnext.decisions.catalog import Action, Catalog, Offer
from bestnext.decisions.rules import holds


def in_window(action: Action, at: datetime) -> bool:
    """Whether ``at`` (local date) is inside the action's validity window."""
    day = at.astimezone(ROME).date()
    return (action.valid_from is None or action.valid_from <= day) and (
        action.valid_until is None or day <= action.valid_until)


def business_value(action: Action, facts: Mapping[str, Any]) -> float:
    """The value of the first value rule that holds, else the action's value."""
    for rule in action.value_rules:
        if all(holds(r, facts) for r in rule.when):
            return rule.value
    return action.value


def pick_offer(action: Action, catalog: Catalog, facts: Mapping[str, Any], at: datetime,
           usage: Mapping[str, int]) -> Offer | None:
    """The first of the action's offers whose conditions hold, within budget and validity."""
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


__all__ = ["business_value", "in_window", "offer_valid_until", "pick_offer"]
