"""Pseudonymised views of profiles, for analysts (identifiers replaced by keyed hashes)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

IDENTIFYING_KEYS = frozenset({
    "name", "first_name", "firstname", "last_name", "lastname", "surname", "full_name", "email",
    "phone", "mobile", "address", "street", "fiscal_code", "tax_code", "iban", "birthday",
    "date_of_birth", "user_id", "userid", "anonymous_id", "anonymousid", "username", "holders",
})
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"(?<![\w\-:.])\+?\d(?: ?\d){8,14}(?![\w\-:.])")  # 9-15 digits, spaces allowed


def pseudonym(value: str, key: str) -> str:
    """A stable, keyed token for ``value`` (the same input gives the same token).

    >>> pseudonym("anna@example.com", "k") == pseudonym("anna@example.com", "k")
    True
    >>> pseudonym("anna@example.com", "k").startswith("psn_")
    True
    """
    return "psn_" + hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:16]


def _scrub(value: Any, key: str) -> Any:
    """Recurse; inside strings, replace e-mail addresses and phone numbers."""
    if isinstance(value, Mapping):
        return {k: _field(k, v, key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, key) for v in value]
    if isinstance(value, str):
        value = _EMAIL.sub(lambda m: pseudonym(m.group(0), key), value)
        return _PHONE.sub(lambda m: pseudonym(m.group(0), key), value)
    return value


def _everything(value: Any, key: str) -> Any:
    """Every scalar under an identifying key becomes a pseudonym."""
    if isinstance(value, Mapping):
        if "value" in value:  # a trait {value, source, at}
            return {**value, "value": _everything(value["value"], key)}
        return {k: _everything(v, key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_everything(v, key) for v in value]
    return None if value is None else pseudonym(str(value), key)


def _field(name: str, value: Any, key: str) -> Any:
    if name == "identities" and isinstance(value, list):  # [{type, value, ...}]
        return [{**i, "value": pseudonym(str(i.get("value")), key)} if isinstance(i, Mapping) else
                pseudonym(str(i), key) for i in value]
    if name.lower() in IDENTIFYING_KEYS or name in ("id", "person_id"):
        return _everything(value, key)
    return _scrub(value, key)


def pseudonymise(view: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``view`` (a profile as JSON) with identifiers, names and contact data pseudonymised.

    >>> v = pseudonymise({"id": "p1", "traits": {"email": {"value": "a@b.it"}, "city": {"value": "MI"}}}, "k")
    >>> v["traits"]["city"], v["traits"]["email"]["value"].startswith("psn_"), v["id"] != "p1"
    ({'value': 'MI'}, True, True)
    >>> pseudonymise({"identities": [{"type": "phone", "value": "+393471112233"}]}, "k")["identities"][0]["type"]
    'phone'
    >>> pseudonymise({"first_seen": "2025-02-21T10:35:00+00:00", "note": "call 347 111 2233"}, "k")["first_seen"]
    '2025-02-21T10:35:00+00:00'

    """
    return {k: _field(k, v, key) for k, v in view.items()}
