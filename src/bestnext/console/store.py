"""Read-only named queries of the console over other contexts' tables (search candidates).

The console writes nothing here; every change goes through the owning context's services.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from bestnext.console.search import Candidate
from bestnext.eventlog.tables import events
from bestnext.identity.tables import identities, persons

NAME_TRAITS = ("first_name", "last_name", "name")


def identity_candidates(conn: Connection) -> list[Candidate]:
    """Every identifier of every current person (absorbed persons are skipped)."""
    query = (select(identities.c.person_id, identities.c.id_type, identities.c.value)
             .join(persons, persons.c.id == identities.c.person_id)
             .where(persons.c.absorbed_into.is_(None)))
    return [Candidate(r.person_id, r.id_type, r.value) for r in conn.execute(query)]


def name_candidates(conn: Connection) -> list[Candidate]:
    """The names people gave in ``identify`` messages (latest per person wins)."""
    query = (select(events.c.person_id, events.c.payload)
             .where(events.c.type == "identify", events.c.person_id.is_not(None))
             .order_by(events.c.occurred_at, events.c.seq))
    names: dict[str, str] = {}
    for row in conn.execute(query):
        name = name_from_traits(_traits(row.payload))
        if name:
            names[row.person_id] = name
    return [Candidate(pid, "name", name) for pid, name in names.items()]


def name_from_traits(traits: dict[str, Any]) -> str | None:
    """A display name from Segment traits.

    >>> name_from_traits({"first_name": "Martina", "last_name": "Bianchi"})
    'Martina Bianchi'
    >>> name_from_traits({"name": "Giorgio Rossi"}), name_from_traits({})
    ('Giorgio Rossi', None)
    """
    parts = [str(traits[k]) for k in ("first_name", "last_name") if traits.get(k)]
    if parts:
        return " ".join(parts)
    name = traits.get("name") or traits.get("firstName")
    return str(name) if name else None


def _traits(payload: dict[str, Any]) -> dict[str, Any]:
    traits = payload.get("traits")
    if not isinstance(traits, dict):
        context = payload.get("context")
        traits = context.get("traits") if isinstance(context, dict) else None
    return traits if isinstance(traits, dict) else {}
