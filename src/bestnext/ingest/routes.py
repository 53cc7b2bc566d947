"""The Segment HTTP tracking API and the CloudEvents endpoint (thin: parse, call, render).

Server SDKs (Segment, RudderStack) post JSON to ``/v1/batch`` and the single-message paths
with HTTP Basic (write key as user name), often gzip-compressed. The browser SDK
(analytics.js / analytics-next) posts ``text/plain`` JSON with ``writeKey`` in the body to
``/v1/t``, ``/v1/i``, ``/v1/p``, ``/v1/s``, ``/v1/a``, ``/v1/g`` and ``/v1/b`` (batching), from
another origin (CORS: ``BESTNEXT_CORS_ORIGINS``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from bestnext.api.problems import instance_of, problem_response
from bestnext.errors import BestnextError, Forbidden, NotFound, Unauthorized
from bestnext.ingest import http, wire
from bestnext.ingest.services import Receiver

SINGLE, CE_SINGLE, CE_BATCH = http.SINGLE, http.CE_SINGLE, http.CE_BATCH


def _cors(request: Request, response: Response) -> None:
    origin = request.headers.get("origin")
    if origin and _allowed(request, origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"


def _allowed(request: Request, origin: str) -> bool:
    return http.allowed_origin(request.app.state.container.settings.cors_origins, origin)


class CorsRoute(APIRoute):
    """Adds CORS headers to every answer of the collection API, problems included."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            try:
                origin = request.headers.get("origin")
                if origin and request.method == "POST" and not _allowed(request, origin):
                    raise Forbidden(f"Origin '{origin}' may not send events (BESTNEXT_CORS_ORIGINS).")
                response = await handler(request)
            except BestnextError as exc:
                response = problem_response(exc, instance_of(request))
            _cors(request, response)
            return response

        return with_cors


router = APIRouter(prefix="/v1", tags=["ingest"], route_class=CorsRoute)


def _receiver(request: Request) -> Receiver:
    receiver: Receiver = request.app.state.container.service("ingest")
    return receiver


async def _take(request: Request, take: http.Take) -> Response:
    """What the ingest lane does, for a request that reached the router (same answers)."""
    receiver = _receiver(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    http.check_length(headers, http.limit_of(receiver, request.url.path))
    await take(receiver, await request.body(), headers)
    return Response(http.SUCCESS, media_type="application/json")


_BODY_DOC = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "additionalProperties": True}},
    "text/plain": {"schema": {"type": "string", "description": "JSON, as analytics.js sends it"}},
}}}


@router.post("/batch", summary="Segment batch", openapi_extra=_BODY_DOC)
@router.post("/b", include_in_schema=False)
@router.post("/import", include_in_schema=False)
async def batch(request: Request) -> Response:
    """A Segment ``/v1/batch`` body: ``{"batch": [...], "sentAt": ...}`` (≤ 500 KB, each
    message ≤ 32 KB). Invalid messages are reported by index; the valid rest is stored."""
    return await _take(request, http.take_batch)


def _single(kind: str) -> Callable[[Request], Coroutine[Any, Any, Response]]:
    async def endpoint(request: Request) -> Response:
        return await _take(request, http.take_single(kind))

    endpoint.__doc__ = f"One Segment ``{kind}`` message (≤ 32 KB)."
    return endpoint


for _kind, _short in SINGLE.items():
    router.add_api_route(f"/{_kind}", _single(_kind), methods=["POST"], summary=f"Segment {_kind}",
                         openapi_extra=_BODY_DOC)
    router.add_api_route(f"/{_short}", _single(_kind), methods=["POST"], include_in_schema=False)


@router.post("/events", summary="CloudEvents 1.0", openapi_extra={"requestBody": {"required": True, "content": {
    CE_SINGLE: {"schema": {"type": "object"}}, CE_BATCH: {"schema": {"type": "array"}}}}})
async def events(request: Request) -> Response:
    """CloudEvents 1.0 in structured JSON mode, one (``application/cloudevents+json``) or a
    batch (``application/cloudevents-batch+json``). Auth: HTTP Basic with the write key as
    user name, or ``Authorization: Bearer <write key>``.

    Each event becomes a ``track`` message: ``id`` → messageId (idempotency key), ``type`` →
    event name, ``time`` → timestamp, ``data`` → properties. Extension attributes:
    ``userid`` (the customer number), ``anonymousid`` (a device or channel id) and
    ``touchpoint`` (default: the source's). ``source``, ``subject`` and any other
    attribute are kept under ``context.cloudevents``.
    """
    return await _take(request, http.take_cloudevents)


@router.get("/projects/{write_key}/settings", summary="Settings for analytics-next")
def browser_settings(write_key: str, request: Request) -> Response:
    """What the browser SDK loads when its ``cdnURL`` is this server: it then sends events here.

    Unknown or revoked write keys get 404, as on Segment's CDN.
    """
    try:
        _receiver(request).authenticate(write_key)
    except Unauthorized:
        raise NotFound("No such write key.") from None
    protocol = request.headers.get("x-forwarded-proto", request.url.scheme)
    host = request.headers.get("x-forwarded-host", request.headers.get("host", request.url.netloc))
    body = wire.browser_settings(write_key, f"{host}/v1", protocol)
    return Response(orjson.dumps(body), media_type="application/json")


def _preflight(request: Request) -> Response:
    origin = request.headers.get("origin")
    if not origin or not _allowed(request, origin):
        raise Forbidden("This origin may not send events (BESTNEXT_CORS_ORIGINS).")
    asked = request.headers.get("access-control-request-headers")
    return Response(status_code=204, headers={
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": asked or "authorization, content-type, content-encoding",
        "Access-Control-Max-Age": "86400",
    })


for _path in ["/batch", "/b", "/import", "/events", *SINGLE, *SINGLE.values()]:
    router.add_api_route(_path if _path.startswith("/") else f"/{_path}", _preflight,
                         methods=["OPTIONS"], include_in_schema=False)
