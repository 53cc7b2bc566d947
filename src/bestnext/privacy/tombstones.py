"""Non-identifying tombstones: SHA-256 of normalised identifiers and of message keys.

After an erasure, an event that carries one of the erased person's identifiers, or that is a
resend of one of their messages, is refused at append (an ``eventlog.admission`` filter).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import phonenumbers
from sqlalchemy import Connection, select

from bestnext.db import insert_ignore
from bestnext.eventlog import NewEvent
from bestnext.privacy.tables import privacy_tombstones as T


def normalise(id_type: str, value: str) -> str:
    """``type:value`` in a canonical form (e-mails lower-case, phones in E.164).

    >>> normalise("email", " Anna@Example.COM "), normalise("phone", "347 111 2233")
    ('email:anna@example.com', 'phone:+393471112233')
    """
    value = value.strip()
    if id_type == "email":
        return f"email:{value.lower()}"
    if id_type == "phone":
        try:
            parsed = phonenumbers.parse(value, "IT")
            return f"phone:{phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)}"
        except phonenumbers.NumberParseException:
            return "phone:" + "".join(c for c in value if c.isdigit() or c == "+")
    return f"{id_type}:{value}"


def digest(text: str) -> str:
    return hashlib.sha256(("bestnext-tombstone\x00" + text).encode()).hexdigest()


def message_key(source_id: str, message_id: str) -> str:
    return digest(f"message:{source_id}\x00{message_id}")


def identifiers_in(payload: dict[str, Any], user_id: str | None = None,
                   anonymous_id: str | None = None) -> set[str]:
    """Normalised identifiers a Segment message carries."""
    found: set[str] = set()
    for kind, value in (("user_id", user_id or payload.get("userId")),
                        ("anonymous_id", anonymous_id or payload.get("anonymousId"))):
        if isinstance(value, str) and value:
            found.add(normalise(kind, value))
    raw_context = payload.get("context")
    context: dict[str, Any] = raw_context if isinstance(raw_context, dict) else {}
    for traits in (payload.get("traits"), context.get("traits")):
        if isinstance(traits, dict):
            for kind in ("email", "phone"):
                if isinstance(traits.get(kind), str) and traits[kind]:
                    found.add(normalise(kind, traits[kind]))
    for ext in context.get("externalIds") or []:
        if isinstance(ext, dict) and isinstance(ext.get("id"), str):
            found.add(normalise(str(ext.get("type", "external")), ext["id"]))
    return found


def bury(conn: Connection, identifiers: Iterable[str], messages: Iterable[tuple[str, str]],
         at: datetime) -> int:
    """Store tombstones for normalised ``identifiers`` and ``(source_id, message_id)`` pairs."""
    rows = [{"hash": digest(i), "kind": "identifier", "erased_at": at} for i in set(identifiers)]
    rows += [{"hash": message_key(s, m), "kind": "message", "erased_at": at} for s, m in set(messages)]
    return insert_ignore(conn, T, rows, ("hash",))


def _buried(conn: Connection, hashes: set[str]) -> set[str]:
    if not hashes:
        return set()
    return set(conn.execute(select(T.c.hash).where(T.c.hash.in_(sorted(hashes)))).scalars())


_ANY_TOMBSTONE = f"SELECT 1 FROM {T.name} LIMIT 1"


def refuse_erased(conn: Connection, new: Sequence[NewEvent]) -> list[NewEvent]:
    """The admission filter: drop events of erased people."""
    if conn.exec_driver_sql(_ANY_TOMBSTONE).first() is None:  # on every append: kept lean
        return list(new)
    keys = {id(e): {message_key(e.source_id, e.message_id)}
            | {digest(i) for i in identifiers_in(e.payload, e.user_id, e.anonymous_id)} for e in new}
    buried = _buried(conn, set().union(*keys.values()))
    return [e for e in new if not keys[id(e)] & buried]
