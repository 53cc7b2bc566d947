"""Read-only named queries of the console over other contexts' tables (search candidates).

The console writes nothing here; every change goes through the owning context's services.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from bestnext.console.search import Candidate
from bestnext.decisions.tables import decision_outcomes, decisions
from bestnext.eventlog.tables import events
from bestnext.identity.tables import identities, persons
from bestnext.journeys.tables import journey_instances
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


def journey_counts(conn: Connection) -> dict[str, dict[tuple[str, str | None], int]]:
    """Journey instances by journey, then (status, step)."""
    query = (select(journey_instances.c.journey_id, journey_instances.c.status, journey_instances.c.step,
                    func.count()).group_by(journey_instances.c.journey_id, journey_instances.c.status,
                                           journey_instances.c.step))
    out: dict[str, dict[tuple[str, str | None], int]] = {}
    for journey_id, status, step, n in conn.execute(query):
        out.setdefault(journey_id, {})[(status, step)] = int(n)
    return out


def profile_stages(conn: Connection) -> list[tuple[str | None, str | None]]:
    """(first seen, lifecycle stage) of every profile."""
    rows = conn.execute(select(profiles.c.doc, profiles.c.lifecycle_stage))
    return [((r.doc or {}).get("first_seen"), r.lifecycle_stage) for r in rows]


def decision_responses(conn: Connection) -> dict[bool, tuple[int, int]]:
    """Per control flag: decisions, and decisions with an accepted or converted outcome."""
    responded = (select(decision_outcomes.c.decision_id)
                 .where(decision_outcomes.c.outcome.in_(("accepted", "converted"))).distinct().subquery())
    query = (select(decisions.c.control, func.count(), func.count(responded.c.decision_id))
             .select_from(decisions.outerjoin(responded, responded.c.decision_id == decisions.c.id))
             .group_by(decisions.c.control))
    return {bool(control): (int(n), int(r)) for control, n, r in conn.execute(query)}


def event_rows(conn: Connection) -> list[Any]:
    """The whole event log in offset order (for the Parquet export)."""
    return list(conn.execute(select(events).order_by(events.c.seq)))
