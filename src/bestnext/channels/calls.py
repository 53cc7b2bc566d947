"""Call-center callbacks: a queue of call tasks with priority, a due time within the call
center's opening hours, the person's context, a script and an outcome."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from bestnext.channels.tables import call_tasks
from bestnext.db import insert_ignore
from bestnext.errors import Conflict, NotFound

OUTCOMES = ("reached", "not_reached", "call_back_later", "accepted", "declined", "complaint")
CLAIMABLE = ("open", "escalated")


@dataclass(frozen=True, slots=True)
class CallTask:
    id: str
    action_id: str | None
    person_id: str
    queue: str
    priority: int
    due_at: datetime
    escalate_at: datetime
    purpose: str
    action: str
    product: str | None
    offer: str | None
    reason: str
    context: dict[str, Any]
    script: list[dict[str, Any]]
    status: str
    operator: str | None
    outcome: str | None


def script_for(purpose: str, text: str | None, offer_allowed: bool, product: str | None,
               offer: str | None) -> list[dict[str, Any]]:
    """The operator's script: the service part first, then the offer only if it is allowed.

    >>> [s["step"] for s in script_for("marketing", "Hi", True, "pension_fund", None)]
    ['service', 'offer']
    >>> [s["step"] for s in script_for("marketing", "Hi", False, "pension_fund", None)]
    ['service']
    """
    steps: list[dict[str, Any]] = [{"step": "service", "text": text if purpose == "service" else
                                    "Greet, say why we call, ask whether any request of theirs is still open."}]
    if purpose == "marketing" and offer_allowed:
        steps.append({"step": "offer", "text": text or "", "product": product, "offer": offer})
    return steps


def create(conn: Connection, *, person_id: str, queue: str, priority: int, due_at: datetime,
           escalate_after: timedelta, purpose: str, action: str, product: str | None, offer: str | None,
           reason: str, context: dict[str, Any], script: list[dict[str, Any]], now: datetime,
           action_id: str | None = None) -> str:
    """Queue a call task (idempotent per ``action_id``); returns its id."""
    if action_id is not None:
        found = conn.execute(select(call_tasks.c.id).where(call_tasks.c.action_id == action_id)).scalar()
        if found:
            return str(found)
    task_id = str(uuid.uuid4())
    insert_ignore(conn, call_tasks, [{
        "id": task_id, "action_id": action_id, "person_id": person_id, "queue": queue,
        "priority": priority, "due_at": due_at, "escalate_at": due_at + escalate_after,
        "purpose": purpose, "action": action, "product": product, "offer": offer, "reason": reason,
        "context": context, "script": script, "status": "open", "operator": None, "claimed_at": None,
        "outcome": None, "outcome_at": None, "created_at": now}], ("id",))
    return task_id


def get(conn: Connection, task_id: str) -> CallTask:
    row = conn.execute(select(call_tasks).where(call_tasks.c.id == task_id)).mappings().first()
    if row is None:
        raise NotFound(f"No call task '{task_id}'.")
    return _task(row)


def list_tasks(conn: Connection, *, queue: str | None = None, status: str | None = None,
               limit: int = 200) -> list[CallTask]:
    """Tasks by priority (0 first), then due time."""
    query = select(call_tasks).order_by(call_tasks.c.priority, call_tasks.c.due_at).limit(limit)
    if queue:
        query = query.where(call_tasks.c.queue == queue)
    if status:
        query = query.where(call_tasks.c.status == status)
    return [_task(r) for r in conn.execute(query).mappings()]


def claim(conn: Connection, task_id: str, operator: str, at: datetime) -> CallTask:
    """An operator takes a task; a task already taken by someone else is a conflict."""
    done = conn.execute(update(call_tasks).where(
        call_tasks.c.id == task_id, or_(call_tasks.c.status.in_(CLAIMABLE),
                                        and_(call_tasks.c.status == "claimed", call_tasks.c.operator == operator)))
        .values(status="claimed", operator=operator, claimed_at=at)).rowcount
    if not done:
        get(conn, task_id)
        raise Conflict("The task is already claimed or closed.")
    return get(conn, task_id)


def close(conn: Connection, task_id: str, outcome: str, operator: str, at: datetime) -> CallTask:
    """Record the call's outcome; the task is done."""
    if outcome not in OUTCOMES:
        raise Conflict(f"Unknown outcome '{outcome}'.")
    task = get(conn, task_id)
    if task.status == "done":
        raise Conflict("The task already has an outcome.")
    conn.execute(update(call_tasks).where(call_tasks.c.id == task_id).values(
        status="done", outcome=outcome, outcome_at=at, operator=task.operator or operator))
    return get(conn, task_id)


def has_escalation_due(conn: Connection, now: datetime) -> bool:
    return conn.execute(select(call_tasks.c.id).where(
        call_tasks.c.status == "open", call_tasks.c.escalate_at <= now).limit(1)).first() is not None


def escalate_due(conn: Connection, now: datetime) -> list[CallTask]:
    """Tasks nobody claimed in time: escalated, one priority level up."""
    rows = conn.execute(select(call_tasks).where(
        call_tasks.c.status == "open", call_tasks.c.escalate_at <= now)).mappings().all()
    for row in rows:
        conn.execute(update(call_tasks).where(call_tasks.c.id == row["id"], call_tasks.c.status == "open")
                     .values(status="escalated", priority=max(0, row["priority"] - 1)))
    return [_task(r) for r in rows]


def _task(row: Any) -> CallTask:
    return CallTask(row["id"], row["action_id"], row["person_id"], row["queue"], row["priority"],
                    row["due_at"], row["escalate_at"], row["purpose"], row["action"], row["product"],
                    row["offer"], row["reason"], dict(row["context"] or {}), list(row["script"] or []),
                    row["status"], row["operator"], row["outcome"])


def reassign_person(conn: Connection, survivor_id: str, absorbed_id: str) -> None:
    conn.execute(update(call_tasks).where(call_tasks.c.person_id == absorbed_id).values(person_id=survivor_id))
