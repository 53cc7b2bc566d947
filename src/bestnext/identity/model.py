"""Identifiers of a message, normalised, and the rules that rank them (no I/O).

An identifier is a ``(type, value)`` pair: ``user_id`` (the bank's customer number),
``anonymous_id`` (a device, cookie or channel id), ``email``, ``phone`` (E.164) and every
``context.externalIds[].type`` (``dmp_cookie``, ``facebook_id``, ``partner_lead_id``, ...).
All identifiers of one message belong to one person.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import phonenumbers

USER_ID, ANONYMOUS_ID, EMAIL, PHONE = "user_id", "anonymous_id", "email", "phone"
# Types whose values name one human: two different values in one message-link through a
# device id mean the device is shared (a branch kiosk), not that the persons are one.
PERSONAL_TYPES = (EMAIL, PHONE)
# Identifiers through which the bank can reach a person (a "lead").
SOCIAL_TYPES = frozenset({"facebook_id", "instagram_id", "twitter_id", "x_id", "linkedin_id",
                          "tiktok_id", "social_id"})
CONTACT_TYPES = frozenset({USER_ID, EMAIL, PHONE}) | SOCIAL_TYPES
# Device-level identifiers: they link a message to a person only weakly.
WEAK_TYPES = frozenset({ANONYMOUS_ID})
MAX_VALUE = 320


@dataclass(frozen=True, slots=True, order=True)
class Identifier:
    """One normalised identifier."""

    type: str
    value: str

    def key(self) -> tuple[str, str]:
        return (self.type, self.value)


@dataclass(frozen=True, slots=True)
class Identity:
    """An identifier held by a person, with the message that linked it."""

    type: str
    value: str
    person_id: str
    linked_by: str
    shared: bool = False


def normalize_email(raw: object) -> str | None:
    """Lower-case, trimmed email, or None when it is not an email.

    >>> normalize_email("  Martina.Bianchi@Example.ORG ")
    'martina.bianchi@example.org'
    >>> normalize_email("not-an-email") is None
    True
    """
    if not isinstance(raw, str):
        return None
    value = raw.strip().lower()
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or len(value) > MAX_VALUE:
        return None
    return value


def normalize_phone(raw: object, region: str = "IT") -> str | None:
    """E.164 phone number (default region Italy), or None when it is not a phone number.

    >>> normalize_phone("347 111 2233")
    '+393471112233'
    >>> normalize_phone("+39 347-111-2233")
    '+393471112233'
    >>> normalize_phone("abc") is None
    True
    """
    if not isinstance(raw, (str, int)) or isinstance(raw, bool):
        return None
    return _e164(str(raw), region)


@functools.lru_cache(maxsize=65536)
def _e164(raw: str, region: str) -> str | None:
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize(id_type: str, raw: object) -> str | None:
    """Normalise ``raw`` as a value of ``id_type``.

    >>> normalize("email", "A@B.IT")
    'a@b.it'
    >>> normalize("user_id", 100234)
    '100234'
    """
    if id_type == EMAIL:
        return normalize_email(raw)
    if id_type == PHONE:
        return normalize_phone(raw)
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        return None
    value = str(raw).strip()
    return value if value and len(value) <= MAX_VALUE else None


def _is_map(value: object) -> TypeGuard[Mapping[str, Any]]:
    return type(value) is dict or isinstance(value, Mapping)  # (dict first: the ABC check is slow)


def _traits(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    context = payload.get("context")
    if _is_map(context) and _is_map(context.get("traits")):
        found.append(context["traits"])
    if _is_map(payload.get("traits")) and payload.get("type") != "group":
        found.append(payload["traits"])  # a group call's own traits describe the group
    return found


def _external_ids(payload: Mapping[str, Any]) -> Iterable[tuple[str, object]]:
    context = payload.get("context")
    items = context.get("externalIds") if _is_map(context) else None
    for item in items if isinstance(items, list) else []:
        if _is_map(item) and isinstance(item.get("type"), str):
            id_type = item["type"].strip().lower()[:64]
            if id_type:
                yield id_type, item.get("id")


def extract(payload: Mapping[str, Any]) -> list[Identifier]:
    """Every identifier a Segment message carries, normalised and de-duplicated, ranked.

    >>> msg = {"userId": "C1", "anonymousId": "web-1",
    ...        "traits": {"email": " A@X.IT ", "phone": "3471112233"},
    ...        "context": {"externalIds": [{"id": "88", "type": "dmp_cookie"}]}}
    >>> [(i.type, i.value) for i in extract(msg)]
    [('user_id', 'C1'), ('email', 'a@x.it'), ('phone', '+393471112233'), ('dmp_cookie', '88'), ('anonymous_id', 'web-1')]
    """
    seen: dict[tuple[str, str], Identifier] = {}
    for id_type, value in _raw(payload):
        norm = normalize(id_type, value) if value is not None else None
        if norm is not None and (id_type, norm) not in seen:
            seen[(id_type, norm)] = Identifier(id_type, norm)
    found = list(seen.values())
    if len(found) > 1:
        found.sort(key=_order)
    return found


def _raw(payload: Mapping[str, Any]) -> list[tuple[str, object]]:
    """The (type, raw value) pairs a message names, strongest types first."""
    raw: list[tuple[str, object]] = [(USER_ID, payload.get("userId"))]
    if payload.get("type") == "alias":
        raw.append((ANONYMOUS_ID, payload.get("previousId")))
    for traits in _traits(payload):
        raw += [(EMAIL, traits.get("email")), (PHONE, traits.get("phone"))]
    raw += _external_ids(payload)
    raw.append((ANONYMOUS_ID, payload.get("anonymousId")))
    return raw


def names_someone(payload: Mapping[str, Any]) -> tuple[bool, bool]:
    """Whether the message carries an identifier, and one through which the bank can reach
    the person: ``(bool(extract(m)), any(i.type in CONTACT_TYPES for i in extract(m)))``,
    without building them (the profiles processor asks this of every event).

    >>> names_someone({"anonymousId": "w"}), names_someone({"traits": {"email": "a@b.it"}})
    ((True, False), (True, True))
    >>> names_someone({"traits": {"email": "not-an-email"}})
    (False, False)
    """
    named = False
    for id_type, value in _raw(payload):
        if value is not None and normalize(id_type, value) is not None:
            if id_type in CONTACT_TYPES:
                return True, True
            named = True
    return named, False


def _order(ident: Identifier) -> tuple[int, str, str]:
    return (_RANKS.get(ident.type, 3), ident.type, ident.value)


_RANKS = {USER_ID: 0, EMAIL: 1, PHONE: 2, ANONYMOUS_ID: 4}


def rank(id_type: str) -> int:
    """How strongly a type names a person: lower is stronger.

    >>> [rank(t) for t in ("user_id", "email", "phone", "facebook_id", "anonymous_id")]
    [0, 1, 2, 3, 4]
    """
    return _RANKS.get(id_type, 3)


def household_of_message(payload: Mapping[str, Any]) -> str | None:
    """The household a message puts its sender in, if any.

    The rule: a ``group`` call whose ``traits.type`` is ``household`` or whose ``groupId``
    starts with ``H-``; or a ``household_id`` trait (in ``traits`` or ``context.traits``).

    >>> household_of_message({"type": "group", "groupId": "H-ROSSI"})
    'H-ROSSI'
    >>> household_of_message({"type": "group", "groupId": "acme", "traits": {"type": "company"}}) is None
    True
    >>> household_of_message({"type": "identify", "traits": {"household_id": "H-1"}})
    'H-1'
    """
    if payload.get("type") == "group":
        group_id = normalize("group", payload.get("groupId"))
        traits = payload.get("traits")
        kind = traits.get("type") if isinstance(traits, Mapping) else None
        if group_id and (kind == "household" or group_id.startswith("H-")):
            return group_id
    for traits in _traits(payload):
        value = normalize("household", traits.get("household_id"))
        if value:
            return value
    return None


def joint_holders(payload: Mapping[str, Any]) -> list[str]:
    """Customer numbers of the holders of an ``Account Opened`` (joint holders), if several.

    >>> joint_holders({"event": "Account Opened", "properties": {"holders": ["C1", "C2"]}})
    ['C1', 'C2']
    >>> joint_holders({"event": "Page", "properties": {"holders": ["C1", "C2"]}})
    []
    """
    if payload.get("event") not in ("Account Opened", "Product Subscribed"):
        return []
    props = payload.get("properties")
    holders = props.get("holders") if isinstance(props, Mapping) else None
    if not isinstance(holders, list):
        return []
    values = [v for v in (normalize(USER_ID, h) for h in holders) if v]
    return list(dict.fromkeys(values))
