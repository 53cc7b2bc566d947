"""The general rules every replayed history must keep, checked from the history file alone.

Independent of bestnext's own code on purpose (its own holiday list, business hours, identity
grouping and consent timeline), so a bug in the product cannot hide itself here. Each check
returns a list of human-readable failures (empty: the rule holds).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

ROME = ZoneInfo("Europe/Rome")
DEMO_BANK = Path(__file__).resolve().parents[2] / "src" / "bestnext" / "demo_bank"
CHANNELS = {"email", "sms", "call_center", "branch", "social", "web", "app", "push", "post"}
PRODUCTS = {"prepaid_card", "pension_fund", "family_mortgage", "savings_junior", "current_account", "security_token"}
FIELDS = ("at", "person", "channel", "purpose", "action", "product", "offer", "journey", "based_on", "assignee", "text")
# a person's own requests and the business hours within which the bank answers them
REQUESTS = {"Form Submitted": 24, "Lead Received": 24, "Social Message Posted": 2, "SMS Replied": 24,
            "Call Back Requested": 4, "Complaint Filed": 24}
BEHAVIOURAL = {"Competitor Site Visited", "E-banking Login"}
PROMISE = re.compile(r"ti chiam|ti richiam|ti contattiamo|ti chiamerà|will call you|will contact you", re.I)
ITALIAN = re.compile(r"\b(ciao|buongiorno|grazie|la chiamo|ti chiamo|filiale|richiesta|tuo|tua|sua|per te)\b", re.I)


def easter(y: int) -> dt.date:
    a, b, c = y % 19, y // 100, y % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m1 = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * m1) // 451
    return dt.date(y, (h + m1 - 7 * m + 114) // 31, (h + m1 - 7 * m + 114) % 31 + 1)


def closed_day(d: dt.date) -> bool:
    """Sundays and Italian public holidays."""
    fixed = {(1, 1), (1, 6), (4, 25), (5, 1), (6, 2), (8, 15), (11, 1), (12, 8), (12, 25), (12, 26)}
    return d.weekday() == 6 or (d.month, d.day) in fixed or d == easter(d.year) + dt.timedelta(days=1)


def quiet(at: dt.datetime) -> bool:
    """SMS and calls are quiet 20:00-09:00, on Sundays and on holidays."""
    local = at.astimezone(ROME)
    return local.hour < 9 or local.hour >= 20 or closed_day(local.date())


def business_deadline(start: dt.datetime, hours: float) -> dt.datetime:
    """``start`` plus ``hours`` of call-center time (Mon-Fri 09-20, Sat 09-13, not on holidays)."""
    left, t = dt.timedelta(hours=hours), start.astimezone(ROME)
    while left > dt.timedelta(0):
        opens = t.replace(hour=9, minute=0, second=0, microsecond=0)
        closes = t.replace(hour=13 if t.weekday() == 5 else 20, minute=0, second=0, microsecond=0)
        if closed_day(t.date()) or t >= closes:
            t = (t + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
            continue
        t = max(t, opens)
        step = min(left, closes - t)
        t, left = t + step, left - step
    return t


@dataclass
class Person:
    keys: set[str] = field(default_factory=set)
    traits: dict[str, Any] = field(default_factory=dict)
    consents: list[tuple[dt.datetime, dict[str, bool]]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    locale: str | None = None

    def consent(self, purpose: str, at: dt.datetime) -> bool:
        given = [p for t, p in self.consents if t <= at]
        return bool(given and given[-1].get(purpose))


def _keys(m: dict[str, Any]) -> set[str]:
    ctx = m.get("context") or {}
    out = {f"user:{m['userId']}"} if m.get("userId") else set()
    if m.get("anonymousId"):
        out.add(f"anon:{m['anonymousId']}")
    for traits in (m.get("traits") or {}, ctx.get("traits") or {}):
        out |= {f"{k}:{traits[k]}" for k in ("email", "phone") if traits.get(k)}
    for ext in ctx.get("externalIds") or []:
        out.add(f"{ext['type']}:{ext['id']}")
        if ext["type"] == "facebook_id":
            out.add(f"anon:fb-{ext['id']}")  # the social touchpoint's device id for that profile
    return out


def people(messages: list[dict[str, Any]]) -> list[Person]:
    """Group messages by person: identifiers seen in one message belong to one person."""
    groups: list[Person] = []
    for m in messages:
        keys = _keys(m)
        hit = [g for g in groups if g.keys & keys]
        merged = Person(keys)
        for g in hit:
            groups.remove(g)
            merged.keys |= g.keys
        groups.append(merged)
    for m in messages:
        g = next(g for g in groups if g.keys & _keys(m))
        g.messages.append(m)
        g.traits |= {k: v for k, v in (m.get("traits") or {}).items() if v is not None}
        if (m.get("context") or {}).get("locale"):
            g.locale = str(m["context"]["locale"])
        if m.get("event") == "Consent Preferences Updated":
            g.consents.append((m["_at"], dict(m["properties"]["purposes"])))
    return groups


def load(path: Path) -> list[dict[str, Any]]:
    """The file's valid messages (malformed lines are the replay's business)."""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            m = json.loads(raw)
        except ValueError:
            continue
        if isinstance(m, dict) and m.get("timestamp"):
            m["_at"] = dt.datetime.fromisoformat(m["timestamp"])
            out.append(m)
    return out


def person_of(action: dict[str, Any], groups: list[Person]) -> Person | None:
    who = str(action.get("person"))
    return next((g for g in groups if {f"user:{who}", f"email:{who}", f"phone:{who}", f"anon:{who}"} & g.keys), None)


def offer_texts() -> list[str]:
    catalog = yaml.safe_load((DEMO_BANK / "catalog.yaml").read_text(encoding="utf-8"))
    return [t for o in catalog.get("offers", []) for t in (o.get("description") or {}).values()]


def check_fields(acts: list[dict[str, Any]], ids: set[str]) -> list[str]:
    bad = []
    for a in acts:
        tag = f"{a.get('at')} {a.get('action')}"
        if set(FIELDS) - set(a):
            bad.append(f"{tag}: missing fields {sorted(set(FIELDS) - set(a))}")
            continue
        at = dt.datetime.fromisoformat(a["at"])
        checks = [(at.tzinfo is not None, "'at' has no offset"), (bool(a["person"]), "no person"),
                  (a["channel"] in CHANNELS, f"channel {a['channel']}"),
                  (a["purpose"] in ("service", "marketing"), f"purpose {a['purpose']}"),
                  (bool(a["action"]), "no action id"), (a["product"] in PRODUCTS | {None}, f"product {a['product']}"),
                  (isinstance(a["based_on"], list) and bool(a["based_on"]) and set(a["based_on"]) <= ids,
                   f"based_on {a['based_on']} not messages of the file"),
                  ((a["assignee"] is not None) == (a["channel"] in ("call_center", "branch")), f"assignee {a['assignee']}"),
                  (isinstance(a["text"], str) and a["text"].strip() != "", "empty text"),
                  ("{" not in str(a["text"]) and "}" not in str(a["text"]), "unfilled template")]
        bad += [f"{tag}: {why}" for ok, why in checks if not ok]
    return bad


def check_contact_policy(acts: list[dict[str, Any]], groups: list[Person]) -> list[str]:
    bad = [f"{a['channel']} in quiet hours at {a['at']}" for a in acts
           if a["channel"] in ("sms", "call_center") and quiet(dt.datetime.fromisoformat(a["at"]))]
    for g in groups:
        mine = sorted(dt.datetime.fromisoformat(a["at"]) for a in acts
                      if a["purpose"] == "marketing" and person_of(a, groups) is g)
        for i, x in enumerate(mine):
            if len([y for y in mine[i:] if y - x < dt.timedelta(days=7)]) > 3:
                bad.append(f"more than 3 marketing contacts in 7 days from {x.isoformat()}")
                break
    return bad


def check_consent(acts: list[dict[str, Any]], groups: list[Person], messages: list[dict[str, Any]]) -> list[str]:
    by_id = {m["messageId"]: m for m in messages}
    offers = offer_texts()
    bad = []
    for a in acts:
        g, at = person_of(a, groups), dt.datetime.fromisoformat(a["at"])
        if g is None:
            bad.append(f"{a['at']} {a['action']}: person {a['person']} is nobody of the file")
            continue
        may_market = g.consent("own_marketing", at)
        if a["purpose"] == "marketing" and not may_market:
            bad.append(f"{a['at']} {a['action']}: marketing without own_marketing")
        if not may_market and (a["offer"] or any(o in a["text"] for o in offers)):
            bad.append(f"{a['at']} {a['action']}: an incentive without own_marketing")
        basis = [by_id[i] for i in a["based_on"] if i in by_id]
        behavioural = [m for m in basis if m.get("type") == "page" or m.get("event") in BEHAVIOURAL
                       or (m.get("context") or {}).get("touchpoint") == "third_party"]
        if a["purpose"] == "marketing" and behavioural and not g.consent("profiling", at):
            bad.append(f"{a['at']} {a['action']}: marketing from behaviour without profiling")
    return bad


def check_requests(acts: list[dict[str, Any]], groups: list[Person]) -> list[str]:
    bad = []
    for g in groups:
        mine = [a for a in acts if person_of(a, groups) is g]
        for m in g.messages:
            hours = REQUESTS.get(str(m.get("event")))
            if hours is None or (m["event"] == "Lead Received" and m["properties"].get("contact_requested") is False):
                continue
            if m["event"] == "SMS Replied" and str(m["properties"].get("text", "")).strip().upper() == "STOP":
                continue
            due = business_deadline(m["_at"], hours)
            ok = [a for a in mine if m["_at"] <= dt.datetime.fromisoformat(a["at"]) <= due
                  and (m["messageId"] in a["based_on"] or a["purpose"] == "service")]
            if not ok:
                bad.append(f"{m['messageId']} ({m['event']}) not answered by {due.isoformat()}")
    return bad


def check_texts(acts: list[dict[str, Any]], groups: list[Person]) -> list[str]:
    bad = []
    for a in acts:
        g = person_of(a, groups)
        if g is None:
            continue
        for other in groups:
            if other is g:
                continue
            t = other.traits
            leaks = [str(t[k]) for k in ("email", "phone") if t.get(k)]
            same_home = t.get("household_id") is not None and t.get("household_id") == g.traits.get("household_id")
            if t.get("first_name") and not same_home:
                leaks.append(str(t["first_name"]))
            if any(re.search(rf"\b{re.escape(v)}\b", a["text"]) for v in leaks):
                bad.append(f"{a['at']} {a['action']}: text mentions another person's data")
        if (g.locale or "it").lower().startswith("en") and ITALIAN.search(a["text"]):
            bad.append(f"{a['at']} {a['action']}: Italian text for an English-speaking person: {a['text'][:60]}")
    return bad


def check_promises(acts: list[dict[str, Any]], groups: list[Person]) -> list[str]:
    """A text that promises a call or a contact is followed by an operator's call within a business day."""
    bad = []
    for a in acts:
        if a["channel"] == "call_center" or not PROMISE.search(a["text"]):
            continue
        at, g = dt.datetime.fromisoformat(a["at"]), person_of(a, groups)
        due = business_deadline(at, 11)
        if not [c for c in acts if c["channel"] == "call_center" and person_of(c, groups) is g
                and at <= dt.datetime.fromisoformat(c["at"]) <= due]:
            bad.append(f"{a['at']} {a['action']}: promises a call that nobody makes by {due.isoformat()}")
    return bad


