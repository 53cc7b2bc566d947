"""`GET /v1/profiles/{type}/{value}` and `GET /v1/profiles/{id}/events`, behind an API key."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from bestnext.access import Principal, Role
from bestnext.api.deps import ContainerDep, require
from bestnext.db import read
from bestnext.profiles import services

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])
Reader = Annotated[Principal, Depends(require(Role.AGENT, Role.BRANCH, Role.MARKETER, Role.COMPLIANCE))]


def _is_person_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@router.get("/{person_id}/events")
def profile_events(person_id: str, container: ContainerDep, _who: Reader,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """The person's timeline across touchpoints, oldest first, a page at a time."""
    with read(container.engine) as conn:
        if not _is_person_id(person_id):  # an identifier whose value is literally "events"
            return services.profile_of(conn, person_id, "events").public()
        return services.timeline(conn, person_id, limit, offset)


@router.get("/{id_type}/{value:path}")
def profile(id_type: str, value: str, container: ContainerDep, _who: Reader) -> dict[str, Any]:
    """The profile of whoever holds the identifier (``person`` + id names a person)."""
    with read(container.engine) as conn:
        return services.profile_of(conn, id_type.lower(), value).public()
