"""``GET /v1/audit``: the audit log, for compliance."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from bestnext.access import Principal, audit
from bestnext.access.permissions import Permission
from bestnext.api.deps import ContainerDep, require
from bestnext.db import read
from bestnext.privacy import subjects

router = APIRouter(prefix="/v1/audit", tags=["access"])
Auditor = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]


@router.get("")
def list_audit(_who: Auditor, container: ContainerDep,
               person: str | None = Query(None, description="TYPE:VALUE of the person"),
               action: str | None = None, since: datetime | None = None,
               limit: int = Query(100, ge=1, le=10_000)) -> dict[str, Any]:
    with read(container.engine) as conn:
        person_id = subjects.resolve(conn, *subjects.parse(person)) if person else None
        return {"entries": audit.entries(conn, person_id=person_id, action=action, since=since, limit=limit)}
