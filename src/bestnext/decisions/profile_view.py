"""From a person's profile (``bestnext.profiles``) to what arbitration may read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from bestnext.clock import ROME
from bestnext.decisions.learning.features import build_features
from bestnext.decisions.model import ProfileView

FACT_TRAITS = ("residency", "country", "occupation", "risk_profile", "monthly_income", "gender",
               "has_children", "segment")


def _value(trait: Any) -> Any:
    if isinstance(trait, Mapping):
        return trait.get("value")
    return getattr(trait, "value", trait)


def _age(traits: Mapping[str, Any], at: datetime) -> int | None:
    age = traits.get("age")
    if isinstance(age, int | float) and not isinstance(age, bool):
        return int(age)
    born = traits.get("birth_date") or traits.get("birthday")
    if isinstance(born, str):
        try:
            day = date.fromisoformat(born[:10])
        except ValueError:
            return None
        today = at.astimezone(ROME).date()
        return today.year - day.year - ((today.month, today.day) < (day.month, day.day))
    return None


def build_view(person_id: str, traits: Mapping[str, Any], *, lifecycle_stage: str | None,
               holdings: list[str], interests: list[str], household: Any, event_count: int,
               at: datetime) -> ProfileView:
    """The profile view of one person.

    >>> from datetime import UTC
    >>> v = build_view("p1", {"age": 21, "first_name": "Martina"}, lifecycle_stage="lead",
    ...                holdings=[], interests=["prepaid_card"], household=None, event_count=3,
    ...                at=datetime(2025, 2, 27, tzinfo=UTC))
    >>> v.facts["age"], v.signals["interests"], v.variables["first_name"]
    (21, ['prepaid_card'], 'Martina')
    """
    age = _age(traits, at)
    has_household = bool(household)
    facts: dict[str, Any] = {k: traits[k] for k in FACT_TRAITS if traits.get(k) is not None}
    if "residency" not in facts and "country" in facts:
        facts["residency"] = facts["country"]
    facts.update({"age": age, "lifecycle_stage": lifecycle_stage, "holdings": list(holdings),
                  "household": has_household})
    facts.setdefault("has_children", "savings_junior" in holdings)
    features = build_features(age=age, lifecycle_stage=lifecycle_stage,
                              household="yes" if has_household else None, holdings=holdings,
                              interests=interests, event_count=event_count, profiling=True)
    variables = {"first_name": traits.get("first_name")}
    return ProfileView(person_id, facts, {"interests": list(interests)}, features, variables)


def view_of_profile(profile: Any, at: datetime) -> ProfileView:
    """Adapt ``bestnext.profiles`` ``Profile`` (see docs/CONTRACTS.md) to a :class:`ProfileView`."""
    traits = {str(k): _value(v) for k, v in dict(getattr(profile, "traits", {}) or {}).items()}
    raw = getattr(profile, "interests", ()) or ()
    interests = [str(i.get("product")) if isinstance(i, Mapping) else str(i) for i in raw]
    return build_view(str(profile.id), traits, lifecycle_stage=getattr(profile, "lifecycle_stage", None),
                      holdings=sorted(str(h) for h in (getattr(profile, "holdings", ()) or ())),
                      interests=sorted(set(interests)),
                      household=getattr(profile, "household", None),
                      event_count=int(getattr(profile, "event_count", 0) or 0), at=at)


__all__ = ["build_view", "view_of_profile"]
