"""Console users (administrators): list, create, disable."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from bestnext.access import Role, users
from bestnext.access.permissions import Permission
from bestnext.access.users import Session
from bestnext.api.deps import ContainerDep
from bestnext.console.session import permitted, permitted_post
from bestnext.console.templating import render
from bestnext.db import read
from bestnext.errors import InvalidInput

router = APIRouter(include_in_schema=False)
Admin = Annotated[Session, Depends(permitted(Permission.USERS_MANAGE))]
AdminPost = Annotated[Session, Depends(permitted_post(Permission.USERS_MANAGE))]


@router.get("/console/users")
def users_page(request: Request, session: Admin, container: ContainerDep) -> Response:
    with read(container.engine) as conn:
        people = users.list_users(conn)
    return render(request, "users.html", {"users": people, "roles": users.CONSOLE_ROLES,
                                          "created": request.query_params.get("created")})


@router.post("/console/users")
def create_user(session: AdminPost, container: ContainerDep, username: Annotated[str, Form(max_length=64)],
                role: Annotated[str, Form(max_length=32)], password: Annotated[str, Form(max_length=256)],
                display_name: Annotated[str, Form(max_length=200)] = "",
                branch_id: Annotated[str, Form(max_length=32)] = "") -> Response:
    if role not in {r.value for r in users.CONSOLE_ROLES}:
        raise InvalidInput("Unknown role.", errors=[{"field": "role", "message": role}])
    with container.engine.begin() as conn:
        user = users.create_user(conn, username, Role(role), password, container.clock.now(),
                                 display_name=display_name or None, branch_id=branch_id or None)
    return RedirectResponse(f"/console/users?created={user.username}", status_code=303)


@router.post("/console/users/{username}/disable")
def disable_user(username: str, session: AdminPost, container: ContainerDep) -> Response:
    if username == session.user.username:
        raise InvalidInput("You cannot disable yourself.")
    with container.engine.begin() as conn:
        users.disable_user(conn, username, container.clock.now())
    return RedirectResponse("/console/users", status_code=303)
