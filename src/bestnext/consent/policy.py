"""The one function that decides every use of a person's data: :func:`may`.

Decisioning, journeys, channels, exports and model training call it (through
``consent.services.may`` when they hold a connection); nothing else reads consent tables.

Rules
-----
- Absent means refused, except what the law allows without consent: serving the person's
  own request and running their contracts (``Use.SERVICE`` on declared/request/contract data).
- ``own_marketing`` gates the bank's promotions on every channel; ``third_party_marketing``
  gates partners' offers; ``transfer_to_third_parties`` gates exports; ``satisfaction_survey``
  gates surveys; ``profiling`` gates behavioural data (and profiling, model training, and
  ``engagement_tracking``: an open pixel and tracked links in the bank's emails observe how the
  person reads them, which is profiling);
  ``sensitive_data`` gates sensitive data; ``personal_data`` gates every use beyond service.
- A service answer may carry a promotion only when ``own_marketing`` is granted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TypeVar

from bestnext.consent.model import ConsentState, DataCategory, Decision, Purpose, Reason, Use

V = TypeVar("V")

# The consent each use needs besides the data categories it reads.
_NEEDS: dict[Use, tuple[Purpose, ...]] = {
    Use.SERVICE: (),
    Use.MARKETING: (Purpose.PERSONAL_DATA, Purpose.OWN_MARKETING),
    Use.THIRD_PARTY_MARKETING: (Purpose.PERSONAL_DATA, Purpose.THIRD_PARTY_MARKETING),
    Use.SURVEY: (Purpose.PERSONAL_DATA, Purpose.SATISFACTION_SURVEY),
    Use.EXPORT: (Purpose.PERSONAL_DATA, Purpose.TRANSFER_TO_THIRD_PARTIES),
    Use.PROFILING: (Purpose.PERSONAL_DATA, Purpose.PROFILING),
    Use.MODEL_TRAINING: (Purpose.PERSONAL_DATA, Purpose.PROFILING),
    Use.ENGAGEMENT_TRACKING: (Purpose.PERSONAL_DATA, Purpose.PROFILING),
}
_CATEGORY_NEEDS: dict[DataCategory, Purpose] = {
    DataCategory.BEHAVIOURAL: Purpose.PROFILING,
    DataCategory.SENSITIVE: Purpose.SENSITIVE_DATA,
}

# Fields that are sensitive data (health, beliefs, origin, opinions...).
SENSITIVE_FIELDS = frozenset({
    "health", "health_condition", "disability", "pregnancy", "religion", "beliefs",
    "religious_beliefs", "philosophical_beliefs", "political_opinions", "political_party",
    "trade_union", "trade_union_membership", "ethnic_origin", "racial_origin", "ethnicity",
    "sexual_orientation", "sex_life", "genetic_data", "biometric_data", "criminal_record",
})
_SENSITIVE_PREFIXES = ("sensitive_", "health_", "medical_")

# Signals (event names, message types, feature names) that are the person's own statements,
# requests or contract data; anything else is behavioural and needs ``profiling``.
_NOT_BEHAVIOURAL: dict[str, DataCategory] = {
    "identify": DataCategory.DECLARED,
    "Form Submitted": DataCategory.DECLARED,
    "Lead Received": DataCategory.DECLARED,
    "Consent Preferences Updated": DataCategory.DECLARED,
    "Social Message Posted": DataCategory.REQUEST,
    "SMS Replied": DataCategory.REQUEST,
    "Transfer Failed": DataCategory.REQUEST,
    "Call Back Requested": DataCategory.REQUEST,
    "Product Subscribed": DataCategory.CONTRACT,
    "Account Opened": DataCategory.CONTRACT,
    "Standing Order Created": DataCategory.CONTRACT,
    "holdings": DataCategory.CONTRACT,
    "lifecycle_stage": DataCategory.DECLARED,
    "declared_interest": DataCategory.DECLARED,
}


def signal_category(signal: str) -> DataCategory:
    """The data category of a signal; unknown signals count as behavioural.

    >>> signal_category("Form Submitted"), signal_category("Competitor Site Visited")
    (<DataCategory.DECLARED: 'declared'>, <DataCategory.BEHAVIOURAL: 'behavioural'>)
    """
    if is_sensitive_field(signal):
        return DataCategory.SENSITIVE
    return _NOT_BEHAVIOURAL.get(signal, DataCategory.BEHAVIOURAL)


def is_sensitive_field(name: str) -> bool:
    """Whether a trait or feature name holds sensitive data.

    >>> is_sensitive_field("health_condition"), is_sensitive_field("city")
    (True, False)
    """
    lowered = name.lower()
    return lowered in SENSITIVE_FIELDS or lowered.startswith(_SENSITIVE_PREFIXES)


def _consent_reason(state: ConsentState, purpose: Purpose, needed_for: str) -> Reason:
    entry = state.latest(purpose)
    if entry is None:
        return Reason("consent.absent", f"no {purpose.value} consent recorded (absent means refused): "
                      f"{needed_for} not allowed", purpose.value, False)
    verb = "granted" if entry.granted else "refused"
    code = "consent.granted" if entry.granted else "consent.refused"
    where = f" on {entry.source.touchpoint}" if entry.source.touchpoint else ""
    return Reason(code, f"{purpose.value} {verb}{where} at {entry.at.isoformat()}: {needed_for} "
                  f"{'allowed' if entry.granted else 'not allowed'}",
                  purpose.value, entry.granted, entry.source.message_id)


def may(state: ConsentState, purpose_of_use: Use | str, data_categories: Iterable[DataCategory | str],
        channel: str | None, at: datetime | None) -> Decision:
    """Decide whether ``purpose_of_use`` of ``data_categories`` is allowed at ``at``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from bestnext.consent.model import ConsentEntry, Source
    >>> t = datetime(2025, 1, 1, tzinfo=UTC)
    >>> s = ConsentState("p", (ConsentEntry(Purpose.PERSONAL_DATA, True, Source("web"), t),
    ...                        ConsentEntry(Purpose.OWN_MARKETING, True, Source("web"), t)))
    >>> may(s, "marketing", ["declared"], "email", t).allowed
    True
    >>> may(s, "marketing", ["behavioural"], "email", t).allowed
    False
    >>> d = may(ConsentState("p"), "service", ["request"], "social", t)
    >>> d.allowed, d.may_promote
    (True, False)
    """
    use = Use(purpose_of_use)
    categories = sorted({DataCategory(c) for c in data_categories})
    known = state.as_of(at)
    reasons: list[Reason] = []
    allowed = True
    if use is Use.SERVICE:
        reasons.append(Reason("law.service", "serving the person's own request or contract needs no "
                              "consent", None, None))
    for purpose in _NEEDS[use]:
        reason = _consent_reason(known, purpose, use.value)
        allowed = allowed and bool(reason.granted)
        reasons.append(reason)
    for category in categories:
        needed = _CATEGORY_NEEDS.get(category)
        if needed is not None:
            reason = _consent_reason(known, needed, f"using {category.value} data")
            allowed = allowed and bool(reason.granted)
            reasons.append(reason)
    if channel:
        reasons.append(Reason("channel", f"channel {channel}: {use.value} consents apply on every channel"))
    promote = allowed and use in (Use.SERVICE, Use.MARKETING) and known.granted(Purpose.OWN_MARKETING) \
        and known.granted(Purpose.PERSONAL_DATA)
    if use is Use.SERVICE and not promote:
        reasons.append(Reason("service.no_promotion", "without own_marketing a service contact must carry "
                              "no promotion", Purpose.OWN_MARKETING.value, False))
    return Decision(allowed, tuple(reasons), promote)


def allowed_signals(state: ConsentState, signals: Iterable[str], at: datetime | None = None) -> list[str]:
    """The signals a decision may use: behavioural ones only with ``profiling``, sensitive
    ones only with ``sensitive_data``.

    >>> allowed_signals(ConsentState("p"), ["Form Submitted", "page", "health"])
    ['Form Submitted']
    """
    known = state.as_of(at)
    out = []
    for signal in signals:
        needed = _CATEGORY_NEEDS.get(signal_category(signal))
        if needed is None or known.granted(needed):
            out.append(signal)
    return out


def filter_sensitive(state: ConsentState, traits: Mapping[str, V], at: datetime | None = None) -> dict[str, V]:
    """``traits`` without the sensitive fields unless ``sensitive_data`` is granted.

    >>> filter_sensitive(ConsentState("p"), {"city": "Milano", "health": "x"})
    {'city': 'Milano'}
    """
    if state.as_of(at).granted(Purpose.SENSITIVE_DATA):
        return dict(traits)
    return {k: v for k, v in traits.items() if not is_sensitive_field(k)}
