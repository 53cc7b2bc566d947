"""Console sessions in the browser: a signed cookie, CSRF tokens and role checks.

The cookie holds an opaque session id and its HMAC (keyed by ``Settings.secret_key``); the
session itself is a row (``access.users``), so logout and disabling a user end it at once.
A request with a live session gets ``request.state.console_session``; it also gets
``request.state.principal`` (what the API dependencies accept) when it is a safe method or
carries the session's CSRF token in ``X-CSRF-Token``, so a forged cross-site POST is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bestnext.access import users
from bestnext.access.permissions import Permission, allows
from bestnext.access.users import Session
from bestnext.bootstrap import Container
from bestnext.db import read
from bestnext.errors import Forbidden, LoginRequired

COOKIE = "bn_session"
LOGIN_CSRF_COOKIE = "bn_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PAGE_PREFIXES = ("/console", "/login", "/logout")
# Console pages: only our own scripts (vendored htmx and Chart.js), never framed, no sniffing.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def sign(value: str, secret: str) -> str:
    """``value`` with its HMAC-SHA256, for a cookie.

    >>> unsign(sign("abc", "k"), "k")
    'abc'
    >>> unsign(sign("abc", "k"), "other") is None
    True
    """
    mac = hmac.new(_key(secret), value.encode(), hashlib.sha256).hexdigest()
    return f"{value}.{mac}"


def unsign(signed: str, secret: str) -> str | None:
    """The value of a signed cookie, or None when the signature does not match."""
    value, _, mac = signed.rpartition(".")
    if not value:
        return None
    expected = hmac.new(_key(secret), value.encode(), hashlib.sha256).hexdigest()
    return value if hmac.compare_digest(mac, expected) else None


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"bestnext-console-session:" + secret.encode()).digest()


def _load(container: Container, session_id: str) -> Session | None:
    with read(container.engine) as conn:
        return users.find_session(conn, session_id, container.clock.now())


class SessionMiddleware:
    """Pure ASGI middleware: attaches the console session (and principal) of a request that
    carries the session cookie, and the page security headers to console pages.

    A request without the cookie (every SDK and server-to-server call, e.g. ``/v1/batch``)
    passes straight through: no ``BaseHTTPMiddleware`` task and body streaming, no database.
    """

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app, self.container = app, container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if any(name == b"cookie" for name, _ in scope["headers"]):
            await self._attach(scope)
        path: str = scope["path"]
        if not (path == "/" or path.startswith(PAGE_PREFIXES)):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(PAGE_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _attach(self, scope: Scope) -> None:
        request = Request(scope)
        raw = request.cookies.get(COOKIE)
        session_id = unsign(raw, self.container.settings.secret_key) if raw else None
        session = await run_in_threadpool(_load, self.container, session_id) if session_id else None
        if session is None:
            return
        request.state.console_session = session
        token = request.headers.get(CSRF_HEADER, "")
        if request.method in SAFE_METHODS or hmac.compare_digest(token, session.csrf_token):
            request.state.principal = session.user.principal


def install_middleware(app: FastAPI, container: Container) -> None:
    """Attach the console session (and principal) of each request, if any."""
    app.add_middleware(SessionMiddleware, container=container)


def set_session_cookie(response: Response, session: Session, secret: str, secure: bool) -> None:
    response.set_cookie(COOKIE, sign(session.id, secret), httponly=True, samesite="lax", secure=secure,
                        max_age=int(users.SESSION_TTL.total_seconds()), path="/")


def current_session(request: Request) -> Session:
    """The console session of the request; raises :class:`LoginRequired` without one."""
    session = getattr(request.state, "console_session", None)
    if not isinstance(session, Session):
        raise LoginRequired()
    return session


ConsoleSession = Annotated[Session, Depends(current_session)]


async def csrf_checked(request: Request, session: ConsoleSession) -> Session:
    """A session whose POST carries its CSRF token (form field or ``X-CSRF-Token``)."""
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        form = await request.form()
        field = form.get(CSRF_FIELD)
        token = field if isinstance(field, str) else ""
    if not hmac.compare_digest(token, session.csrf_token):
        raise Forbidden("The form's CSRF token is missing or wrong; reload the page and try again.")
    return session


CheckedSession = Annotated[Session, Depends(csrf_checked)]


def allowed(session: Session, *permissions: Permission) -> bool:
    """Whether the session's role holds every one of ``permissions`` (``access.permissions``)."""
    return allows(session.user.role, *permissions)


def permitted(*permissions: Permission) -> Callable[[Session], Session]:
    """A dependency for a console page that needs ``permissions``."""

    def _check(session: ConsoleSession) -> Session:
        if not allowed(session, *permissions):
            raise Forbidden(f"Role '{session.user.role.value}' may not open this page.")
        return session

    return _check


def permitted_post(*permissions: Permission) -> Callable[[Session], Session]:
    """Like :func:`permitted`, for a POST (its CSRF token is checked first)."""

    def _check(session: CheckedSession) -> Session:
        if not allowed(session, *permissions):
            raise Forbidden(f"Role '{session.user.role.value}' may not do this.")
        return session

    return _check
