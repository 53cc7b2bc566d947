"""Plain values and pure rules of collection: Segment-spec message validation, clock-skew
correction and stable message ids. No I/O here."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from bestnext.eventlog.model import NewEvent

MESSAGE_TYPES = frozenset({"track", "identify", "page", "screen", "alias", "group"})
MAX_ID_LENGTH = 200
MAX_TOUCHPOINT_LENGTH = 32
_OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
# Fields that differ between two sends of the same message and must not change its id.
_VOLATILE = frozenset({"sentAt", "writeKey", "_metadata", "receivedAt"})


@dataclass(frozen=True, slots=True)
class Source:
    """A touchpoint allowed to send events (its write key is never kept here)."""

    id: str
    name: str
    touchpoint: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MessageError:
    """Why the message at ``index`` of a request (or file line) was rejected."""

    index: int
    field: str
    message: str
    too_large: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass(slots=True)
class Result:
    """What :func:`bestnext.ingest.services.accept` did with a list of messages."""

    accepted: int = 0
    duplicates: int = 0
    errors: list[MessageError] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)


class Invalid(Exception):
    """One field of one message is wrong (internal to validation)."""

    def __init__(self, field_name: str, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.field, self.message, self.too_large = field_name, message, too_large


def parse_time(value: object, field_name: str) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime (naive values are taken as UTC).

    >>> parse_time("2025-02-21T11:35:00+01:00", "timestamp").isoformat()
    '2025-02-21T10:35:00+00:00'
    >>> parse_time("2025-02-21T10:35:00Z", "timestamp").hour
    10
    """
    if not isinstance(value, str):
        raise Invalid(field_name, "must be an ISO 8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(field_name, "is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def corrected_timestamp(timestamp: datetime, sent_at: datetime | None, received_at: datetime) -> datetime:
    """Correct a client's clock skew: ``timestamp + (received_at - sent_at)``.

    >>> from datetime import timedelta
    >>> t = datetime(2025, 1, 1, 12, tzinfo=UTC)
    >>> corrected_timestamp(t, t + timedelta(seconds=5), t + timedelta(seconds=65)).isoformat()
    '2025-01-01T12:01:00+00:00'
    >>> corrected_timestamp(t, None, t + timedelta(hours=1)) == t
    True
    """
    if sent_at is None:
        return timestamp
    return timestamp + (received_at - sent_at)


def content_id(message: Mapping[str, Any]) -> str:
    """A stable id for a message sent without ``messageId``: a hash of its content.

    Fields that change between resends (``sentAt``, the write key) do not count.

    >>> a = content_id({"type": "track", "event": "X", "userId": "1", "sentAt": "a"})
    >>> a == content_id({"userId": "1", "event": "X", "type": "track", "sentAt": "b"})
    True
    >>> a.startswith("sha256:")
    True
    """
    stable = {k: v for k, v in message.items() if k not in _VOLATILE}
    digest = hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"sha256:{digest[:40]}"


def _identifier(message: Mapping[str, Any], name: str) -> str | None:
    value = message.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Invalid(name, "must be a string")
    text = str(value)
    if len(text) > MAX_ID_LENGTH:
        raise Invalid(name, f"must be at most {MAX_ID_LENGTH} characters")
    return text


def _short_text(message: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = message.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(name, "is required")
        return None
    if not isinstance(value, str):
        raise Invalid(name, "must be a string")
    if len(value) > MAX_ID_LENGTH:
        raise Invalid(name, f"must be at most {MAX_ID_LENGTH} characters")
    return value


def _type_rules(kind: str, message: Mapping[str, Any], user_id: str | None,
                anonymous_id: str | None) -> str | None:
    """Type-specific required fields; returns the event name to index (if any)."""
    if kind == "alias":
        if user_id is None:
            raise Invalid("userId", "is required for alias")
        if _identifier(message, "previousId") is None:
            raise Invalid("previousId", "is required for alias")
        return None
    if user_id is None and anonymous_id is None:
        raise Invalid("userId", "userId or anonymousId is required")
    if kind == "track":
        return _short_text(message, "event", required=True)
    if kind == "group" and _identifier(message, "groupId") is None:
        raise Invalid("groupId", "is required for group")
    if kind in ("page", "screen"):
        return _short_text(message, "name", required=False)
    return None


def _touchpoint(context: object, default: str) -> str:
    if not isinstance(context, dict):
        return default
    value = context.get("touchpoint")
    if value is None or value == "":
        return default
    if not isinstance(value, str) or len(value) > MAX_TOUCHPOINT_LENGTH:
        raise Invalid("context.touchpoint", f"must be a string of at most {MAX_TOUCHPOINT_LENGTH} characters")
    return value


@dataclass(frozen=True, slots=True)
class Limits:
    """Segment's size limits, in bytes."""

    message_bytes: int = 32 * 1024
    batch_bytes: int = 500 * 1024


def to_event(message: object, source: Source, received_at: datetime, *,
             batch_sent_at: datetime | None = None, forced_type: str | None = None,
             limits: Limits = Limits()) -> NewEvent:
    """Validate one Segment-spec message and turn it into an event to append.

    Raises :class:`Invalid` naming the wrong field.

    >>> src = Source("s1", "web", "web", datetime(2025, 1, 1, tzinfo=UTC))
    >>> now = datetime(2025, 2, 21, 10, 40, tzinfo=UTC)
    >>> e = to_event({"type": "track", "event": "Form Submitted", "anonymousId": "a1",
    ...               "messageId": "m1", "timestamp": "2025-02-21T11:35:00+01:00"}, src, now)
    >>> (e.message_id, e.event, e.touchpoint, e.occurred_at.isoformat())
    ('m1', 'Form Submitted', 'web', '2025-02-21T10:35:00+00:00')
    >>> try:
    ...     to_event({"type": "track", "anonymousId": "a1"}, src, now)
    ... except Invalid as exc:
    ...     print(exc.field, exc.message)
    event is required
    """
    if not isinstance(message, dict):
        raise Invalid("", "a message must be a JSON object")
    encoded = orjson.dumps(message)
    if len(encoded) > limits.message_bytes:
        raise Invalid("", f"the message is larger than {limits.message_bytes // 1024} KB", too_large=True)
    get = message.get
    kind = get("type", forced_type)
    if forced_type is not None and kind != forced_type:
        raise Invalid("type", f"must be '{forced_type}' on this endpoint")
    if kind not in MESSAGE_TYPES:
        raise Invalid("type", "must be one of " + ", ".join(sorted(MESSAGE_TYPES)))
    for name in _OBJECT_FIELDS:
        value = get(name)
        if value is not None and not isinstance(value, dict):
            raise Invalid(name, "must be an object")
    user_id, anonymous_id = _identifier(message, "userId"), _identifier(message, "anonymousId")
    event_name = _type_rules(kind, message, user_id, anonymous_id)
    message_id = _short_text(message, "messageId", required=False)
    sent_at = parse_time(message["sentAt"], "sentAt") if get("sentAt") else batch_sent_at
    stamp = get("timestamp") or get("originalTimestamp")
    occurred = received_at if stamp is None else corrected_timestamp(
        parse_time(stamp, "timestamp"), sent_at, received_at)
    touchpoint = _touchpoint(get("context"), source.touchpoint)
    payload: dict[str, Any] = message
    payload_json: str | None = encoded.decode()  # stored as serialised, when it is complete
    if message_id is None or "writeKey" in message or get("type") != kind:
        payload, payload_json = {k: v for k, v in message.items() if k != "writeKey"}, None
        if message_id is None:
            message_id = payload["messageId"] = content_id(message)
        payload["type"] = kind
    return NewEvent(
        source_id=source.id, message_id=message_id, type=kind, touchpoint=touchpoint,
        occurred_at=occurred, received_at=received_at, payload=payload, event=event_name,
        user_id=user_id, anonymous_id=anonymous_id, payload_json=payload_json,
    )


def validate(messages: Sequence[object], source: Source, received_at: datetime, *,
             batch_sent_at: datetime | None = None, forced_type: str | None = None,
             limits: Limits = Limits(), indices: Sequence[int] | None = None,
             ) -> tuple[list[NewEvent], list[MessageError], int]:
    """Validate every message; returns ``(events, errors, repeated)``.

    ``repeated`` counts messages whose id already appeared earlier in the same list (they are
    duplicates: stored once). Errors name ``indices[i]`` (default: the position ``i``).
    """
    events: list[NewEvent] = []
    errors: list[MessageError] = []
    seen: set[str] = set()
    repeated = 0
    for index, message in enumerate(messages):
        try:
            event = to_event(message, source, received_at, batch_sent_at=batch_sent_at,
                             forced_type=forced_type, limits=limits)
        except Invalid as exc:
            where = index if indices is None else indices[index]
            errors.append(MessageError(where, exc.field, exc.message, exc.too_large))
            continue
        if event.message_id in seen:
            repeated += 1
            continue
        seen.add(event.message_id)
        events.append(event)
    return events, errors, repeated
