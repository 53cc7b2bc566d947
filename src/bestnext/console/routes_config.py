"""Journeys and catalog screens (marketing): list, YAML, diagrams with live counts, validation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from bestnext.access.permissions import Permission
from bestnext.access.users import Session
from bestnext.api.deps import ContainerDep
from bestnext.console import config_views
from bestnext.console.session import permitted, permitted_post
from bestnext.console.templating import render
from bestnext.db import read
from bestnext.decisions import catalog_versions
from bestnext.errors import NotFound
from bestnext.journeys import services as journeys

router = APIRouter(include_in_schema=False)
JourneyManager = Annotated[Session, Depends(permitted(Permission.JOURNEYS_MANAGE))]
JourneyManagerPost = Annotated[Session, Depends(permitted_post(Permission.JOURNEYS_MANAGE))]
CatalogManager = Annotated[Session, Depends(permitted(Permission.CATALOG_MANAGE))]
CatalogManagerPost = Annotated[Session, Depends(permitted_post(Permission.CATALOG_MANAGE))]
MAX_YAML = 512 * 1024


@router.get("/console/journeys")
def journeys_page(request: Request, session: JourneyManager, container: ContainerDep,
                  person: Annotated[str, Query(max_length=200)] = "") -> Response:
    with read(container.engine) as conn:
        rows = config_views.journeys_overview(conn, container.settings.config_dir)
        found = config_views.person_instances(conn, person) if person.strip() else None
    return render(request, "journeys.html", {"rows": rows, "person": person, "found": found})


@router.post("/console/journeys/{journey_id}/{change}")
def journey_pause(journey_id: str, change: str, session: JourneyManagerPost, container: ContainerDep) -> Response:
    if change not in ("pause", "resume"):
        raise NotFound(f"No action '{change}'.")
    with container.engine.begin() as conn:
        do = journeys.pause if change == "pause" else journeys.resume
        do(conn, container.settings.config_dir, journey_id, session.user.username, container.clock.now())
    journeys.wake_timers(container)
    return RedirectResponse("/console/journeys", status_code=303)


@router.get("/console/journeys/{journey_id}")
def journey_page(request: Request, journey_id: str, session: JourneyManager, container: ContainerDep) -> Response:
    with read(container.engine) as conn:
        journey, text, boxes = config_views.journey_detail(conn, container.settings.config_dir, journey_id)
    partial = request.headers.get("hx-request") == "true"
    return render(request, "journey_diagram.html" if partial else "journey.html",
                  {"journey": journey, "text": text, "boxes": boxes})


@router.post("/console/journeys/validate")
def journey_validate(request: Request, session: JourneyManagerPost,
                     text: Annotated[str, Form(max_length=MAX_YAML)]) -> Response:
    return render(request, "validation.html", {"errors": config_views.validate_journey(text), "summary": None})


@router.get("/console/catalog")
def catalog_page(request: Request, session: CatalogManager, container: ContainerDep) -> Response:
    with read(container.engine) as conn:
        catalog, text, number = config_views.current_catalog(conn, container.settings.config_dir)
        versions = catalog_versions.versions(conn)
    return render(request, "catalog.html", {"catalog": catalog, "text": text, "number": number,
                                            "versions": versions})


@router.post("/console/catalog/activate")
def catalog_activate(request: Request, session: CatalogManagerPost, container: ContainerDep,
                     text: Annotated[str, Form(max_length=MAX_YAML)]) -> Response:
    by, now = session.user.username, container.clock.now()
    with container.engine.begin() as conn:
        stored = catalog_versions.submit(conn, text, container.settings.config_dir, by, now)
        done = catalog_versions.activate(conn, stored["number"], by, now)
    return render(request, "catalog_activated.html", {"done": done})


@router.post("/console/catalog/versions/{number}/activate")
def catalog_version_activate(number: int, session: CatalogManagerPost, container: ContainerDep) -> Response:
    with container.engine.begin() as conn:
        catalog_versions.activate(conn, number, session.user.username, container.clock.now())
    return RedirectResponse("/console/catalog", status_code=303)


@router.post("/console/catalog/validate")
def catalog_validate(request: Request, session: CatalogManagerPost, container: ContainerDep,
                     text: Annotated[str, Form(max_length=MAX_YAML)]) -> Response:
    catalog, errors = config_views.validate_catalog(text, container.settings.config_dir)
    summary = f"version {catalog.version}: {len(catalog.actions)} actions, {len(catalog.offers)} offers" \
        if catalog else None
    return render(request, "validation.html", {"errors": errors, "summary": summary, "activate": catalog is not None})
