"""Read-only named queries of the console over other contexts' tables (search candidates).

The console writes nothing here; every change goes through the owning context's services.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from bestnext.console.search import Candidate
from bestnext.identity.tables import identities, persons
from bestnext.profiles.tables import profiles


def identity_candidates(conn: Connection) -> list[Candidate]:
    """Every identifier of every current person (absorbed persons are skipped)."""
    query = (select(identities.c.person_id, identities.c.id_type, identities.c.value)
             .join(persons, persons.c.id == identities.c.person_id)
             .where(persons.c.absorbed_into.is_(None)))
    return [Candidate(r.person_id, r.id_type, r.value) for r in conn.execute(query)]


def name_candidates(conn: Connection, person_ids: set[str] | None = None) -> list[Candidate]:
    """People's names from their profiles' traits (``first_name``/``last_name`` or ``name``)."""
    query = select(profiles.c.person_id, profiles.c.doc)
    if person_ids is not None:
        query = query.where(profiles.c.person_id.in_(sorted(person_ids)))
    found = []
    for row in conn.execute(query):
        traits = {k: v.get("value") if isinstance(v, dict) else v
                  for k, v in (row.doc or {}).get("traits", {}).items()}
        name = name_from_traits(traits)
        if name:
            found.append(Candidate(row.person_id, "name", name))
    return found


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
