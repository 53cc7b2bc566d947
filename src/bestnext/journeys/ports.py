"""The seams from journeys to the other contexts, in one place (each imported lazily).

Profiles, consent, decisions and channels are separate contexts built to docs/CONTRACTS.md;
a journey step asks them through these functions only.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import Connection

from bestnext.calendar import BusinessCalendar, WeeklyHours
from bestnext.clock import ROME
from bestnext.errors import Unavailable

CALENDAR = BusinessCalendar()
CHANNELS = ("email", "sms", "call_center", "branch", "social", "web", "app", "push", "post")
CHANNEL_ALIASES = {"phone": "call_center", "call": "call_center", "telephone": "call_center",
                   "facebook": "social", "mail": "email", "ebanking": "app", "partner": "email",
                   "third_party": "email", "atm": "app"}
INTRUSIVE_HOURS = WeeklyHours.parse({"mon-sat": "09:00-20:00"})
CALL_CENTER_HOURS = WeeklyHours.parse({"mon-fri": "09:00-20:00", "sat": "09:00-13:00"})  # no decisions installed


def _module(name: str, required: bool = True) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if required:
            raise Unavailable(f"journeys need {name}, which cannot be imported: {exc}") from exc
        return None


@dataclass(frozen=True, slots=True)
class Offer:
    """A decided action, ready to send."""

    action: str
    purpose: str
    product: str | None
    offer: str | None
    channel: str
    text: str
    valid_until: str | None = None
    decision_id: str | None = None  # the logged decision: sends report their outcomes to it


def profile_facts(conn: Connection, person_id: str) -> dict[str, Any]:
    """Flat facts of the person's profile (``profile.*``) for journey conditions."""
    mod = _module("bestnext.profiles.services", required=False)
    if mod is None:
        return {}
    prof = mod.get_profile(conn, person_id)
    traits = {name: (t.get("value") if isinstance(t, dict) else getattr(t, "value", t))
              for name, t in (getattr(prof, "traits", {}) or {}).items()}
    facts: dict[str, Any] = {f"profile.traits.{k}": v for k, v in traits.items()}
    facts["profile.first_name"] = traits.get("first_name")
    facts["profile.lifecycle_stage"] = getattr(prof, "lifecycle_stage", None)
    facts["profile.holdings"] = list(getattr(prof, "holdings", []) or [])
    raw = getattr(prof, "interests", None) or []
    facts["profile.interests"] = [str(i.get("product")) if isinstance(i, dict) else str(i) for i in raw]
    facts["profile.household"] = getattr(prof, "household", None)
    ids = getattr(prof, "identities", []) or []
    facts["profile.id_types"] = sorted({str(getattr(i, "type", "")) for i in ids})
    return facts


def may_contact(conn: Connection, person_id: str, purpose: str, channel: str, at: datetime,
                behavioural: bool) -> bool:
    """Consent for this use (marketing from behavioural signals also needs profiling)."""
    mod = _module("bestnext.consent.services")
    assert mod is not None
    categories = ["behavioural"] if behavioural and purpose == "marketing" else ["declared"]
    if purpose == "service":
        categories = ["request"]
    return bool(mod.may(conn, person_id, purpose, categories, channel, at).allowed)


@lru_cache(maxsize=8)
def _policy_config(config_dir: Path) -> Any:
    mod = _module("bestnext.decisions.contact_policy")
    assert mod is not None
    return mod.load_config(config_dir)


def next_allowed(conn: Connection, person_id: str, channel: str, purpose: str, at: datetime,
                 action_id: str | None = None, config_dir: Path | None = None) -> datetime | None:
    """``at`` when the contact policy allows it, else its next allowed moment (None: never)."""
    mod = _module("bestnext.decisions.contact_policy", required=False)
    if mod is None:
        return fallback_next_allowed(channel, at)
    config = _policy_config(config_dir) if config_dir is not None else None
    result = mod.check(conn, person_id, channel, purpose, at, action_id=action_id, config=config)
    if result.allowed:
        return at
    return result.next_allowed_at  # type: ignore[no-any-return]


def fallback_next_allowed(channel: str, at: datetime) -> datetime:
    """Quiet hours alone (SMS and calls 09:00-20:00, never on Sundays or holidays)."""
    if channel == "call_center":
        return CALENDAR.next_open(at, CALL_CENTER_HOURS)
    if channel == "sms":
        return CALENDAR.next_open(at, INTRUSIVE_HOURS)
    return at


def decide(conn: Connection, person_id: str, at: datetime, *, channel: str | None, purpose: str,
           reason: str, based_on: tuple[str, ...], variables: dict[str, Any],
           products: list[str], language: str = "it", signalled_only: bool = False) -> Offer | None:
    """The best action of ``purpose`` from the NBA service (None when nothing is allowed).

    Among the allowed actions, one for a product the journey's signals are about comes first:
    the journey answers that interest; the NBA ranks the rest (``signalled_only``: nothing else).
    """
    services = _module("bestnext.decisions.services")
    model = _module("bestnext.decisions.model")
    assert services is not None and model is not None
    ctx = model.DecisionContext(at=at, reason=reason, inbound_channel=None, based_on=based_on,
                                features={"signal_products": products}, variables=variables,
                                language=language)
    ranked = [item for item in services.decide(conn, person_id, ctx, channel, 10) if item.purpose == purpose
              and (not signalled_only or item.product in products)]
    ranked.sort(key=lambda item: item.product not in products)  # stable: NBA order otherwise
    for item in ranked:
        until = getattr(item, "offer_valid_until", None)
        return Offer(item.action_id, item.purpose, item.product, item.offer, item.channel, item.text,
                     until.isoformat() if until else None, getattr(item, "decision_id", None))
    return None


