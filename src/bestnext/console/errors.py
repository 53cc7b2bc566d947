"""How errors of the tree reach a person in the browser.

API clients (and htmx fragments) keep getting ``application/problem+json`` from the one
mapping in :mod:`bestnext.api.problems`; a console page opened in the browser gets the same
status as an HTML page, and a missing session becomes a redirect to the login page.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from bestnext.api import problems
from bestnext.console.templating import render
from bestnext.errors import BestnextError, LoginRequired

CONSOLE_PREFIXES = ("/console", "/login", "/logout")


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return (path == "/" or path.startswith(CONSOLE_PREFIXES)) and "text/html" in request.headers.get("accept", "")


def install(app: FastAPI) -> None:
    @app.exception_handler(BestnextError)
    async def _console_or_problem(request: Request, exc: BestnextError) -> Response:
        is_htmx = request.headers.get("hx-request") == "true"
        if isinstance(exc, LoginRequired) and request.url.path.startswith(CONSOLE_PREFIXES):
            target = f"/login?next={quote(request.url.path)}"
            if is_htmx:
                return Response(status_code=401, headers={"HX-Redirect": target})
            return RedirectResponse(target, status_code=303)
        if _wants_page(request) and not is_htmx:
            return render(request, "error.html", {"status": exc.status, "title": exc.title,
                                                  "detail": exc.detail, "errors": exc.errors},
                          status_code=exc.status)
        return problems.problem_response(exc, problems.instance_of(request))
