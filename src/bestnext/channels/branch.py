"""Branch appointments and the advisor's briefing: who is coming, what they looked at, what
to propose and why. A ``Branch Visited`` or ``Product Subscribed`` event closes the loop."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from bestnext.channels.tables import branch_appointments
from bestnext.db import insert_ignore


@dataclass(frozen=True, slots=True)
class Appointment:
    id: str
    person_id: str
    branch: str
    advisor: str | None
    expected_from: datetime
    expected_until: datetime | None
    status: str
    briefing: dict[str, Any]


def create(conn: Connection, *, person_id: str, branch: str, advisor: str | None, expected_from: datetime,
           expected_until: datetime | None, briefing: dict[str, Any], now: datetime,
           action_id: str | None = None) -> str:
    """Expect the person at ``branch`` (idempotent per ``action_id``); returns the appointment id."""
    if action_id is not None:
        found = conn.execute(select(branch_appointments.c.id).where(
            branch_appointments.c.action_id == action_id)).scalar()
        if found:
            return str(found)
    appointment_id = str(uuid.uuid4())
    insert_ignore(conn, branch_appointments, [{
        "id": appointment_id, "action_id": action_id, "person_id": person_id, "branch": branch,
        "advisor": advisor, "expected_from": expected_from, "expected_until": expected_until,
        "status": "expected", "briefing": briefing, "created_at": now, "closed_at": None}], ("id",))
    return appointment_id


def list_for_branch(conn: Connection, branch: str | None = None, status: str | None = "expected") -> list[Appointment]:
    """Briefings visible before the visit, soonest first."""
    query = select(branch_appointments).order_by(branch_appointments.c.expected_from)
    if branch:
        query = query.where(branch_appointments.c.branch == branch)
    if status:
        query = query.where(branch_appointments.c.status == status)
    return [_appointment(r) for r in conn.execute(query).mappings()]


def close_for_person(conn: Connection, person_id: str, outcome: str, at: datetime) -> int:
    """The person came (``visited``) or subscribed (``converted``): close their expected visits."""
    return int(conn.execute(update(branch_appointments).where(
        branch_appointments.c.person_id == person_id,
        branch_appointments.c.status.in_(("expected", "visited")))
        .values(status=outcome, closed_at=at)).rowcount)


def _appointment(row: Any) -> Appointment:
    return Appointment(row["id"], row["person_id"], row["branch"], row["advisor"], row["expected_from"],
                       row["expected_until"], row["status"], dict(row["briefing"] or {}))


def reassign_person(conn: Connection, survivor_id: str, absorbed_id: str) -> None:
    conn.execute(update(branch_appointments).where(branch_appointments.c.person_id == absorbed_id)
                 .values(person_id=survivor_id))