def check_service_first(acts: list[dict[str, Any]], groups: list[Person]) -> list[str]:
    """After a failed operation, nothing is sold before a service contact has dealt with it."""
    bad = []
    for g in groups:
        mine = [a for a in acts if person_of(a, groups) is g]
        for m in g.messages:
            if not str(m.get("event") or "").endswith(" Failed"):
                continue
            served = [dt.datetime.fromisoformat(a["at"]) for a in mine if a["purpose"] == "service"
                      and dt.datetime.fromisoformat(a["at"]) >= m["_at"] and a["channel"] in ("call_center", "branch")]
            until = min(served) if served else m["_at"] + dt.timedelta(days=7)
            early = [a for a in mine if a["purpose"] == "marketing" and m["_at"] <= dt.datetime.fromisoformat(a["at"]) < until]
            bad += [f"{a['at']} {a['action']}: sold while {m['messageId']} was unhandled" for a in early]
    return bad


def check_offer_stated(acts: list[dict[str, Any]]) -> list[str]:
    """A text that grants an incentive names it in ``offer`` (what is promised is what is recorded)."""
    offers = offer_texts()
    return [f"{a['at']} {a['action']}: the text offers an incentive, 'offer' is null" for a in acts
            if not a["offer"] and any(o in a["text"] for o in offers)]


def general_failures(path: Path, acts: list[dict[str, Any]]) -> list[str]:
    messages = load(path)
    groups = people(messages)
    ids = {m["messageId"] for m in messages}
    return (check_fields(acts, ids) + check_contact_policy(acts, groups) + check_consent(acts, groups, messages)
            + check_requests(acts, groups) + check_texts(acts, groups) + check_promises(acts, groups)
            + check_service_first(acts, groups) + check_offer_stated(acts))
