"""One collection request, from raw body and headers to stored events (no web framework here).

Both entry points call :func:`take`: the FastAPI routes (:mod:`bestnext.ingest.routes`, which
also document the API) and the ASGI lane (:mod:`bestnext.ingest.lane`) that serves the same
paths ahead of FastAPI's routing on the hot path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from bestnext.errors import Forbidden, InvalidInput, PayloadTooLarge
from bestnext.ingest import cloudevents, wire
from bestnext.ingest.services import Receiver, raise_for_errors

SUCCESS = b'{"success":true}'
SINGLE = {"track": "t", "identify": "i", "page": "p", "screen": "s", "alias": "a", "group": "g"}
CE_SINGLE, CE_BATCH = "application/cloudevents+json", "application/cloudevents-batch+json"
Headers = Mapping[str, str]  # lower-case names
Take = Callable[[Receiver, bytes, Headers], Awaitable[None]]


def allowed_origin(origins: list[str], origin: str) -> bool:
    """Whether the browser origin may send events (``BESTNEXT_CORS_ORIGINS``)."""
    return "*" in origins or origin in origins


def check_origin(origins: list[str], headers: Headers) -> None:
    origin = headers.get("origin")
    if origin and not allowed_origin(origins, origin):
        raise Forbidden(f"Origin '{origin}' may not send events (BESTNEXT_CORS_ORIGINS).")


def check_length(headers: Headers, limit: int) -> None:
    """Refuse a body whose declared length is over ``limit`` before reading it."""
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit // 1024} KB.")


def limit_of(receiver: Receiver, path: str) -> int:
    """The body limit of a path: one message for the single-message paths, else a batch."""
    name = path.rsplit("/", 1)[-1]
    return receiver.limits.message_bytes if name in SINGLE or name in SINGLE.values() \
        else receiver.limits.batch_bytes


async def take_batch(receiver: Receiver, raw: bytes, headers: Headers) -> None:
    body = wire.decode_body(raw, headers.get("content-encoding"), receiver.limits.batch_bytes)
    messages, sent_at = wire.batch_of(body)
    key = wire.basic_user(headers.get("authorization")) or wire.body_write_key(body)
    raise_for_errors(await receiver.receive_async(key, messages, batch_sent_at=sent_at))


def take_single(kind: str) -> Take:
    async def take(receiver: Receiver, raw: bytes, headers: Headers) -> None:
        body = wire.decode_body(raw, headers.get("content-encoding"), receiver.limits.message_bytes)
        if not isinstance(body, dict):
            raise InvalidInput("The body must be a JSON object (one message).")
        key = wire.basic_user(headers.get("authorization")) or wire.body_write_key(body)
        raise_for_errors(await receiver.receive_async(key, [body], forced_type=kind))

    return take


async def take_cloudevents(receiver: Receiver, raw: bytes, headers: Headers) -> None:
    content_type = headers.get("content-type", "application/json").lower()
    body = wire.decode_body(raw, headers.get("content-encoding"), receiver.limits.batch_bytes)
    if content_type.startswith(CE_BATCH) and not isinstance(body, list):
        raise InvalidInput(f"A {CE_BATCH} body must be a JSON array.")
    if content_type.startswith(CE_SINGLE) and not isinstance(body, dict):
        raise InvalidInput(f"A {CE_SINGLE} body must be a JSON object.")
    events = body if isinstance(body, list) else [body]
    messages, indices, errors = cloudevents.to_messages(events)
    auth = headers.get("authorization")
    result = await receiver.receive_async(wire.basic_user(auth) or wire.bearer(auth), messages,
                                          indices=indices, prior_errors=errors)
    result.errors = cloudevents.in_cloudevents_terms(result.errors)
    raise_for_errors(result)


def _paths() -> dict[str, Take]:
    paths: dict[str, Take] = {f"/v1/{p}": take_batch for p in ("batch", "b", "import")}
    for kind, short in SINGLE.items():
        paths[f"/v1/{kind}"] = paths[f"/v1/{short}"] = take_single(kind)
    paths["/v1/events"] = take_cloudevents
    return paths


PATHS: dict[str, Take] = _paths()
"""Every collection path (POST) and what takes its body."""
