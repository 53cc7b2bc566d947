"""Named queries on journey instances, their steps and the contacts they scheduled."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, select, update

from bestnext.db import upsert
from bestnext.journeys.tables import journey_contacts, journey_controls, journey_instances, journey_steps


@dataclass
class Instance:
    id: str
    journey_id: str
    version: int
    person_id: str
    status: str
    step: str | None
    vars: dict[str, Any] = field(default_factory=dict)
    waiting_event: str | None = None
    wait_until: datetime | None = None
    entered_at: datetime | None = None
    ended_at: datetime | None = None


def _instance(row: Any) -> Instance:
    return Instance(id=row["id"], journey_id=row["journey_id"], version=row["version"],
                    person_id=row["person_id"], status=row["status"], step=row["step"],
                    vars=dict(row["vars"] or {}), waiting_event=row["waiting_event"],
                    wait_until=row["wait_until"], entered_at=row["entered_at"], ended_at=row["ended_at"])


_INSERT = journey_instances.insert()
_SAVE = update(journey_instances).where(journey_instances.c.id == bindparam("_id")).values(
    status=bindparam("status"), step=bindparam("step"), vars=bindparam("vars"),
    waiting_event=bindparam("waiting_event"), wait_until=bindparam("wait_until"),
    updated_at=bindparam("updated_at"), ended_at=bindparam("ended_at"), end_reason=bindparam("end_reason"))


def insert(conn: Connection, inst: Instance, now: datetime, entry_message: str | None) -> None:
    conn.execute(_INSERT, {
        "id": inst.id, "journey_id": inst.journey_id, "version": inst.version, "person_id": inst.person_id,
        "status": inst.status, "step": inst.step, "vars": inst.vars, "waiting_event": inst.waiting_event,
        "wait_until": inst.wait_until, "entered_at": now, "updated_at": now, "entry_message": entry_message})


def save(conn: Connection, inst: Instance, now: datetime, end_reason: str | None = None) -> None:
    ended = inst.status != "active"
    conn.execute(_SAVE, {"_id": inst.id, "status": inst.status, "step": inst.step, "vars": inst.vars,
                         "waiting_event": inst.waiting_event, "wait_until": inst.wait_until,
                         "updated_at": now, "ended_at": now if ended else None,
                         "end_reason": end_reason if ended else None})


def _locked(conn: Connection, query: Any) -> Any:
    """Row locks on PostgreSQL, so that the processors and the timer loop never advance one
    instance at the same time (SQLite's write transaction already serialises them)."""
    return query.with_for_update() if conn.dialect.name == "postgresql" else query


def get(conn: Connection, instance_id: str) -> Instance | None:
    query = _locked(conn, select(journey_instances).where(journey_instances.c.id == instance_id))
    row = conn.execute(query).mappings().first()
    return _instance(row) if row else None


def of_person(conn: Connection, person_id: str, status: str | None = "active") -> list[Instance]:
    query = select(journey_instances).where(journey_instances.c.person_id == person_id)
    if status:
        query = query.where(journey_instances.c.status == status)
    query = _locked(conn, query.order_by(journey_instances.c.entered_at))
    return [_instance(r) for r in conn.execute(query).mappings()]


def with_active(conn: Connection, person_ids: set[str]) -> set[str]:
    """Those of ``person_ids`` with at least one active instance (one query, no locks: an empty
    :func:`of_person` locks nothing either)."""
    found: set[str] = set()
    ids = sorted(person_ids)
    for i in range(0, len(ids), 500):
        query = select(journey_instances.c.person_id).distinct().where(
            journey_instances.c.person_id.in_(ids[i:i + 500]), journey_instances.c.status == "active")
        found.update(str(r[0]) for r in conn.execute(query))
    return found


def last_entry(conn: Connection, journey_id: str, person_id: str) -> datetime | None:
    query = (select(journey_instances.c.entered_at)
             .where(journey_instances.c.journey_id == journey_id, journey_instances.c.person_id == person_id)
             .order_by(journey_instances.c.entered_at.desc()).limit(1))
    return conn.execute(query).scalar_one_or_none()


def log_step(conn: Connection, instance_id: str, step: str, kind: str, at: datetime,
             outcome: dict[str, Any] | None = None) -> None:
    conn.execute(journey_steps.insert().values(
        instance_id=instance_id, step=step, kind=kind, at=at,
        outcome=orjson.dumps(outcome, default=str).decode() if outcome else None))


def log_steps(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Write buffered step records in one statement (same transaction as the steps)."""
    if rows:
        conn.execute(journey_steps.insert(), rows)


def step_row(instance_id: str, step: str, kind: str, at: datetime,
             outcome: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"instance_id": instance_id, "step": step, "kind": kind, "at": at,
            "outcome": orjson.dumps(outcome, default=str).decode() if outcome else None}


def steps_of(conn: Connection, instance_id: str) -> list[dict[str, Any]]:
    query = select(journey_steps).where(journey_steps.c.instance_id == instance_id).order_by(journey_steps.c.id)
    return [dict(r) for r in conn.execute(query).mappings()]


_ADD_CONTACT = journey_contacts.insert()


def add_contact(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(_ADD_CONTACT, row)  # one prepared statement, not a new construct per contact


def assisted_between(conn: Connection, person_id: str, start: datetime, end: datetime) -> dict[str, Any] | None:
    """A call or branch contact already scheduled for the person in ``[start, end]``."""
    query = (select(journey_contacts)
             .where(journey_contacts.c.person_id == person_id,
                    journey_contacts.c.channel.in_(["call_center", "branch"]),
                    journey_contacts.c.due_at >= start, journey_contacts.c.due_at <= end)
             .order_by(journey_contacts.c.due_at).limit(1))
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def move_person(conn: Connection, from_id: str, to_id: str) -> None:
    """Journeys follow the person when identity merges two profiles."""
    for table in (journey_instances, journey_contacts):
        conn.execute(update(table).where(table.c.person_id == from_id).values(person_id=to_id))


def marketing_times(conn: Connection, person_id: str, start: datetime, end: datetime) -> list[datetime]:
    """Due times of the marketing contacts scheduled for the person in ``(start, end)``."""
    query = select(journey_contacts.c.due_at).where(
        journey_contacts.c.person_id == person_id, journey_contacts.c.purpose == "marketing",
        journey_contacts.c.due_at > start, journey_contacts.c.due_at < end)
    return [row[0] for row in conn.execute(query)]


def offered_since(conn: Connection, person_id: str, product: str, since: datetime) -> bool:
    """Whether a marketing contact about ``product`` was scheduled for the person after ``since``."""
    query = select(journey_contacts.c.id).where(
        journey_contacts.c.person_id == person_id, journey_contacts.c.purpose == "marketing",
        journey_contacts.c.product == product, journey_contacts.c.due_at > since).limit(1)
    return conn.execute(query).first() is not None


def attach_basis(conn: Connection, contact_id: str, message_ids: list[str]) -> None:
    """Record that a scheduled contact also answers ``message_ids``."""
    row = conn.execute(select(journey_contacts.c.based_on).where(journey_contacts.c.id == contact_id)).first()
    if row is not None:
        merged = list(dict.fromkeys([*(row[0] or []), *message_ids]))
        conn.execute(update(journey_contacts).where(journey_contacts.c.id == contact_id).values(based_on=merged))


def bases(conn: Connection, contact_ids: list[str]) -> dict[str, list[str]]:
    """The message ids each contact answers, as the journeys recorded them."""
    if not contact_ids:
        return {}
    query = select(journey_contacts.c.id, journey_contacts.c.based_on).where(journey_contacts.c.id.in_(contact_ids))
    return {str(r[0]): list(r[1] or []) for r in conn.execute(query)}


_PAUSED = "bestnext.journeys.paused"


def paused_ids(conn: Connection) -> set[str]:
    """Ids of the journeys paused now (a tiny table: one row per journey ever paused).

    Read once per transaction of ``conn`` (a processor or timer batch asks for every event);
    :func:`set_paused` on the same connection forgets it.
    """
    txn = conn.get_transaction()
    cached = conn.info.get(_PAUSED)
    if txn is not None and cached is not None and cached[0] is txn:
        return set(cached[1])
    query = select(journey_controls.c.journey_id).where(journey_controls.c.paused.is_(True))
    found = {str(r[0]) for r in conn.execute(query)}
    if txn is not None:
        conn.info[_PAUSED] = (txn, frozenset(found))
    return found


def controls(conn: Connection) -> dict[str, dict[str, Any]]:
    """Pause state of every journey ever paused or resumed: ``{id: {paused, changed_at, changed_by}}``."""
    return {str(r["journey_id"]): dict(r) for r in conn.execute(select(journey_controls)).mappings()}


def set_paused(conn: Connection, journey_id: str, paused: bool, at: datetime, by: str) -> None:
    conn.info.pop(_PAUSED, None)
    upsert(conn, journey_controls, {"journey_id": journey_id, "paused": paused, "changed_at": at,
                                    "changed_by": by}, ("journey_id",), ("paused", "changed_at", "changed_by"))


def held_of(conn: Connection, journey_id: str) -> list[Instance]:
    """Active instances of a journey (locked on PostgreSQL); the caller picks those holding a step."""
    query = _locked(conn, select(journey_instances).where(
        journey_instances.c.journey_id == journey_id, journey_instances.c.status == "active"))
    return [_instance(r) for r in conn.execute(query).mappings()]
