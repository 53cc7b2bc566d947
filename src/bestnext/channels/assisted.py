"""Use cases of the assisted channels: an action for the call center becomes a call task, an
action for a branch becomes an expected visit with the advisor's briefing; outcomes and visits
come back as events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from bestnext.calendar import BusinessCalendar
from bestnext.channels import branch, calls, cases, timeline
from bestnext.channels.config import OperatorsConfig
from bestnext.channels.model import OutboundAction, decision_of
from bestnext.eventlog.tables import events

CALENDAR = BusinessCalendar()


def _events(conn: Connection, person_id: str, message_ids: tuple[str, ...], recent: int) -> dict[str, Any]:
    """The events that led here (by message id) and the person's latest ones (names only)."""
    led: list[dict[str, Any]] = []
    if message_ids:
        rows = conn.execute(select(events.c.message_id, events.c.event, events.c.type, events.c.touchpoint,
                                   events.c.occurred_at).where(events.c.message_id.in_(list(message_ids)))
                            .order_by(events.c.occurred_at))
        led = [r._asdict() for r in rows]
    latest = conn.execute(select(events.c.event, events.c.type, events.c.touchpoint, events.c.occurred_at,
                                 events.c.payload).where(events.c.person_id == person_id)
                          .order_by(events.c.occurred_at.desc()).limit(recent))
    looked_at = [{"event": r.event or r.type, "touchpoint": r.touchpoint, "at": r.occurred_at,
                  "page": (r.payload.get("properties") or {}).get("path") if r.type == "page" else None}
                 for r in latest]
    return {"led_here": led, "recent": looked_at}


def call_task_for(conn: Connection, action: OutboundAction, now: datetime, ops: OperatorsConfig) -> str:
    """Queue the call of ``action`` within the call center's opening hours."""
    center = ops.call_center
    due = CALENDAR.next_open(max(action.due_at, now), center.weekly_hours())
    offer_allowed = action.purpose == "marketing" and not cases.has_open_case(conn, action.person_id)
    context = {"why": {"action": action.action, "purpose": action.purpose, "product": action.product,
                       "offer": action.offer, "journey": action.journey, **decision_of(action.data)},
               **_events(conn, action.person_id, action.based_on, 10)}
    return calls.create(
        conn, person_id=action.person_id, queue=action.assignee or center.queue,
        priority=1 if action.purpose == "service" else 3, due_at=due,
        escalate_after=timedelta(minutes=center.escalate_after_minutes), purpose=action.purpose,
        action=action.action, product=action.product, offer=action.offer, reason=action.action,
        context=_jsonable(context), script=calls.script_for(action.purpose, action.text, offer_allowed,
                                                 action.product, action.offer),
        now=now, action_id=action.id)


def briefing_for(conn: Connection, action: OutboundAction, now: datetime, ops: OperatorsConfig) -> str:
    """Tell the advisor of the person's branch who is coming, what they looked at, what to propose."""
    branch_id = str(action.data.get("branch") or action.assignee or (ops.branches[0].id if ops.branches else ""))
    found = ops.branch(branch_id)
    advisor = found.advisors[0].name if found and found.advisors else None
    until = action.data.get("valid_until")
    briefing = {"who": {"person_id": action.person_id},
                "propose": {"action": action.action, "product": action.product, "offer": action.offer},
                "why": action.text, "journey": action.journey,
                **_events(conn, action.person_id, action.based_on, 20)}
    return branch.create(conn, person_id=action.person_id, branch=branch_id, advisor=advisor,
                         expected_from=action.due_at,
                         expected_until=datetime.fromisoformat(until) if isinstance(until, str) else None,
                         briefing=_jsonable(briefing), now=now, action_id=action.id)


def record_outcome(conn: Connection, task_id: str, outcome: str, operator: str, now: datetime,
                   ops: OperatorsConfig, call_back_at: datetime | None = None) -> calls.CallTask:
    """Close a call with its outcome; the outcome becomes a ``Call Completed`` event. A complaint
    opens a service case; "call back later" queues a new task."""
    task = calls.close(conn, task_id, outcome, operator, now)
    timeline.record(conn, task.person_id, "Call Completed", f"call:{task.id}:outcome", now,
                    touchpoint="call_center", now=now,
                    properties={"outcome": outcome, "task_id": task.id, "action": task.action,
                                "action_id": task.action_id, "product": task.product, "offer": task.offer,
                                "operator": task.operator, "purpose": task.purpose,
                                **decision_of((task.context or {}).get("why") or {})})
    if outcome == "complaint":
        kind = ops.case_types.get("complaint")
        cases.open_case(conn, task.person_id, "complaint", team=kind.team if kind else "customer_care",
                        sla=timedelta(hours=kind.sla_hours if kind else 48), opened_by=operator, at=now)
    if outcome == "call_back_later":
        when = CALENDAR.next_open(call_back_at or now + timedelta(hours=2), ops.call_center.weekly_hours())
        calls.create(conn, person_id=task.person_id, queue=task.queue, priority=task.priority, due_at=when,
                     escalate_after=timedelta(minutes=ops.call_center.escalate_after_minutes),
                     purpose=task.purpose, action=task.action, product=task.product, offer=task.offer,
                     reason=task.reason, context=task.context, script=task.script, now=now)
    return task


def escalate(conn: Connection, now: datetime) -> int:
    """Escalate the tasks nobody claimed in time, each with a ``Call Task Escalated`` event."""
    done = calls.escalate_due(conn, now)
    for task in done:
        timeline.record(conn, task.person_id, "Call Task Escalated", f"call:{task.id}:escalated", now,
                        touchpoint="call_center", now=now,
                        properties={"task_id": task.id, "queue": task.queue, "action": task.action})
    return len(done)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {"".join(str(k)): _jsonable(v) for k, v in value.items()}  # exact str keys for orjson
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, datetime) else value
