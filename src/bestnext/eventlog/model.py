"""Plain values of the event log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson


@dataclass(slots=True)
class NewEvent:
    """A validated message, ready to append.

    Not frozen: a frozen dataclass costs ~1 µs more to build, per event, on the ingest hot path.
    """

    source_id: str
    message_id: str
    type: str
    touchpoint: str
    occurred_at: datetime
    received_at: datetime
    payload: dict[str, Any]
    event: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    payload_json: str | None = None
    """``payload`` already serialised (ingest has it from the size check), or ``None``."""

    def payload_text(self) -> str:
        return self.payload_json if self.payload_json is not None else orjson.dumps(self.payload).decode()


@dataclass(slots=True)
class LoggedEvent:
    """An event as read back from the log."""

    seq: int
    source_id: str
    message_id: str
    type: str
    event: str | None
    touchpoint: str
    occurred_at: datetime
    received_at: datetime
    user_id: str | None
    anonymous_id: str | None
    person_id: str | None
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def properties(self) -> dict[str, Any]:
        value = self.payload.get("properties")
        return value if isinstance(value, dict) else {}

    @property
    def context(self) -> dict[str, Any]:
        value = self.payload.get("context")
        return value if isinstance(value, dict) else {}

    @property
    def traits(self) -> dict[str, Any]:
        """Traits of the message: ``traits`` merged over ``context.traits``."""
        merged: dict[str, Any] = {}
        ctx = self.context.get("traits")
        if isinstance(ctx, dict):
            merged.update(ctx)
        own = self.payload.get("traits")
        if isinstance(own, dict):
            merged.update(own)
        return merged
