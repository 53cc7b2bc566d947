"""FastAPI dependencies: the container, and the authenticated principal with its role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from bestnext.access import Principal, Role
from bestnext.access import store as keys
from bestnext.access.permissions import Permission, roles_for
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

# Why personal data is read: written to the audit log with every read of a profile.
AccessPurpose = Annotated[str | None, Header(alias="X-Purpose", description="Why the data is read (audited).")]


def require(*needs: Permission | Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through only principals holding every permission in ``needs``
    (per the matrix in ``access.permissions``; admins hold all).

    Passing roles instead of permissions is still accepted (any of the roles passes) but
    new code uses permissions, so that the matrix stays in one place.
    """
    permissions = tuple(n for n in needs if isinstance(n, Permission))
    roles = frozenset(n for n in needs if isinstance(n, Role))
    allowed = frozenset(Role).intersection(*(roles_for(p) for p in permissions)) if permissions \
        else roles | {Role.ADMIN}
    if permissions and roles:
        allowed = allowed & (roles | {Role.ADMIN})

    def _check(principal: CurrentPrincipal) -> Principal:
        if principal.role in allowed:
            return principal
        raise Forbidden(f"Role '{principal.role.value}' may not do this.")

    _check.allowed_roles = allowed  # type: ignore[attr-defined]  # read by the matrix test
    _check.permissions = permissions  # type: ignore[attr-defined]
    return _check
