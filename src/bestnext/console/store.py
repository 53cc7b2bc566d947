"""Read-only named queries of the console over other contexts' tables (search, dashboards).

The console writes nothing here; every change goes through the owning context's services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from bestnext.decisions.tables import decision_outcomes, decisions
from bestnext.eventlog.tables import events
from bestnext.identity.tables import identities, persons
from bestnext.journeys.tables import journey_instances
from bestnext.profiles.tables import profiles


def identities_by_value(conn: Connection, values: Sequence[str]) -> list[tuple[str, str, str]]:
    """(person, type, value) of the current persons' identifiers whose value is one of ``values``
    (absorbed persons are skipped)."""
    query = (select(identities.c.person_id, identities.c.id_type, identities.c.value)
             .join(persons, persons.c.id == identities.c.person_id)
             .where(identities.c.value.in_(list(values)), persons.c.absorbed_into.is_(None)))
    return [(r.person_id, r.id_type, r.value) for r in conn.execute(query)]


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
