"""Assisted work: the call-center queue (claim, script, outcome; live by htmx polling) and the
branch's appointments and briefings."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from bestnext.access.permissions import Permission
from bestnext.access.users import Session
from bestnext.api.deps import ContainerDep
from bestnext.channels import assisted, branch, calls
from bestnext.channels.config import operators_config
from bestnext.clock import ROME, to_rome
from bestnext.console import people
from bestnext.console.session import permitted, permitted_post
from bestnext.console.templating import render
from bestnext.db import read
from bestnext.errors import InvalidInput

router = APIRouter(include_in_schema=False)
WORK = (Permission.CONTACTS_WORK, Permission.PROFILES_IDENTIFIED)
Worker = Annotated[Session, Depends(permitted(*WORK))]
WorkerPost = Annotated[Session, Depends(permitted_post(*WORK))]
OPEN = ("open", "escalated", "claimed")


@router.get("/console/queue")
def queue_page(request: Request, session: Worker, container: ContainerDep) -> Response:
    return render(request, "queue.html", _queue(container))


@router.get("/console/queue/list")
def queue_list(request: Request, session: Worker, container: ContainerDep,
               v: Annotated[str, Query(max_length=64)] = "") -> Response:
    """The queue for htmx polling: 204 (nothing to swap, focus kept) while it has not changed."""
    context = _queue(container)
    if v and v == context["version"]:
        return Response(status_code=204)
    return render(request, "queue_live.html", context)


def _queue(container: ContainerDep) -> dict[str, object]:
    queue = operators_config(container.settings.config_dir).call_center.queue
    with read(container.engine) as conn:
        tasks = [t for t in calls.list_tasks(conn, queue=queue, limit=500) if t.status in OPEN]
        names = people.names_of(conn, {t.person_id for t in tasks})
    return {"tasks": tasks, "names": names, "now": container.clock.now(), "version": version_of(tasks)}


def version_of(tasks: list[calls.CallTask]) -> str:
    """A fingerprint of what the queue shows (ids, states, operators, due times)."""
    digest = hashlib.sha256()
    for t in tasks:
        digest.update(f"{t.id}|{t.status}|{t.operator}|{t.priority}|{t.due_at.isoformat()};".encode())
    return digest.hexdigest()[:16]


@router.get("/console/queue/{task_id}")
def task_page(request: Request, task_id: str, session: Worker, container: ContainerDep) -> Response:
    with read(container.engine) as conn:
        task = calls.get(conn, task_id)
        names = people.names_of(conn, {task.person_id})
    return render(request, "task.html", {"task": task, "name": names.get(task.person_id),
                                         "outcomes": calls.OUTCOMES, "done": request.query_params.get("done")})


@router.post("/console/queue/{task_id}/claim")
def claim_task(task_id: str, session: WorkerPost, container: ContainerDep) -> Response:
    with container.engine.begin() as conn:
        calls.claim(conn, task_id, session.user.username, container.clock.now())
    return RedirectResponse(f"/console/queue/{task_id}", status_code=303)


@router.post("/console/queue/{task_id}/outcome")
def task_outcome(task_id: str, session: WorkerPost, container: ContainerDep,
                 outcome: Annotated[str, Form(max_length=32)],
                 call_back_at: Annotated[str, Form(max_length=32)] = "") -> Response:
    if outcome not in calls.OUTCOMES:
        raise InvalidInput("Unknown outcome.", errors=[{"field": "outcome", "message": f"one of {calls.OUTCOMES}"}])
    when = _local_datetime(call_back_at) if call_back_at else None
    ops = operators_config(container.settings.config_dir)
    with container.engine.begin() as conn:
        assisted.record_outcome(conn, task_id, outcome, session.user.username, container.clock.now(), ops, when)
    container.notifier.notify()
    return RedirectResponse(f"/console/queue/{task_id}?done=1", status_code=303)


def _local_datetime(value: str) -> datetime:
    """A ``datetime-local`` form value, taken in the bank's time zone."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("Not a date and time.", errors=[{"field": "call_back_at", "message": value}]) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ROME)


@router.get("/console/branch")
def branch_page(request: Request, session: Worker, container: ContainerDep,
                branch_id: Annotated[str | None, Query(alias="branch", max_length=32)] = None,
                advisor: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    ops = operators_config(container.settings.config_dir)
    chosen = session.user.branch_id or branch_id or (ops.branches[0].id if ops.branches else None)
    with read(container.engine) as conn:
        items = [a for a in branch.list_for_branch(conn, chosen, "expected") if not advisor or a.advisor == advisor]
        names = people.names_of(conn, {a.person_id for a in items})
    today = to_rome(container.clock.now()).date()
    return render(request, "branch.html", {
        "branches": ops.branches, "chosen": chosen, "advisor": advisor or "", "names": names,
        "today": [a for a in items if to_rome(a.expected_from).date() <= today],
        "later": [a for a in items if to_rome(a.expected_from).date() > today],
        "fixed_branch": bool(session.user.branch_id)})
