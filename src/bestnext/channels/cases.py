"""Service cases: a type, an SLA, an owner team and a status history. An open case suppresses
marketing to the person (the contact policy asks :func:`has_open_case`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from bestnext.channels.tables import case_history, service_cases
from bestnext.db import insert_ignore
from bestnext.errors import Conflict, NotFound

OPEN_STATES = ("open", "in_progress")
STATES = ("open", "in_progress", "resolved", "closed")


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    person_id: str
    type: str
    team: str
    status: str
    opened_by: str
    opened_at: datetime
    sla_due_at: datetime
    closed_at: datetime | None
    based_on: tuple[str, ...]
    history: tuple[dict[str, Any], ...] = ()


def has_open_case(conn: Connection, person_id: str) -> bool:
    """True while the person has a service case that is not resolved or closed."""
    query = select(service_cases.c.id).where(
        service_cases.c.person_id == person_id, service_cases.c.status.in_(OPEN_STATES)).limit(1)
    return conn.execute(query).first() is not None


def with_open_case(conn: Connection, person_ids: list[str]) -> set[str]:
    """Which of ``person_ids`` have an open case (:func:`has_open_case` for a batch)."""
    found: set[str] = set()
    for start in range(0, len(person_ids), 500):
        found.update(conn.execute(select(service_cases.c.person_id).where(
            service_cases.c.person_id.in_(person_ids[start:start + 500]),
            service_cases.c.status.in_(OPEN_STATES)).distinct()).scalars())
    return found


def open_case(conn: Connection, person_id: str, case_type: str, *, team: str, sla: timedelta,
              opened_by: str, at: datetime, based_on: tuple[str, ...] = (),
              action_id: str | None = None) -> str:
    """Open a case (idempotent per ``action_id``); returns its id."""
    if action_id is not None:
        existing = conn.execute(select(service_cases.c.id).where(
            service_cases.c.action_id == action_id)).scalar_one_or_none()
        if existing:
            return str(existing)
    case_id = str(uuid.uuid4())
    insert_ignore(conn, service_cases, [{
        "id": case_id, "action_id": action_id, "person_id": person_id, "type": case_type, "team": team,
        "status": "open", "opened_by": opened_by, "opened_at": at, "sla_due_at": at + sla,
        "closed_at": None, "based_on": list(based_on)}], ("id",))
    conn.execute(case_history.insert().values(case_id=case_id, at=at, status="open", by=opened_by))
    return case_id


def set_status(conn: Connection, case_id: str, status: str, by: str, at: datetime) -> Case:
    """Move a case to ``status`` and record who did it and when."""
    case = get(conn, case_id)
    if status not in STATES:
        raise Conflict(f"Unknown case status '{status}'.")
    if case.status == "closed":
        raise Conflict("The case is closed.")
    closed = at if status in ("resolved", "closed") else None
    conn.execute(update(service_cases).where(service_cases.c.id == case_id)
                 .values(status=status, closed_at=closed))
    conn.execute(case_history.insert().values(case_id=case_id, at=at, status=status, by=by))
    return get(conn, case_id)


def get(conn: Connection, case_id: str) -> Case:
    row = conn.execute(select(service_cases).where(service_cases.c.id == case_id)).mappings().first()
    if row is None:
        raise NotFound(f"No case '{case_id}'.")
    history = conn.execute(select(case_history.c.at, case_history.c.status, case_history.c.by)
                           .where(case_history.c.case_id == case_id).order_by(case_history.c.seq))
    return _case(row, tuple(dict(h._mapping) for h in history))


def list_cases(conn: Connection, *, status: str | None = None, person_id: str | None = None,
               limit: int = 200) -> list[Case]:
    query = select(service_cases).order_by(service_cases.c.opened_at).limit(limit)
    if status == "open":
        query = query.where(service_cases.c.status.in_(OPEN_STATES))
    elif status:
        query = query.where(service_cases.c.status == status)
    if person_id:
        query = query.where(service_cases.c.person_id == person_id)
    return [_case(r) for r in conn.execute(query).mappings()]


def _case(row: Any, history: tuple[dict[str, Any], ...] = ()) -> Case:
    return Case(row["id"], row["person_id"], row["type"], row["team"], row["status"], row["opened_by"],
                row["opened_at"], row["sla_due_at"], row["closed_at"], tuple(row["based_on"] or ()), history)


def reassign_person(conn: Connection, survivor_id: str, absorbed_id: str) -> None:
    """Identity merged two people: their cases follow the survivor."""
    conn.execute(update(service_cases).where(service_cases.c.person_id == absorbed_id)
                 .values(person_id=survivor_id))
