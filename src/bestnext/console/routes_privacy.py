"""Privacy center (compliance): find a person, consent history, DSAR export and erasure with
confirmation, and the audit log of reads."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

from bestnext.access import audit
from bestnext.access.permissions import Permission
from bestnext.access.users import Session
from bestnext.api.deps import ContainerDep
from bestnext.consent import services as consent
from bestnext.console import people
from bestnext.console.session import permitted, permitted_post
from bestnext.console.templating import render
from bestnext.db import read
from bestnext.errors import InvalidInput, NotFound
from bestnext.identity import services as identity
from bestnext.privacy import services as privacy

router = APIRouter(include_in_schema=False)
Auditor = Annotated[Session, Depends(permitted(Permission.AUDIT_READ))]
Exporter = Annotated[Session, Depends(permitted(Permission.PRIVACY_EXPORT))]
Eraser = Annotated[Session, Depends(permitted_post(Permission.PRIVACY_ERASE))]
PURPOSE = "console: data subject request"


def short(person_id: str) -> str:
    """The code a compliance officer types to confirm an erasure.

    >>> short("0f1e2d3c-aaaa-bbbb-cccc-000000000000")
    '0f1e2d3c'
    """
    return person_id[:8]


@router.get("/console/privacy")
def privacy_page(request: Request, session: Auditor, container: ContainerDep,
                 q: Annotated[str, Query(max_length=200)] = "",
                 action: Annotated[str, Query(max_length=64)] = "") -> Response:
    with read(container.engine) as conn:
        hits = people.search_people(conn, q) if q.strip() else []
        entries = audit.entries(conn, action=action or None, limit=200)
    return render(request, "privacy.html", {"q": q, "hits": hits, "entries": entries, "action": action})


@router.get("/console/privacy/person/{person_id}")
def privacy_person(request: Request, person_id: str, session: Auditor, container: ContainerDep) -> Response:
    now = container.clock.now()
    with container.engine.begin() as conn:
        if identity.current_person(conn, person_id) is None:
            raise NotFound("No such person.")
        audit.record(conn, session.user.principal, "privacy.view", person_id, PURPOSE, now)
        context = {"person_id": person_id, "short": short(person_id),
                   "name": people.names_of(conn, {person_id}).get(person_id),
                   "identities": identity.identities_of(conn, person_id),
                   "consents": consent.show(conn, person_id),
                   "entries": audit.entries(conn, person_id=person_id, limit=200)}
    return render(request, "privacy_person.html", context)


@router.get("/console/privacy/person/{person_id}/export")
def privacy_export(person_id: str, session: Exporter, container: ContainerDep) -> Response:
    data = privacy.export_subject(container.engine, container.clock, session.user.principal, "person",
                                  person_id, PURPOSE)
    body = orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="dsar-{short(person_id)}.json"'})


@router.post("/console/privacy/person/{person_id}/erase")
def privacy_erase(request: Request, person_id: str, session: Eraser, container: ContainerDep,
                  confirm: Annotated[str, Form(max_length=64)] = "") -> Response:
    if confirm.strip() != short(person_id):
        raise InvalidInput("Type the person's code to confirm the erasure.",
                           errors=[{"field": "confirm", "message": "does not match"}])
    result = privacy.erase_subject(container.engine, container.clock, session.user.principal, "person",
                                   person_id, PURPOSE)
    container.notifier.notify()
    return render(request, "privacy_erased.html", {"result": result})
