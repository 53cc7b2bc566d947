"""The contact policy: the one place that says whether the bank may contact a person now.

Used by decisions, journeys and the dispatcher. A pure core (:func:`evaluate`) over a
:class:`ContactState`; :func:`check` also accepts a database connection and loads the state.

Rules: quiet hours per channel (Italian holidays and Sundays closed), a marketing budget
across all channels (default 3 per rolling 7 days, 1 per channel per local day; inbound and
outbound contacts both count), cool-off after a decline of the same action and after a
complaint, and *service before sales* (an open service case suppresses marketing).

Examples
--------
>>> from datetime import datetime
>>> from bestnext.clock import ROME
>>> state = ContactState("p1")
>>> sunday = datetime(2025, 2, 23, 11, 0, tzinfo=ROME)
>>> r = evaluate(state, "sms", "marketing", sunday, ContactPolicyConfig())
>>> r.allowed, r.reasons, r.next_allowed_at.astimezone(ROME).isoformat()
(False, ('quiet_hours:sms',), '2025-02-24T09:00:00+01:00')
>>> evaluate(state, "email", "marketing", sunday, ContactPolicyConfig()).allowed
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection

from bestnext.calendar import BusinessCalendar, WeeklyHours
from bestnext.clock import ROME, as_utc
from bestnext.errors import ConfigInvalid

_DAYTIME: dict[str, str | list[str]] = {"mon-sat": "09:00-20:00"}


class QuietHours(BaseModel):
    """When a channel may be used (outside: quiet), and for which purposes that binds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: dict[str, str | list[str]] = Field(default_factory=lambda: dict(_DAYTIME))
    purposes: tuple[str, ...] = ("service", "marketing")


class RequestRule(BaseModel):
    """A person's own request (an event) and the time within which the bank must answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    within_hours: float = Field(gt=0)


def _default_quiet() -> dict[str, QuietHours]:
    return {"sms": QuietHours(), "call_center": QuietHours(),
            "push": QuietHours(purposes=("marketing",))}


def _default_requests() -> dict[str, RequestRule]:
    return {"Form Submitted": RequestRule(kind="information_request", within_hours=24),
            "Lead Received": RequestRule(kind="lead", within_hours=24),
            "Social Message Posted": RequestRule(kind="social_question", within_hours=2),
            "Call Back Requested": RequestRule(kind="call_back", within_hours=4)}


class ContactPolicyConfig(BaseModel):
    """``contact_policy.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    marketing_max_contacts: int = Field(default=3, ge=0)
    marketing_window_days: int = Field(default=7, ge=1)
    marketing_per_channel_per_day: int = Field(default=1, ge=0)
    quiet_hours: dict[str, QuietHours] = Field(default_factory=_default_quiet)
    decline_cool_off_days: int = Field(default=30, ge=0)
    complaint_cool_off_days: int = Field(default=30, ge=0)
    service_before_sales: bool = True
    requests: dict[str, RequestRule] = Field(default_factory=_default_requests)
    complaint_events: tuple[str, ...] = ("Complaint Filed",)
    case_opened_events: tuple[str, ...] = ("Service Case Opened",)
    case_closed_events: tuple[str, ...] = ("Service Case Closed",)

    def hours(self, channel: str) -> WeeklyHours:
        spec = self.quiet_hours[channel].hours
        return _parse_hours(tuple(sorted((k, (v,) if isinstance(v, str) else tuple(v))
                                         for k, v in spec.items())))


