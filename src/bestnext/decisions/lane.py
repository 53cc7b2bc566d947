"""``POST /v1/decisions`` on the hot path: an ASGI middleware that answers API-key requests
before FastAPI's routing, dependency solving and thread pool.

Those cost more per request than a decision itself. The lane does what the route does
(:func:`bestnext.decisions.routes.create_decision`), with the same answers: the same request
model and validation errors (``application/problem+json``), the same permission
(``decisions:request``), the same decision (:func:`bestnext.decisions.services.prepare`), logged
durably before the ``201`` (:class:`~bestnext.writer.GroupCommitter`).
API keys are looked up once per ``KEY_CACHE_SECONDS`` (a revoked key stops working within that
time, as write keys do). Requests without an API key (console sessions) go on to the
application, as does every other request.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from bestnext.access import Principal, hash_secret
from bestnext.access import store as keys
from bestnext.access.permissions import Permission
from bestnext.api.asgi import read_body
from bestnext.api.deps import require
from bestnext.api.problems import problem_response
from bestnext.db import read
from bestnext.decisions import services, store
from bestnext.decisions.model import DecisionContext
from bestnext.decisions.routes import DecisionCreate
from bestnext.errors import BestnextError, Forbidden, InvalidInput, Unauthorized
from bestnext.writer import GroupCommitter, durable_commit

if TYPE_CHECKING:
    from bestnext.bootstrap import Container

PATH = "/v1/decisions"
KEY_CACHE_SECONDS = 5.0
BODY_LIMIT = 64 * 1024
_ALLOWED = require(Permission.DECISIONS_REQUEST).allowed_roles  # type: ignore[attr-defined]
_HEADERS = [(b"content-type", b"application/json")]


class DecisionLane:
    """ASGI middleware: serves ``POST /v1/decisions`` for callers with an API key."""

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app, self.container = app, container
        self._keys: dict[str, tuple[Principal | None, float]] = {}
        self._writer = GroupCommitter(container.engine, None if container.settings.is_sqlite else durable_commit,
                                      name="decision-log")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        secret = _secret(scope) if scope["type"] == "http" and scope["path"] == PATH \
            and scope["method"] == "POST" else None
        if secret is None:
            await self.app(scope, receive, send)
            return
        try:
            self._authorize(secret)
            raw = await read_body(receive, BODY_LIMIT)
            if raw is None:
                return  # the client went away before asking
            answer = await self._decide(raw)
        except BestnextError as exc:
            await problem_response(exc, PATH)(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 201,
                    "headers": [*_HEADERS, (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    def _authorize(self, secret: str) -> None:
        """The key's principal may request decisions (the key read at most every few seconds)."""
        digest, now = hash_secret(secret), self.container.clock.monotonic()
        cached = self._keys.get(digest)
        if cached is None or cached[1] <= now:
            with read(self.container.engine) as conn:
                principal = keys.find_key(conn, secret)
            if len(self._keys) >= 4096:
                self._keys.clear()
            cached = self._keys[digest] = (principal, now + KEY_CACHE_SECONDS)
        if cached[0] is None:
            raise Unauthorized("The API key is not valid.")
        if cached[0].role not in _ALLOWED:
            raise Forbidden(f"Role '{cached[0].role.value}' may not do this.")

    async def _decide(self, raw: bytes) -> bytes:
        body = _parse(raw)
        container = self.container
        now = container.clock.now()
        context = DecisionContext(at=now, reason=body.reason, inbound_channel=body.inbound_channel,
                                  language=body.language, based_on=tuple(body.based_on), variables=body.variables)
        with read(container.engine) as conn:
            decided = services.prepare(conn, body.person_id, context, body.channel, body.n,
                                       config_dir=container.settings.config_dir)
        await asyncio.wrap_future(self._writer.submit(partial(store.insert_decisions, rows=[decided.row])))
        services.logged(decided)
        return orjson.dumps(services.decision_public(decided.id, body.person_id, now, decided.decision))


def _secret(scope: Scope) -> str | None:
    """The API key of the request (``Authorization: Bearer`` or ``X-API-Key``), if any."""
    found = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            text = value.decode("latin-1")
            if text[:7].lower() == "bearer ":
                return text[7:].strip() or None
        elif name == b"x-api-key":
            found = value.decode("latin-1") or None
    return found


def _parse(raw: bytes) -> DecisionCreate:
    """The request model, with the route's validation errors."""
    try:
        return DecisionCreate.model_validate_json(raw)
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [{"field": ".".join(str(p) for p in e.get("loc", ())),
                                         "message": e.get("msg")} for e in exc.errors()]
        raise InvalidInput("The request is not valid.", errors=errors) from None


__all__ = ["DecisionLane"]
