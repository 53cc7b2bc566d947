"""HTTP API of catalog versions: validate and store an edited catalog, activate one, list them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from bestnext.access import Principal
from bestnext.access.permissions import Permission
from bestnext.api.deps import ContainerDep, require
from bestnext.db import read
from bestnext.decisions import catalog_versions

router = APIRouter(tags=["catalog"])
Manager = Annotated[Principal, Depends(require(Permission.CATALOG_MANAGE))]
YAML = Annotated[str, Body(media_type="application/yaml", max_length=512 * 1024)]


@router.post("/v1/catalog/versions", status_code=201)
def submit_version(text: YAML, container: ContainerDep, who: Manager) -> dict[str, Any]:
    """Validate a catalog (YAML body; a 422 problem names the line and field of each error) and
    store it as the next version, not yet active."""
    with container.engine.begin() as conn:
        return catalog_versions.submit(conn, text, container.settings.config_dir, who.name, container.clock.now())


@router.post("/v1/catalog/versions/{number}/activate")
def activate_version(number: int, container: ContainerDep, who: Manager) -> dict[str, Any]:
    """Make a stored version the active catalog (every process uses it from its next decision)."""
    with container.engine.begin() as conn:
        return catalog_versions.activate(conn, number, who.name, container.clock.now())


@router.get("/v1/catalog/versions")
def list_versions(container: ContainerDep, _who: Manager) -> list[dict[str, Any]]:
    """The stored catalog versions, newest first (``active`` marks the one in use)."""
    with read(container.engine) as conn:
        return catalog_versions.versions(conn)
