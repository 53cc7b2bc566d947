"""A profile is a fold of a person's events (no I/O): traits, lifecycle stage, holdings,
interests, counts. Folding is order-insensitive where it matters (latest value by event
time) and two folds combine (a merge), so profiles stay derivable from the log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bestnext.identity.model import names_someone

PRODUCTS = ("current_account", "savings_junior", "prepaid_card", "pension_fund",
            "family_mortgage", "security_token")
# Products a person can show commercial interest in (a token is a service, not a sale).
MARKETED = frozenset(PRODUCTS) - {"security_token"}
# Words of page paths, titles and questions that point at a product (Italian and English).
KEYWORDS: dict[str, tuple[str, ...]] = {
    "prepaid_card": ("prepagat", "prepaid"),
    "pension_fund": ("pension", "previdenz"),
    "family_mortgage": ("mutu", "mortgage"),
    "savings_junior": ("salvadanai", "junior", "risparmi", "savings"),
    "current_account": ("conto-corrente", "conto corrente", "current account", "current-account"),
}
HOLDING_EVENTS = frozenset({"Account Opened", "Product Subscribed"})
STAGES = ("lead", "prospect", "customer")
_NEGATIVE = re.compile(r"clos|cancel|fail|reject|declin", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Facts:
    """What one event says about its person."""

    message_id: str
    at: str
    touchpoint: str
    traits: dict[str, Any]
    reachable: bool
    holdings: tuple[str, ...]
    interests: tuple[str, ...]
    holders: tuple[str, ...] = ()
    # False for the bank's own records (sends, receipts): they name no identifier of the
    # person, stay on the timeline, and are not folded into the profile.
    identified: bool = True


@dataclass(slots=True)
class ProfileState:
    """The fold of a person's events."""

    traits: dict[str, dict[str, Any]] = field(default_factory=dict)
    holdings: dict[str, dict[str, Any]] = field(default_factory=dict)
    interests: dict[str, dict[str, Any]] = field(default_factory=dict)
    reachable: bool = False
    event_count: int = 0
    first_seen: str | None = None
    last_seen: str | None = None

    @property
    def stage(self) -> str | None:
        """Customer (holds a product) > prospect (reachable, showed interest) > lead
        (reachable); None for an anonymous visitor.

        >>> s = ProfileState(reachable=True)
        >>> s.stage
        'lead'
        >>> s.interests["prepaid_card"] = {"at": "2025-01-01T00:00:00+00:00", "message_id": "m"}
        >>> s.stage
        'prospect'
        """
        if self.holdings:
            return "customer"
        if self.reachable:
            return "prospect" if self.interests else "lead"
        return None

    def apply(self, facts: Facts) -> None:
        """Fold one event's facts in (counted once)."""
        self.event_count += 1
        self.reachable = self.reachable or facts.reachable
        self.first_seen = min(filter(None, (self.first_seen, facts.at)))
        self.last_seen = max(filter(None, (self.last_seen, facts.at)))
        for name, value in facts.traits.items():
            self._trait(name, {"value": value, "source": facts.touchpoint, "at": facts.at,
                               "message_id": facts.message_id})
        for product in facts.holdings:
            self.hold(product, facts.at, facts.message_id)
        for product in facts.interests:
            self._interest(product, {"at": facts.at, "message_id": facts.message_id})

    def hold(self, product: str, at: str, message_id: str) -> None:
        known = self.holdings.get(product)
        if known is None or at < known["since"]:
            self.holdings[product] = {"since": at, "message_id": message_id}

    def _trait(self, name: str, item: dict[str, Any]) -> None:
        known = self.traits.get(name)
        if known is None or (item["at"], item["message_id"]) >= (known["at"], known["message_id"]):
            self.traits[name] = item

    def _interest(self, product: str, item: dict[str, Any]) -> None:
        known = self.interests.get(product)
        if known is None or (item["at"], item["message_id"]) >= (known["at"], known["message_id"]):
            self.interests[product] = item

    def combine(self, other: ProfileState) -> None:
        """Fold another person's profile in (a merge)."""
        for name, item in other.traits.items():
            self._trait(name, item)
        for product, held in other.holdings.items():
            self.hold(product, held["since"], held["message_id"])
        for product, item in other.interests.items():
            self._interest(product, item)
        self.reachable = self.reachable or other.reachable
        self.event_count += other.event_count
        self.first_seen = min(filter(None, (self.first_seen, other.first_seen)), default=None)
        self.last_seen = max(filter(None, (self.last_seen, other.last_seen)), default=None)

    def to_doc(self) -> dict[str, Any]:
        return {"traits": self.traits, "holdings": self.holdings, "interests": self.interests,
                "reachable": self.reachable, "first_seen": self.first_seen,
                "last_seen": self.last_seen}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], event_count: int) -> ProfileState:
        return cls(dict(doc.get("traits", {})), dict(doc.get("holdings", {})),
                   dict(doc.get("interests", {})), bool(doc.get("reachable")), event_count,
                   doc.get("first_seen"), doc.get("last_seen"))