@lru_cache(maxsize=64)
def _parse_hours(spec: tuple[tuple[str, tuple[str, ...]], ...]) -> WeeklyHours:
    return WeeklyHours.parse({k: list(v) for k, v in spec})


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact with the person (outbound sent, or inbound assisted)."""

    at: datetime
    channel: str
    purpose: str
    action_id: str | None = None
    direction: str = "out"


@dataclass(frozen=True, slots=True)
class ContactState:
    """What the policy needs to know about one person."""

    person_id: str
    contacts: tuple[Contact, ...] = ()
    declines: tuple[tuple[str, datetime], ...] = ()  # (action id, when)
    complaints: tuple[datetime, ...] = ()
    open_cases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyResult:
    allowed: bool
    reasons: tuple[str, ...] = ()
    next_allowed_at: datetime | None = None


Block = tuple[str, datetime | None]
_CALENDAR = BusinessCalendar()


def _quiet(channel: str, purpose: str, at: datetime, cfg: ContactPolicyConfig,
           cal: BusinessCalendar) -> list[Block]:
    rule = cfg.quiet_hours.get(channel)
    if rule is None or purpose not in rule.purposes:
        return []
    hours = cfg.hours(channel)
    if cal.is_open(at, hours):
        return []
    try:
        return [(f"quiet_hours:{channel}", cal.next_open(at, hours, horizon_days=60))]
    except ValueError:
        return [(f"quiet_hours:{channel}", None)]


def _budget(state: ContactState, channel: str, at: datetime, cfg: ContactPolicyConfig) -> list[Block]:
    window = timedelta(days=cfg.marketing_window_days)
    recent = sorted(c.at for c in state.contacts
                    if c.purpose == "marketing" and at - window < as_utc(c.at) <= at)
    blocks: list[Block] = []
    if cfg.marketing_max_contacts == 0:
        blocks.append(("marketing_budget", None))
    elif len(recent) >= cfg.marketing_max_contacts:
        frees = as_utc(recent[len(recent) - cfg.marketing_max_contacts]) + window
        blocks.append(("marketing_budget", frees + timedelta(microseconds=1)))
    day = at.astimezone(ROME).date()
    today = [c for c in state.contacts if c.purpose == "marketing" and c.channel == channel
             and as_utc(c.at) <= at and as_utc(c.at).astimezone(ROME).date() == day]
    if cfg.marketing_per_channel_per_day == 0:
        blocks.append((f"daily_budget:{channel}", None))
    elif len(today) >= cfg.marketing_per_channel_per_day:
        midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=ROME)
        blocks.append((f"daily_budget:{channel}", as_utc(midnight)))
    return blocks


def _cool_off(state: ContactState, action_id: str | None, at: datetime,
              cfg: ContactPolicyConfig) -> list[Block]:
    blocks: list[Block] = []
    complaint_days = timedelta(days=cfg.complaint_cool_off_days)
    ends = [as_utc(c) + complaint_days for c in state.complaints if as_utc(c) <= at < as_utc(c) + complaint_days]
    if ends:
        blocks.append(("complaint_cool_off", max(ends)))
    if action_id is not None:
        decline_days = timedelta(days=cfg.decline_cool_off_days)
        ends = [as_utc(t) + decline_days for a, t in state.declines
                if a == action_id and as_utc(t) <= at < as_utc(t) + decline_days]
        if ends:
            blocks.append((f"decline_cool_off:{action_id}", max(ends)))
    return blocks


def _blocks(state: ContactState, channel: str, purpose: str, at: datetime, cfg: ContactPolicyConfig,
            cal: BusinessCalendar, action_id: str | None, inbound: bool = False) -> list[Block]:
    blocks = [] if inbound else _quiet(channel, purpose, at, cfg, cal)
    if purpose != "marketing":
        return blocks
    if cfg.service_before_sales and state.open_cases:
        blocks.append(("open_service_case", None))
    return blocks + _cool_off(state, action_id, at, cfg) + _budget(state, channel, at, cfg)


def evaluate(state: ContactState, channel: str, purpose: str, at: datetime, cfg: ContactPolicyConfig,
             cal: BusinessCalendar = _CALENDAR, action_id: str | None = None,
             inbound: bool = False) -> PolicyResult:
    """The pure policy: may ``channel`` be used for ``purpose`` at ``at``, and if not, when?

    ``inbound`` is a contact the person started (they are on the phone or in the branch
    now): quiet hours do not apply to it, the marketing budget and cool-offs do.

    ``next_allowed_at`` is the earliest moment at which every rule allows the contact given
    the same state, or ``None`` when it depends on something else (an open case to close).
    """
    at = as_utc(at)
    blocks = _blocks(state, channel, purpose, at, cfg, cal, action_id, inbound)
    if not blocks:
        return PolicyResult(True)
    reasons = tuple(reason for reason, _ in blocks)
    cursor = at
    for _ in range(50):
        later = [when for _, when in blocks]
        if any(w is None for w in later):
            return PolicyResult(False, reasons, None)
        cursor = max(w for w in later if w is not None)
        blocks = _blocks(state, channel, purpose, cursor, cfg, cal, action_id, inbound)
        if not blocks:
            return PolicyResult(False, reasons, as_utc(cursor))
    return PolicyResult(False, reasons, None)


def parse_config(text: str, source: str = "contact_policy.yaml") -> ContactPolicyConfig:
    try:
        return ContactPolicyConfig.model_validate(yaml.safe_load(text) or {})
    except (ValidationError, yaml.YAMLError) as exc:
        errors = ([{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
                  if isinstance(exc, ValidationError) else [{"message": str(exc)}])
        raise ConfigInvalid(f"{source} is not valid", errors=errors) from None


@lru_cache(maxsize=8)
def load_config(config_dir: Path) -> ContactPolicyConfig:
    """The bank's ``contact_policy.yaml`` (defaults when the file is absent)."""
    path = config_dir / "contact_policy.yaml"
    return parse_config(path.read_text(), str(path)) if path.exists() else ContactPolicyConfig()


@lru_cache(maxsize=1)
def default_config() -> ContactPolicyConfig:
    """The policy of the bank configured in the environment (read once per process)."""
    from bestnext.settings import Settings

    return load_config(Settings().config_dir)


def check(conn_or_state: Connection | ContactState, person_id: str, channel: str, purpose: str,
          at: datetime, *, action_id: str | None = None,
          config: ContactPolicyConfig | None = None) -> PolicyResult:
    """Check a contact against the policy, loading the person's state when given a connection."""
    cfg = config or default_config()
    if isinstance(conn_or_state, ContactState):
        state = conn_or_state
    else:
        from bestnext.decisions import store

        state = store.contact_state(conn_or_state, person_id, as_utc(at), cfg)
    return evaluate(state, channel, purpose, at, cfg, action_id=action_id)


def as_dict(result: PolicyResult) -> dict[str, Any]:
    return {"allowed": result.allowed, "reasons": list(result.reasons),
            "next_allowed_at": result.next_allowed_at.isoformat() if result.next_allowed_at else None}


__all__ = ["Contact", "ContactPolicyConfig", "ContactState", "PolicyResult", "QuietHours", "RequestRule",
           "check", "evaluate", "load_config", "parse_config"]
