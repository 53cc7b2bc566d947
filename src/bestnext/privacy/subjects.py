"""Who a request is about: ``TYPE:VALUE`` references resolved to a person id.

``person:<id>`` names a person directly; every other type (``email``, ``phone``, ``user_id``,
``anonymous_id``, ...) is resolved by identity (``identity.services.find_person``).
"""

from __future__ import annotations

import importlib

from sqlalchemy import Connection

from bestnext.errors import InvalidInput, NotFound, Unavailable


def parse(ref: str) -> tuple[str, str]:
    """Split ``TYPE:VALUE``.

    >>> parse("email:anna@example.com")
    ('email', 'anna@example.com')
    """
    id_type, sep, value = ref.partition(":")
    if not sep or not id_type or not value:
        raise InvalidInput("A person is named as TYPE:VALUE, e.g. email:anna@example.com or person:<id>.")
    return id_type.strip(), value.strip()


def find(conn: Connection, id_type: str, value: str) -> str | None:
    if id_type == "person":
        return value
    try:
        identity = importlib.import_module("bestnext.identity.services")
    except ImportError:
        raise Unavailable("Identity resolution is not available; name the person as person:<id>.") from None
    found: str | None = identity.find_person(conn, id_type, value)
    return found


def resolve(conn: Connection, id_type: str, value: str) -> str:
    """The person id, or :class:`NotFound` (never echoing the identifier)."""
    person_id = find(conn, id_type, value)
    if person_id is None:
        raise NotFound(f"No person with that {id_type}.")
    return person_id
