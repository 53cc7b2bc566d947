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
from starlette.concurrency import run_in_threadpool

from bestnext.api.problems import instance_of, problem_response
from bestnext.errors import BestnextError, Forbidden, InvalidInput, NotFound, PayloadTooLarge, Unauthorized
from bestnext.ingest import cloudevents, wire
from bestnext.ingest.services import Receiver, raise_for_errors

SUCCESS = b'{"success":true}'
SINGLE = {"track": "t", "identify": "i", "page": "p", "screen": "s", "alias": "a", "group": "g"}
CE_SINGLE, CE_BATCH = "application/cloudevents+json", "application/cloudevents-batch+json"


def _cors(request: Request, response: Response) -> None:
    origin = request.headers.get("origin")
    if origin and _allowed(request, origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"


def _allowed(request: Request, origin: str) -> bool:
    allowed: list[str] = request.app.state.container.settings.cors_origins
    return "*" in allowed or origin in allowed


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


async def _raw(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit // 1024} KB.")
    return await request.body()


def _take_batch(receiver: Receiver, raw: bytes, encoding: str | None, auth: str | None) -> None:
    body = wire.decode_body(raw, encoding, receiver.limits.batch_bytes)
    messages, sent_at = wire.batch_of(body)
    key = wire.basic_user(auth) or wire.body_write_key(body)
    raise_for_errors(receiver.receive(key, messages, batch_sent_at=sent_at))


def _take_one(receiver: Receiver, raw: bytes, encoding: str | None, auth: str | None,
              kind: str) -> None:
    body = wire.decode_body(raw, encoding, receiver.limits.message_bytes)
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object (one message).")
    key = wire.basic_user(auth) or wire.body_write_key(body)
    raise_for_errors(receiver.receive(key, [body], forced_type=kind))


def _take_cloudevents(receiver: Receiver, raw: bytes, encoding: str | None, auth: str | None,
                      content_type: str) -> None:
    body = wire.decode_body(raw, encoding, receiver.limits.batch_bytes)
    if content_type.startswith(CE_BATCH) and not isinstance(body, list):
        raise InvalidInput(f"A {CE_BATCH} body must be a JSON array.")
    if content_type.startswith(CE_SINGLE) and not isinstance(body, dict):
        raise InvalidInput(f"A {CE_SINGLE} body must be a JSON object.")
    events = body if isinstance(body, list) else [body]
    messages, indices, errors = cloudevents.to_messages(events)
    key = wire.basic_user(auth) or wire.bearer(auth)
    result = receiver.receive(key, messages, indices=indices, prior_errors=errors)
    result.errors = cloudevents.in_cloudevents_terms(result.errors)
    raise_for_errors(result)


def _ok() -> Response:
    return Response(SUCCESS, media_type="application/json")


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
    receiver = _receiver(request)
    raw = await _raw(request, receiver.limits.batch_bytes)
    await run_in_threadpool(_take_batch, receiver, raw, request.headers.get("content-encoding"),
                            request.headers.get("authorization"))
    return _ok()


def _single(kind: str) -> Callable[[Request], Coroutine[Any, Any, Response]]:
    async def endpoint(request: Request) -> Response:
        receiver = _receiver(request)
        raw = await _raw(request, receiver.limits.message_bytes)
        await run_in_threadpool(_take_one, receiver, raw, request.headers.get("content-encoding"),
                                request.headers.get("authorization"), kind)
        return _ok()

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
    receiver = _receiver(request)
    raw = await _raw(request, receiver.limits.batch_bytes)
    await run_in_threadpool(_take_cloudevents, receiver, raw, request.headers.get("content-encoding"),
                            request.headers.get("authorization"),
                            request.headers.get("content-type", "application/json").lower())
    return _ok()


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
