"""FastAPI dependencies: the container, and the authenticated principal with its role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from bestnext.access import Principal, Role
from bestnext.access import store as keys
from bestnext.bootstrap import Container
from bestnext.db import read
from bestnext.errors import Forbidden, Unauthorized


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def get_principal(request: Request, container: ContainerDep) -> Principal:
    """The caller of a management endpoint: an API key, or a console session."""
    session_principal = getattr(request.state, "principal", None)
    if isinstance(session_principal, Principal):
        return session_principal
    secret = _bearer(request)
    if not secret:
        raise Unauthorized("An API key is required (Authorization: Bearer <key>).")
    with read(container.engine) as conn:
        principal = keys.find_key(conn, secret)
    if principal is None:
        raise Unauthorized("The API key is not valid.")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets only ``roles`` (and admins) through."""

    def _check(principal: CurrentPrincipal) -> Principal:
        if principal.role is Role.ADMIN or principal.role in roles:
            return principal
        raise Forbidden(f"Role '{principal.role.value}' may not do this.")

    return _check
