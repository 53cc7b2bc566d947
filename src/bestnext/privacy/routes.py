"""``/v1/privacy``: data subject access (export), erasure and retention."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from bestnext.access import Principal
from bestnext.access.permissions import Permission
from bestnext.api.deps import AccessPurpose, ContainerDep, require
from bestnext.privacy import housekeeping, retention, services

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])
Exporter = Annotated[Principal, Depends(require(Permission.PRIVACY_EXPORT))]
Eraser = Annotated[Principal, Depends(require(Permission.PRIVACY_ERASE))]
Keeper = Annotated[Principal, Depends(require(Permission.RETENTION_RUN))]


@router.get("/{id_type}/{value}/export")
def export(id_type: str, value: str, who: Exporter, container: ContainerDep,
           why: AccessPurpose = None) -> dict[str, Any]:
    return services.export_subject(container.engine, container.clock, who, id_type, value,
                                   why or "data subject access request")


@router.post("/{id_type}/{value}/erase")
def erase(id_type: str, value: str, who: Eraser, container: ContainerDep,
          why: AccessPurpose = None) -> dict[str, Any]:
    return services.erase_subject(container.engine, container.clock, who, id_type, value,
                                  why or "erasure request")


@router.post("/retention")
def apply_retention(_who: Keeper, container: ContainerDep, dry_run: bool = False) -> dict[str, Any]:
    counts, kept = retention.run(container, dry_run), housekeeping.run(container, dry_run)
    return {"dry_run": dry_run, "deleted" if not dry_run else "would_delete": counts, "housekeeping": kept}
