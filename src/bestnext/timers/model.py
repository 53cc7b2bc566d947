"""Plain values of the timers context.

Examples
--------
>>> from datetime import datetime, UTC
>>> t = Timer(id="t1", kind="journey.wake", due_at=datetime(2025, 2, 27, 8, 0, tzinfo=UTC),
...           payload={"instance": "i1"})
>>> t.kind
'journey.wake'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class TimerStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Timer:
    """Something to do at ``due_at``; ``key`` makes scheduling idempotent."""

    id: str
    kind: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    attempts: int = 0
    person_id: str | None = None  # whose work it is (None: the bank's own)
