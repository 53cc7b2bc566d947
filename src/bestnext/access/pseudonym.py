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
_PHONE = re.compile(r"\+?\d[\d \-]{7,}\d")


def pseudonym(value: str, key: str) -> str:
    """A stable, keyed token for ``value`` (the same input gives the same token).

    >>> pseudonym("anna@example.com", "k") == pseudonym("anna@example.com", "k")
    True
    >>> pseudonym("anna@example.com", "k").startswith("psn_")
    True
    """
    return "psn_" + hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:16]


def _scrub(value: Any, key: str, parent: str | None) -> Any:
    if isinstance(value, Mapping):
        return {k: _field(k, v, key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, key, parent) for v in value]
    if isinstance(value, str) and (_EMAIL.search(value) or _PHONE.fullmatch(value.strip())):
        return pseudonym(value, key)
    return value


def _field(name: str, value: Any, key: str) -> Any:
    if name == "identities" and isinstance(value, list):  # [{type, value, ...}]
        return [{**i, "value": pseudonym(str(i.get("value")), key)} if isinstance(i, Mapping) else
                pseudonym(str(i), key) for i in value]
    if name.lower() in IDENTIFYING_KEYS and value is not None:
        if isinstance(value, Mapping) and "value" in value:  # a trait {value, source, at}
            return {**value, "value": pseudonym(str(value["value"]), key)}
        return pseudonym(str(value), key) if not isinstance(value, Mapping | list) else _scrub(value, key, name)
    if name in ("id", "person_id") and isinstance(value, str):
        return pseudonym(value, key)
    return _scrub(value, key, name)


def pseudonymise(view: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``view`` (a profile as JSON) with identifiers, names and contact data pseudonymised.

    >>> v = pseudonymise({"id": "p1", "traits": {"email": {"value": "a@b.it"}, "city": {"value": "MI"}}}, "k")
    >>> v["traits"]["city"], v["traits"]["email"]["value"].startswith("psn_"), v["id"] != "p1"
    ({'value': 'MI'}, True, True)
    >>> pseudonymise({"identities": [{"type": "phone", "value": "+393471112233"}]}, "k")["identities"][0]["type"]
    'phone'

    """
    return {k: _field(k, v, key) for k, v in view.items()}
