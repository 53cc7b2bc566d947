"""Feature dictionaries for the propensity models, and the behavioural ones that need consent.

Keys are ``"name=value"`` one-hots (value 1.0) or ``"name"`` numbers. Profile and contract data
(age band, lifecycle stage, household, products held) and the decision's context (channel,
weekday, hour band, inbound or outbound) are always usable. **Behavioural** keys are derived
from what a person did (interests shown, activity level, engagement, recency, preferred
channel): they start with one of :data:`BEHAVIOURAL_PREFIXES` and are used only when the person
granted ``profiling``; :func:`drop_behavioural` removes them otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

BEHAVIOURAL_PREFIXES: tuple[str, ...] = (
    "interest:", "activity=", "engagement=", "recency=", "prefers=", "bhv:",
)


def is_behavioural(key: str) -> bool:
    """Whether a feature key is a behavioural signal.

    Examples
    --------
    >>> is_behavioural("interest:pension_fund"), is_behavioural("holds:current_account")
    (True, False)
    """
    return key.startswith(BEHAVIOURAL_PREFIXES)


def drop_behavioural(x: Mapping[str, float], profiling: bool) -> dict[str, float]:
    """The features usable for a person: all of them with ``profiling``, else the non-behavioural.

    Examples
    --------
    >>> drop_behavioural({"age=30-49": 1.0, "activity=high": 1.0}, profiling=False)
    {'age=30-49': 1.0}
    """
    if profiling:
        return dict(x)
    return {k: v for k, v in x.items() if not is_behavioural(k)}


def age_band(age: int | None) -> str:
    """The age band used as a feature.

    Examples
    --------
    >>> age_band(17), age_band(25), age_band(45), age_band(70), age_band(None)
    ('minor', '18-29', '30-49', '65+', 'unknown')
    """
    if age is None:
        return "unknown"
    for limit, band in ((18, "minor"), (30, "18-29"), (50, "30-49"), (65, "50-64")):
        if age < limit:
            return band
    return "65+"


def activity_band(event_count: int) -> str:
    """Coarse activity level from a count of events.

    Examples
    --------
    >>> activity_band(0), activity_band(5), activity_band(100)
    ('none', 'low', 'high')
    """
    return "none" if event_count <= 0 else "low" if event_count < 20 else "high"


def build_features(
    *,
    age: int | None = None,
    lifecycle_stage: str | None = None,
    household: str | None = None,
    holdings: Iterable[str] = (),
    interests: Iterable[str] = (),
    event_count: int = 0,
    context: Mapping[str, Any] | None = None,
    profiling: bool,
) -> dict[str, float]:
    """Features of a person at a decision moment (behavioural ones only with ``profiling``).

    Examples
    --------
    >>> sorted(build_features(age=34, holdings=["current_account"], interests=["pension_fund"],
    ...                       context={"channel": "email"}, profiling=False))
    ['age=30-49', 'ctx:channel=email', 'holds:current_account']
    """
    x: dict[str, float] = {f"age={age_band(age)}": 1.0}
    if lifecycle_stage:
        x[f"stage={lifecycle_stage}"] = 1.0
    if household:
        x[f"household={household}"] = 1.0
    for product in holdings:
        x[f"holds:{product}"] = 1.0
    for product in interests:
        x[f"interest:{product}"] = 1.0
    if event_count:
        x[f"activity={activity_band(event_count)}"] = 1.0
    for key, value in sorted((context or {}).items()):
        if isinstance(value, bool | int | float) and not isinstance(value, bool):
            x[f"ctx:{key}"] = float(value)
        elif value is not None:
            x[f"ctx:{key}={value}"] = 1.0
    return drop_behavioural(x, profiling)