def stage_rank(stage: str | None) -> int:
    """Order of stages; ``None`` (anonymous) is lowest.

    >>> stage_rank("customer") > stage_rank("prospect") > stage_rank("lead") > stage_rank(None)
    True
    """
    return STAGES.index(stage) + 1 if stage in STAGES else 0


def products_in(text: str) -> list[str]:
    """Products a free text, a page path or title points at.

    >>> products_in("/previdenza/fondo-pensione")
    ['pension_fund']
    >>> products_in("Hi, how much does your prepaid card cost?")
    ['prepaid_card']
    """
    low = text.lower()
    found = [p for p in PRODUCTS if p in low]
    found += [p for p, words in KEYWORDS.items() if any(w in low for w in words)]
    return list(dict.fromkeys(found))


def facts_of(payload: Mapping[str, Any], touchpoint: str, at: datetime, message_id: str) -> Facts:
    """What one Segment message says about its sender.

    >>> from datetime import UTC, datetime
    >>> f = facts_of({"type": "track", "event": "Form Submitted", "anonymousId": "w",
    ...               "traits": {"email": "a@b.it"}, "properties": {"product": "prepaid_card"}},
    ...              "web", datetime(2025, 2, 21, tzinfo=UTC), "m1")
    >>> f.reachable, f.interests, f.holdings
    (True, ('prepaid_card',), ())
    """
    props = payload.get("properties")
    props = props if isinstance(props, Mapping) else {}
    event = str(payload.get("event") or "")
    product = props.get("product") if isinstance(props.get("product"), str) else None
    holdings: tuple[str, ...] = ()
    if product in PRODUCTS and (event in HOLDING_EVENTS or (
            touchpoint == "core_banking" and not _NEGATIVE.search(event))):
        holdings = (product,)
    interests = [] if holdings else _interests(payload, props, product)
    holders = props.get("holders") if event in HOLDING_EVENTS and holdings else None
    identified, reachable = names_someone(payload)
    return Facts(
        message_id=message_id, at=at.isoformat(), touchpoint=touchpoint,
        traits=_traits(payload),
        reachable=reachable,
        holdings=holdings, interests=tuple(p for p in interests if p in MARKETED),
        holders=tuple(str(h) for h in holders) if isinstance(holders, list) else (),
        identified=identified)


def _interests(payload: Mapping[str, Any], props: Mapping[str, Any], product: str | None) -> list[str]:
    found = [product] if product else []
    category = props.get("category")
    if isinstance(category, str) and category in PRODUCTS:
        found.append(category)
    texts: Iterable[object] = ()
    if payload.get("type") in ("page", "screen"):
        texts = (props.get("path"), props.get("title"), payload.get("name"), props.get("url"))
    elif isinstance(props.get("text"), str) and "?" in props["text"]:
        texts = (props["text"],)  # a question about a product
    for text in texts:
        if isinstance(text, str):
            found += products_in(text)
    return list(dict.fromkeys(found))


def _traits(payload: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    context = payload.get("context")
    if isinstance(context, Mapping) and isinstance(context.get("traits"), Mapping):
        merged.update(context["traits"])
    if payload.get("type") in ("identify", "alias") and isinstance(payload.get("traits"), Mapping):
        merged.update(payload["traits"])
    return merged