def enqueue(conn: Connection, *, action_id: str, person_id: str, channel: str, purpose: str,
            action: str, due_at: datetime, product: str | None, offer: str | None, journey: str,
            based_on: tuple[str, ...], assignee: str | None, text: str, now: datetime,
            data: dict[str, Any] | None = None) -> None:
    model = _module("bestnext.channels.model")
    outbox = _module("bestnext.channels.outbox")
    assert model is not None and outbox is not None
    outbox.enqueue(conn, model.OutboundAction(
        id=action_id, person_id=person_id, channel=channel, purpose=purpose, action=action,
        due_at=due_at, product=product, offer=offer, journey=journey, based_on=based_on,
        assignee=assignee, text=text, data=data or {}), now=now)


def open_case(conn: Connection, person_id: str, case_type: str, at: datetime,
              based_on: tuple[str, ...], key: str, config_dir: Any) -> str:
    cases = _module("bestnext.channels.cases")
    config = _module("bestnext.channels.config")
    assert cases is not None and config is not None
    team, sla = "operations", timedelta(hours=24)
    try:
        spec = config.operators_config(config_dir).case_types.get(case_type)
        if spec is not None:
            team, sla = spec.team, timedelta(hours=spec.sla_hours)
    except Exception:  # noqa: BLE001 - a missing operators file keeps the defaults
        pass
    return str(cases.open_case(conn, person_id, case_type, team=team, sla=sla, opened_by="journeys",
                               at=at, based_on=based_on, action_id=key))


def resolve_cases(conn: Connection, person_id: str, at: datetime) -> None:
    """The service contact handled the person's open cases (service is done)."""
    cases = _module("bestnext.channels.cases")
    assert cases is not None
    for case in cases.list_cases(conn, person_id=person_id):
        if case.status in cases.OPEN_STATES:
            cases.set_status(conn, case.id, "resolved", "journeys", at)


def has_open_case(conn: Connection, person_id: str) -> bool:
    cases = _module("bestnext.channels.cases", required=False)
    return bool(cases and cases.has_open_case(conn, person_id))


def assignees(config_dir: Any) -> dict[str, Any]:
    """Call-center operators and branches (with advisors and names) from ``operators.yaml``."""
    config = _module("bestnext.channels.config", required=False)
    if config is None:
        return {"queue": "call_center", "operators": [], "branches": {}, "branch_names": {}}
    ops = config.operators_config(config_dir)
    return {"queue": ops.call_center.queue, "operators": [o.name for o in ops.call_center.operators],
            "branches": {b.id: [a.name for a in b.advisors] for b in ops.branches},
            "branch_names": {b.id: b.name for b in ops.branches}}


@lru_cache(maxsize=8)
def product_names(config_dir: Path) -> dict[str, dict[str, str]]:
    """Product names by language from ``products.yaml`` ({} without one)."""
    import yaml

    path = config_dir / "products.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(p["id"]): dict(p.get("name") or {}) for p in data.get("products", [])}


def reply_intent(text: str) -> str:
    """A reply's intent from its text (``positive``, ``stop``, ``other``), as the channels classify it."""
    model = _module("bestnext.channels.model", required=False)
    return str(model.classify_reply(text)) if model is not None else "other"


def person_context(conn: Connection, person_id: str) -> dict[str, Any]:
    """What the person's own events say that texts may use: their language (``context.locale``
    or a ``locale``/``language`` trait: ``en`` or ``it``), their last branch, the products they
    asked about (forms, leads) and the yearly amount of their own pension simulation
    (``properties.simulation.yearly_contribution_eur``)."""
    from bestnext.eventlog import store as events

    found: dict[str, Any] = {}
    for event in reversed(events.events_of(conn, person_id)):
        locale = event.context.get("locale") or event.traits.get("locale") or event.traits.get("language")
        if isinstance(locale, str) and locale and "language" not in found:
            found["language"] = "en" if locale.lower().startswith("en") else "it"
        branch = event.properties.get("branch")
        if isinstance(branch, str) and "branch" not in found:
            found["branch"] = branch
        asked = event.properties.get("product") if event.event in ("Form Submitted", "Lead Received") else None
        if isinstance(asked, str):
            found.setdefault("requested", []).append(asked)
        simulation = event.properties.get("simulation")
        amount = simulation.get("yearly_contribution_eur") if isinstance(simulation, dict) else None
        if isinstance(amount, int | float) and "simulation_yearly_eur" not in found:
            found["simulation_yearly_eur"] = amount
    found.setdefault("language", "it")
    return found


