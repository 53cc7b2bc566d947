"""What arrives on the wire: gzip bodies, size limits, JSON, and the write key's location."""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from bestnext.errors import InvalidInput, PayloadTooLarge
from bestnext.ingest.model import Invalid, parse_time


def decode_body(raw: bytes, content_encoding: str | None, limit: int) -> Any:
    """Decompress (gzip) and parse a JSON body no larger than ``limit`` bytes once inflated.

    >>> decode_body(b'{"a": 1}', None, 100)
    {'a': 1}
    >>> import gzip
    >>> decode_body(gzip.compress(b'[1, 2]'), "gzip", 100)
    [1, 2]
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        raw = _gunzip(raw, limit)
    elif encoding not in ("identity", ""):
        raise InvalidInput(f"Content-Encoding '{encoding}' is not supported (use gzip).")
    if len(raw) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit // 1024} KB.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput("The request body is not valid JSON.") from None


def _gunzip(raw: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error:
        raise InvalidInput("The request body is not valid gzip.") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"The request body is larger than {limit // 1024} KB.")
    return out


def basic_user(authorization: str | None) -> str | None:
    """The user name of an HTTP Basic ``Authorization`` header (Segment's write key).

    >>> basic_user("Basic " + base64.b64encode(b"wk_123:").decode())
    'wk_123'
    >>> basic_user("Bearer x") is None
    True
    """
    if not authorization or not authorization[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidInput("The Authorization header is not valid Basic credentials.") from None
    return decoded.split(":", 1)[0] or None


def bearer(authorization: str | None) -> str | None:
    """The token of a ``Bearer`` ``Authorization`` header."""
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None


def body_write_key(body: object) -> str | None:
    """The ``writeKey`` the browser SDK puts in the body (top level, or in its first message)."""
    if not isinstance(body, dict):
        return None
    key = body.get("writeKey")
    if key is None and isinstance(body.get("batch"), list) and body["batch"]:
        first = body["batch"][0]
        key = first.get("writeKey") if isinstance(first, dict) else None
    return key if isinstance(key, str) and key else None


def batch_of(body: object) -> tuple[list[Any], datetime | None]:
    """The messages and the request-level ``sentAt`` of a ``/v1/batch`` body.

    Request-level ``context`` and ``integrations`` apply to messages that have none.
    """
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise InvalidInput("The body must be an object with a 'batch' array.",
                           errors=[{"index": None, "field": "batch", "message": "must be an array"}])
    messages: list[Any] = body["batch"]
    shared = {k: body[k] for k in ("context", "integrations") if isinstance(body.get(k), dict)}
    if shared:
        messages = [{**shared, **m} if isinstance(m, dict) else m for m in messages]
    return messages, sent_at_of(body)


def sent_at_of(body: Mapping[str, Any] | object) -> datetime | None:
    if not isinstance(body, dict) or not body.get("sentAt"):
        return None
    try:
        return parse_time(body["sentAt"], "sentAt")
    except Invalid as exc:
        raise InvalidInput("The request's sentAt is not valid.",
                           errors=[{"index": None, "field": "sentAt", "message": exc.message}]) from None


def browser_settings(write_key: str, api_host: str, protocol: str) -> dict[str, Any]:
    """What analytics-next fetches from ``{cdnURL}/v1/projects/{writeKey}/settings``: it sends
    events to ``{protocol}://{api_host}/t`` and friends. Remote metrics are switched off.

    >>> s = browser_settings("k", "cdp.bank.example/v1", "https")
    >>> s["integrations"]["Segment.io"]["apiHost"]
    'cdp.bank.example/v1'
    """
    return {
        "integrations": {"Segment.io": {
            "apiKey": write_key, "apiHost": api_host, "protocol": protocol,
            "unbundledIntegrations": [], "addBundledMetadata": False, "maybeBundledConfigIds": {},
        }},
        "plan": {"track": {"__default": {"enabled": True}}, "identify": {"__default": {"enabled": True}},
                 "group": {"__default": {"enabled": True}}},
        "edgeFunction": {}, "analyticsNextEnabled": True, "middlewareSettings": {},
        "enabledMiddleware": {}, "metrics": {"sampleRate": 0}, "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }
