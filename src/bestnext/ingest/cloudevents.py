"""CloudEvents 1.0 (structured JSON mode) mapped onto Segment ``track`` messages.

Mapping: ``id`` -> ``messageId``, ``type`` -> ``event``, ``time`` -> ``timestamp``,
``data`` -> ``properties``; the extension attributes ``userid``, ``anonymousid`` and
``touchpoint`` -> ``userId``, ``anonymousId`` and ``context.touchpoint``. The other attributes
(``source``, ``subject``, other extensions) are kept under ``context.cloudevents``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bestnext.ingest.model import Invalid, MessageError

_REQUIRED = ("id", "source", "type")
_MAPPED = {"id", "type", "time", "data", "userid", "anonymousid", "touchpoint", "specversion",
           "datacontenttype"}
# Segment field name -> CloudEvents attribute name, to report errors in the caller's terms.
_ATTRIBUTE_OF = {"messageId": "id", "event": "type", "timestamp": "time", "properties": "data",
                 "userId": "userid", "anonymousId": "anonymousid", "context.touchpoint": "touchpoint"}


def to_message(event: object) -> dict[str, Any]:
    """One structured-mode CloudEvent as a Segment ``track`` message.

    >>> m = to_message({"specversion": "1.0", "id": "e1", "source": "/core", "type": "Account Opened",
    ...                 "time": "2025-03-01T09:00:00Z", "userid": "C123", "data": {"product": "x"}})
    >>> (m["messageId"], m["event"], m["userId"], m["properties"], m["context"]["cloudevents"])
    ('e1', 'Account Opened', 'C123', {'product': 'x'}, {'source': '/core'})
    """
    if not isinstance(event, dict):
        raise Invalid("", "a CloudEvent must be a JSON object")
    if event.get("specversion") != "1.0":
        raise Invalid("specversion", "must be '1.0'")
    for name in _REQUIRED:
        if not isinstance(event.get(name), str) or not event[name]:
            raise Invalid(name, "is required (a non-empty string)")
    if "data_base64" in event:
        raise Invalid("data_base64", "binary data is not supported; send JSON data")
    message: dict[str, Any] = {"type": "track", "messageId": event["id"], "event": event["type"]}
    if event.get("time") is not None:
        message["timestamp"] = event["time"]
    data = event.get("data")
    if data is not None:
        message["properties"] = data if isinstance(data, dict) else {"data": data}
    for attribute, field_name in (("userid", "userId"), ("anonymousid", "anonymousId")):
        if event.get(attribute) is not None:
            message[field_name] = event[attribute]
    context: dict[str, Any] = {"cloudevents": {k: v for k, v in event.items() if k not in _MAPPED}}
    if event.get("touchpoint") is not None:
        context["touchpoint"] = event["touchpoint"]
    message["context"] = context
    return message


def to_messages(events: Sequence[object]) -> tuple[list[dict[str, Any]], list[int], list[MessageError]]:
    """Map a batch; returns the messages, their indices in the batch, and the errors."""
    messages: list[dict[str, Any]] = []
    indices: list[int] = []
    errors: list[MessageError] = []
    for index, event in enumerate(events):
        try:
            messages.append(to_message(event))
            indices.append(index)
        except Invalid as exc:
            errors.append(MessageError(index, exc.field, exc.message))
    return messages, indices, errors


def in_cloudevents_terms(errors: Sequence[MessageError]) -> list[MessageError]:
    """Rename Segment field names in errors to the CloudEvents attributes they came from.

    >>> in_cloudevents_terms([MessageError(0, "userId", "userId or anonymousId is required")])[0].field
    'userid'
    """
    return [MessageError(e.index, _ATTRIBUTE_OF.get(e.field, e.field), e.message, e.too_large)
            for e in errors]
