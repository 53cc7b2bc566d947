"""Login, logout and the console's home page."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from bestnext.access import users
from bestnext.api.deps import ContainerDep
from bestnext.console.session import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    CheckedSession,
    ConsoleSession,
    set_session_cookie,
)
from bestnext.console.templating import render
from bestnext.console.work import work_summary
from bestnext.db import read

router = APIRouter(include_in_schema=False)
log = structlog.get_logger("bestnext.console")


def safe_next(target: str | None) -> str:
    """Only a console path may follow the login (no open redirect).

    >>> safe_next("/console/person/1"), safe_next("https://evil.example/"), safe_next("//x")
    ('/console/person/1', '/console', '/console')
    """
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console"


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/console", status_code=303)


@router.get("/login")
def login_form(request: Request, container: ContainerDep, next: str | None = None) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "login.html", {"login_csrf": token, "next_url": safe_next(next),
                                              "failed": False, "username": ""})
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600,
                        secure=_secure(request, container))
    return response


def _secure(request: Request, container: ContainerDep) -> bool:
    return request.url.scheme == "https" or container.settings.environment == "production"


@router.post("/login")
def login(request: Request, container: ContainerDep, username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=256)], csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/console") -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    session = None
    if expected and hmac.compare_digest(expected, csrf_token):
        with container.engine.begin() as conn:
            user = users.authenticate(conn, username, password, container.clock.now())
            if user is not None:
                session = users.start_session(conn, user, container.clock.now())
    if session is None:
        log.info("console login refused")
        return render(request, "login.html", {"login_csrf": expected, "next_url": safe_next(next),
                                              "failed": True, "username": username}, status_code=401)
    log.info("console login", user_id=session.user.id, role=session.user.role.value)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, session, container.settings.secret_key, _secure(request, container))
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(session: CheckedSession, container: ContainerDep) -> Response:
    with container.engine.begin() as conn:
        users.end_session(conn, session.id, container.clock.now())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/console")
def home(request: Request, session: ConsoleSession, container: ContainerDep) -> Response:
    with read(container.engine) as conn:
        summary = work_summary(conn, session, container.settings.config_dir)
    return render(request, "home.html", {"summary": summary})
