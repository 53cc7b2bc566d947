"""The collection API's hot path: an ASGI middleware that serves ``POST /v1/batch`` and the
other collection paths before FastAPI's routing, dependency solving and thread pool.

Those cost more per request than validating and storing 100 events; the lane does the same
work as the routes (:func:`bestnext.ingest.http.take`), with the same answers: CORS headers,
``application/problem+json`` naming each bad message, 2xx only after the commit. Every other
request goes on to the application unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from bestnext.api.asgi import read_body
from bestnext.api.problems import problem_response
from bestnext.errors import BestnextError
from bestnext.ingest import http

if TYPE_CHECKING:
    from bestnext.bootstrap import Container


class IngestLane:
    """ASGI middleware: serves the collection paths of :data:`bestnext.ingest.http.PATHS`."""

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app, self.container = app, container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        take = http.PATHS.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" \
            else None
        if take is None:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        origins: list[str] = self.container.settings.cors_origins
        try:
            http.check_origin(origins, headers)
            receiver = self.container.service("ingest")
            limit = http.limit_of(receiver, scope["path"])
            http.check_length(headers, limit)
            body = await read_body(receive, limit)
            if body is None:
                return  # the client went away: nothing was stored, nobody to answer
            await take(receiver, body, headers)
        except BestnextError as exc:
            problem = problem_response(exc, scope["path"])
            problem.headers.update(_cors(headers, origins))
            await problem(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", SUCCESS_LENGTH),
            *((k.lower().encode(), v.encode("latin-1")) for k, v in _cors(headers, origins).items())]})
        await send({"type": "http.response.body", "body": http.SUCCESS})


SUCCESS_LENGTH = str(len(http.SUCCESS)).encode()


def _cors(request: http.Headers, origins: list[str]) -> dict[str, str]:
    """The CORS headers of an answer to an allowed browser origin (none otherwise)."""
    origin = request.get("origin")
    if origin and http.allowed_origin(origins, origin):
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}
