"""Rendering of console pages: Jinja2 templates with the session, language and navigation."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from bestnext.access.permissions import Permission, allows
from bestnext.access.users import Session
from bestnext.clock import to_rome
from bestnext.console.i18n import LANG_COOKIE, choose_lang, translator

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

# (label key, path, permissions needed)
P = Permission
NAV: tuple[tuple[str, str, tuple[Permission, ...]], ...] = (
    ("search", "/console/search", (P.PROFILES_IDENTIFIED,)),
    ("queue", "/console/queue", (P.CONTACTS_WORK, P.PROFILES_IDENTIFIED)),
    ("branch", "/console/branch", (P.CONTACTS_WORK, P.PROFILES_IDENTIFIED)),
    ("journeys", "/console/journeys", (P.JOURNEYS_MANAGE,)),
    ("catalog", "/console/catalog", (P.CATALOG_MANAGE,)),
    ("dashboards", "/console/dashboards", (P.ANALYTICS_READ,)),
    ("privacy", "/console/privacy", (P.AUDIT_READ,)),
    ("users", "/console/users", (P.USERS_MANAGE,)),
)


def local_time(value: datetime | str | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored UTC time (or ISO 8601 text) shown in the bank's time zone (Europe/Rome).

    >>> from datetime import UTC
    >>> local_time(datetime(2025, 2, 26, 20, 23, tzinfo=UTC)), local_time("2018-04-18T21:05:00+00:00")
    ('26/02/2025 21:23', '18/04/2018 23:05')
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return to_rome(parsed).strftime(fmt)
    return to_rome(value).strftime(fmt) if value else ""


def rule_text(rule: object) -> str:
    """A catalog or journey rule as one readable line.

    >>> from types import SimpleNamespace as N
    >>> rule_text(N(any=[N(field="age", op="<=", value=35), N(field="household", op="==", value=True)]))
    '(age <= 35 or household == True)'
    """
    options = getattr(rule, "any", None)
    if isinstance(options, list):
        return "(" + " or ".join(rule_text(r) for r in options) + ")"
    field = getattr(rule, "field", None)
    if field is None:
        return str(rule)
    value = getattr(rule, "value", None)
    return f"{field} {getattr(rule, 'op', '')}{'' if value is None else f' {value}'}"


templates.env.filters["local"] = local_time
templates.env.filters["rule"] = rule_text


def nav_for(session: Session | None) -> list[tuple[str, str]]:
    """The screens a session may open, as (label key, path)."""
    if session is None:
        return []
    return [(key, path) for key, path, needs in NAV if allows(session.user.role, *needs)]


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> Response:
    """Render template ``name`` with the common context (session, ``t``, language, CSRF)."""
    lang = choose_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))
    session = getattr(request.state, "console_session", None)
    session = session if isinstance(session, Session) else None
    full = {
        "session": session, "lang": lang, "t": translator(lang), "nav": nav_for(session),
        "csrf": session.csrf_token if session else "", "path": request.url.path, **(context or {}),
    }
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response
