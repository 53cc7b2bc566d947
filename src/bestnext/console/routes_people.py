"""Search and the customer 360° page (identities, profile, consents, work, timeline, journeys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from bestnext.access import audit
from bestnext.access.permissions import Permission
from bestnext.access.users import Session
from bestnext.api.deps import ContainerDep
from bestnext.consent import services as consent
from bestnext.consent.model import Purpose, Source
from bestnext.console import nba, people
from bestnext.console.i18n import LANG_COOKIE, choose_lang
from bestnext.console.session import allowed, permitted, permitted_post
from bestnext.console.templating import render
from bestnext.db import read
from bestnext.errors import InvalidInput, NotFound
from bestnext.identity import services as identity

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
        "can_unmerge": allowed(session, Permission.PEOPLE_UNMERGE),
        "can_decide": allowed(session, Permission.DECISIONS_REQUEST),
        "can_consent": allowed(session, Permission.CONSENTS_WRITE),
    })


@router.get("/console/person/{person_id}/timeline")
def person_timeline(request: Request, person_id: str, session: Reader, container: ContainerDep,
                    touchpoint: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    with read(container.engine) as conn:
        items = people.timeline(conn, person_id, touchpoint or None)
    return render(request, "timeline.html", {"items": items})


Decider = Annotated[Session, Depends(permitted(Permission.DECISIONS_REQUEST, Permission.PROFILES_IDENTIFIED))]
DeciderPost = Annotated[Session, Depends(permitted_post(Permission.DECISIONS_REQUEST,
                                                        Permission.PROFILES_IDENTIFIED))]


@router.get("/console/person/{person_id}/nba")
def nba_panel(request: Request, person_id: str, session: Decider, container: ContainerDep) -> Response:
    lang = choose_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))
    with container.engine.begin() as conn:
        panel = nba.next_actions(conn, person_id, session.user.role, session.user.username,
                                 container.clock.now(), container.settings.config_dir, lang)
    return render(request, "nba.html", {"panel": panel, "person_id": person_id})


@router.post("/console/person/{person_id}/nba/{decision_id}/{action_id}")
def nba_respond(request: Request, person_id: str, decision_id: str, action_id: str, session: DeciderPost,
                container: ContainerDep, response: Annotated[str, Form(max_length=16)]) -> Response:
    with container.engine.begin() as conn:
        outcome = nba.respond(conn, person_id, decision_id, action_id, response, session.user.username,
                              session.user.role, container.clock.now(), container.settings.config_dir)
    container.notifier.notify()
    if request.headers.get("hx-request") == "true":
        return render(request, "nba_done.html", {"outcome": outcome, "action_id": action_id})
    return RedirectResponse(f"/console/person/{person_id}?recorded={action_id}:{outcome}", status_code=303)


Unmerger = Annotated[Session, Depends(permitted_post(Permission.PEOPLE_UNMERGE))]


@router.post("/console/person/{person_id}/unmerge/{merge_id}")
def unmerge(person_id: str, merge_id: str, session: Unmerger, container: ContainerDep) -> Response:
    """Admins undo a wrong merge; the restored person gets their identities and events back."""
    with container.engine.begin() as conn:
        done = identity.unmerge(conn, merge_id, container.clock.now())
        audit.record(conn, session.user.principal, "person.unmerge", done.restored_id, f"merge {merge_id}",
                     container.clock.now())
    container.notifier.notify()
    return RedirectResponse(f"/console/person/{done.restored_id}", status_code=303)


ConsentWriter = Annotated[Session, Depends(permitted_post(Permission.CONSENTS_WRITE, Permission.PROFILES_IDENTIFIED))]


@router.post("/console/person/{person_id}/consents")
def change_consent(person_id: str, session: ConsentWriter, container: ContainerDep,
                   purpose: Annotated[str, Form(max_length=64)], granted: Annotated[bool, Form()]) -> Response:
    """Record a consent the person states to an operator (by phone, at the branch)."""
    if purpose not in {p.value for p in Purpose}:
        raise InvalidInput("Unknown purpose.", errors=[{"field": "purpose", "message": purpose}])
    source = Source(nba.channel_of(session.user.role) or "console", operator=session.user.username)
    with container.engine.begin() as conn:
        if identity.current_person(conn, person_id) != person_id:
            raise NotFound("No such person.")
        consent.record(conn, person_id, {purpose: granted}, source, container.clock.now())
    container.notifier.notify()
    return RedirectResponse(f"/console/person/{person_id}#co-h", status_code=303)