_CATALOGS: dict[tuple[str, int | None, float], Any] = {}


def active_catalog(conn: Connection, config_dir: Path) -> Any:
    """The catalog decisions use now (None without decisions), parsed once per active version or
    ``catalog.yaml`` change: parsing takes ~50 ms, a send must not pay it."""
    versions = _module("bestnext.decisions.catalog_versions", required=False)
    if versions is None:
        return None
    found = versions.active_text(conn)
    path = config_dir / "catalog.yaml"
    key = (str(config_dir), found[0] if found else None, path.stat().st_mtime if path.exists() else 0.0)
    if key not in _CATALOGS:
        if len(_CATALOGS) >= 8:
            _CATALOGS.clear()
        _CATALOGS[key] = versions.active_catalog(conn, config_dir)[1]
    return _CATALOGS[key]


def offer_info(conn: Connection, config_dir: Path, offer_id: str, language: str) -> tuple[str | None, str]:
    """The product an offer of the active catalog belongs to (None: any, or unknown) and how a
    text tells it in ``language`` ("" when unknown)."""
    treatments = _module("bestnext.decisions.treatments", required=False)
    catalog = active_catalog(conn, config_dir)
    if catalog is None or treatments is None:
        return None, ""
    offer = next((o for o in catalog.offers if o.id == offer_id), None)
    if offer is None:
        return None, ""
    return offer.product, str(treatments.render(offer.description.get(language), {}))


def render_for(conn: Connection, config_dir: Path, decided: dict[str, Any], channel: str,
               variables: dict[str, Any], language: str) -> str | None:
    """The decided action's treatment for another ``channel`` (a branch briefing for a decided
    call), filled as decisions fill it; None when the action has no treatment there."""
    treatments = _module("bestnext.decisions.treatments", required=False)
    catalog = active_catalog(conn, config_dir)
    if catalog is None or treatments is None:
        return None
    action = next((a for a in catalog.actions if a.id == decided.get("action")), None)
    treatment = action.treatments.get(channel) if action is not None else None
    if treatment is None:
        return None
    offer = next((o for o in catalog.offers if o.id == decided.get("offer")), None)
    until = decided.get("valid_until")
    filled = {**variables, "product": decided.get("product"), "topic": decided.get("product"), "channel": channel,
              "offer": offer.id if offer else None,
              "offer_text": treatments.render(offer.description.get(language), {}) if offer else "",
              "offer_valid_until": datetime.fromisoformat(until).astimezone(ROME).strftime("%d/%m/%Y") if until else ""}
    return str(treatments.render(treatment.text.get(language), filled))


def home_branch(conn: Connection, person_id: str) -> str | None:
    """The branch the person last dealt with (from their events), if any."""
    from bestnext.eventlog import store as events

    for event in reversed(events.events_of(conn, person_id)):
        branch = event.properties.get("branch")
        if isinstance(branch, str):
            return branch
    return None


def marketing_budget(config_dir: Path) -> tuple[int, timedelta]:
    """Marketing contacts allowed per rolling window (the contact policy's configuration)."""
    if _module("bestnext.decisions.contact_policy", required=False) is None:
        return 3, timedelta(days=7)
    cfg = _policy_config(config_dir)
    return int(cfg.marketing_max_contacts), timedelta(days=int(cfg.marketing_window_days))


def record_traits(conn: Connection, person_id: str, traits: dict[str, Any], message_id: str,
                  at: datetime) -> bool:
    """Append an ``identify`` with ``traits`` (source ``journeys``) naming one of the person's own
    identifiers, so identity attributes it and profiles fold it; False if the person has none."""
    from bestnext.eventlog import NewEvent
    from bestnext.eventlog import store as log

    identity = _module("bestnext.identity.services")
    assert identity is not None
    known = {i.type: i.value for i in reversed(identity.identities_of(conn, person_id))}
    payload: dict[str, Any] = {"type": "identify", "messageId": message_id, "timestamp": at.isoformat(),
                               "traits": dict(traits), "context": {"touchpoint": "journeys"}}
    if "user_id" in known:
        payload["userId"] = known["user_id"]
    elif "email" in known or "phone" in known:
        key = "email" if "email" in known else "phone"
        payload["traits"][key] = known[key]
    elif "anonymous_id" in known:
        payload["anonymousId"] = known["anonymous_id"]
    else:
        return False
    new = NewEvent(source_id="journeys", message_id=message_id, type="identify", touchpoint="journeys",
                   occurred_at=at, received_at=at, payload=payload, user_id=payload.get("userId"),
                   anonymous_id=payload.get("anonymousId"))
    return log.append(conn, [new]) == 1


def is_behavioural(signal: str) -> bool:
    """Whether a journey's trigger is a behavioural signal (its marketing use needs profiling)."""
    policy = _module("bestnext.consent.policy", required=False)
    if policy is None:
        return signal not in ("Form Submitted", "Lead Received", "identify")
    return str(policy.signal_category(signal)) in ("behavioural", "DataCategory.BEHAVIOURAL")
