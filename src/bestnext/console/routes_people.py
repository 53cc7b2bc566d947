"""Search and the customer 360° page (identities, profile, consents, work, timeline, journeys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from bestnext.access.permissions import Permission
from bestnext.access.users import Session
from bestnext.api.deps import ContainerDep
from bestnext.console import people
from bestnext.console.session import allowed, permitted
from bestnext.console.templating import render
from bestnext.db import read
from bestnext.errors import NotFound

router = APIRouter(include_in_schema=False)
Reader = Annotated[Session, Depends(permitted(Permission.PROFILES_IDENTIFIED))]


@router.get("/console/search")
def search_page(request: Request, session: Reader, container: ContainerDep,
                q: Annotated[str, Query(max_length=200)] = "") -> Response:
    hits: list[people.Hit] = []
    if q.strip():
        with read(container.engine) as conn:
            hits = people.search_people(conn, q)
    partial = request.headers.get("hx-request") == "true"
    return render(request, "search_results.html" if partial else "search.html", {"q": q, "hits": hits})


@router.get("/console/person/{person_id}")
def person_page(request: Request, person_id: str, session: Reader, container: ContainerDep,
                touchpoint: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    with container.engine.begin() as conn:
        current = people.resolve_person(conn, person_id)
        if current is None:
            raise NotFound(f"No person '{person_id}'.")
        if current != person_id:
            return RedirectResponse(f"/console/person/{current}", status_code=303)
        view = people.person_view(conn, person_id, session.user.principal, container.clock.now())
    items = [i for i in view.timeline if not touchpoint or i.touchpoint == touchpoint]
    return render(request, "person.html", {
        "view": view, "items": items, "touchpoint": touchpoint or "",
        "can_unmerge": session.user.role.value == "admin",
        "can_decide": allowed(session, Permission.DECISIONS_REQUEST),
    })


@router.get("/console/person/{person_id}/timeline")
def person_timeline(request: Request, person_id: str, session: Reader, container: ContainerDep,
                    touchpoint: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    with read(container.engine) as conn:
        items = people.timeline(conn, person_id, touchpoint or None)
    return render(request, "timeline.html", {"items": items})
