"""The single mapping of errors to RFC 9457 ``application/problem+json`` responses."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from bestnext.errors import BestnextError, InvalidInput

PROBLEM = "application/problem+json"
_CONVERTOR = re.compile(r"\{(\w+):\w+\}")  # {value:path} -> {value}


def instance_of(request: Request) -> str | None:
    """The ``instance`` of a problem: the matched route's template, never the request path,
    whose identifier values (emails, phones, write keys) must not reach bodies or logs.

    ``None`` (no ``instance``) when no route matched.
    """
    template = getattr(request.scope.get("route"), "path", None)
    if not isinstance(template, str):
        return None
    return _CONVERTOR.sub(r"{\1}", template)


def problem_response(err: BestnextError, instance: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://bestnext.dev/problems/{err.type_slug}",
        "title": err.title,
        "status": err.status,
        "detail": err.detail,
    }
    if instance:
        body["instance"] = instance
    if err.errors:
        body["errors"] = err.errors
    headers = {"WWW-Authenticate": 'Basic realm="bestnext", Bearer'} if err.status == 401 else None
    return JSONResponse(body, status_code=err.status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(BestnextError)
    async def _bestnext(request: Request, exc: BestnextError) -> JSONResponse:
        return problem_response(exc, instance_of(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg")}
            for e in exc.errors()
        ]
        return problem_response(InvalidInput("The request is not valid.", errors=errors), instance_of(request))
