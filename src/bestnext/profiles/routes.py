"""`GET /v1/profiles/{type}/{value}` and `GET /v1/profiles/{id}/events`, behind an API key.

Every read is audited (who, what, when, why: the ``X-Purpose`` header) in the transaction
that reads it; roles without ``profiles:identified`` (analysts, marketers) get the
pseudonymised view (``access.audit.profile_view``).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from bestnext.access import Principal, audit
from bestnext.access.permissions import Permission
from bestnext.api.deps import AccessPurpose, ContainerDep, require
from bestnext.profiles import services

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]


def _is_person_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@router.get("/{person_id}/events")
def profile_events(person_id: str, container: ContainerDep, who: Reader, why: AccessPurpose = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """The person's timeline across touchpoints, oldest first, a page at a time."""
    if not _is_person_id(person_id):  # an identifier whose value is literally "events"
        return profile(person_id, "events", container, who, why)
    with container.engine.begin() as conn:
        page = services.timeline(conn, person_id, limit, offset)
        return audit.profile_view(conn, who, page["person_id"], page, why, container.clock.now(),
                                  container.settings.secret_key)


@router.get("/{id_type}/{value:path}")
def profile(id_type: str, value: str, container: ContainerDep, who: Reader,
            why: AccessPurpose = None) -> dict[str, Any]:
    """The profile of whoever holds the identifier (``person`` + id names a person)."""
    with container.engine.begin() as conn:
        found = services.profile_of(conn, id_type.lower(), value)
        return audit.profile_view(conn, who, found.id, found.public(), why, container.clock.now(),
                                  container.settings.secret_key)
