"""Export and erasure of identity and profile data (tables looked up by name, so that
privacy does not depend on those contexts' modules)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, delete, or_, select, tuple_

from bestnext.db import metadata
from bestnext.privacy import registry

IDENTITY_TABLES = ("persons", "identities", "identity_links", "identity_merges", "identity_conflicts",
                   "household_links")


def _t(name: str) -> Table | None:
    return metadata.tables.get(name)


def person_ids(conn: Connection, person_id: str) -> set[str]:
    """The person and everyone merged into them."""
    persons, found = _t("persons"), {person_id}
    if persons is None:
        return found
    frontier = {person_id}
    while frontier:
        rows = conn.execute(select(persons.c.id).where(persons.c.absorbed_into.in_(sorted(frontier)))).scalars()
        frontier = set(rows) - found
        found |= frontier
    return found


def _wheres(conn: Connection, person_id: str) -> dict[str, Any]:
    ids = sorted(person_ids(conn, person_id))
    out: dict[str, Any] = {}
    ident, links = _t("identities"), _t("identity_links")
    if _t("persons") is not None:
        out["persons"] = _t("persons").c.id.in_(ids)  # type: ignore[union-attr]
    if ident is not None:
        out["identities"] = ident.c.person_id.in_(ids)
    if links is not None:
        out["identity_links"] = links.c.person_id.in_(ids)
    if (merges := _t("identity_merges")) is not None:
        out["identity_merges"] = or_(merges.c.survivor_id.in_(ids), merges.c.absorbed_id.in_(ids))
    if (conflicts := _t("identity_conflicts")) is not None:
        out["identity_conflicts"] = or_(conflicts.c.person_id.in_(ids), conflicts.c.other_person_id.in_(ids))
    if (house := _t("household_links")) is not None and ident is not None:
        pairs = conn.execute(select(ident.c.id_type, ident.c.value).where(ident.c.person_id.in_(ids))).all()
        messages = [] if links is None else list(conn.execute(
            select(links.c.message_id).where(links.c.person_id.in_(ids))).scalars())
        out["household_links"] = or_(tuple_(house.c.id_type, house.c.value).in_([tuple(p) for p in pairs]),
                                     house.c.message_id.in_(messages))
    if (joint := _t("profile_joint_holdings")) is not None and ident is not None:
        user_ids = select(ident.c.value).where(ident.c.person_id.in_(ids), ident.c.id_type == "user_id")
        out["profile_joint_holdings"] = joint.c.user_id.in_(user_ids)
    return out


def export(conn: Connection, person_id: str) -> dict[str, Any]:
    wheres = _wheres(conn, person_id)
    return {name: [dict(r._mapping) for r in conn.execute(select(metadata.tables[name]).where(where))]
            for name, where in wheres.items()}


def erase(conn: Connection, person_id: str) -> None:
    """Dependent rows first: the conditions read ``identities`` and ``identity_links``."""
    wheres = _wheres(conn, person_id)
    for name in ("profile_joint_holdings", "household_links", "identity_conflicts", "identity_merges",
                 "identity_links", "identities", "persons"):
        if name in wheres:
            conn.execute(delete(metadata.tables[name]).where(wheres[name]))


def install() -> None:
    registry.register("identity", export, erase, (*IDENTITY_TABLES, "profile_joint_holdings"))
    # rows that hang off person-keyed rows of other contexts
    for child, column, parent in (("case_history", "case_id", "service_cases"),
                                  ("decision_outcomes", "decision_id", "decisions"),
                                  ("journey_steps", "instance_id", "journey_instances")):
        if child in metadata.tables and parent in metadata.tables:
            registry.child_rows(child, column, parent)
    # no customer's personal data: staff accounts, sources, aggregate models (timers carry the
    # person_id of the work they wake: the generic contributor deletes them with the person)
    registry.not_personal("sources", "console_users", "console_sessions", "decision_models",
                          "offer_grants", "journey_controls",
                          "catalog_versions")  # offer_grants: counts per offer
