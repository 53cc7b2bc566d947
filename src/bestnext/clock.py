"""The one clock of bestnext.

Nothing else calls ``datetime.now()``: services receive a :class:`Clock`. Real time uses
:class:`SystemClock`; replay swaps in a :class:`VirtualClock` that a driver moves forward.

Examples
--------
>>> from datetime import datetime, timezone
>>> c = VirtualClock(datetime(2025, 2, 21, 10, 35, tzinfo=timezone.utc))
>>> c.advance_to(datetime(2025, 2, 21, 11, 0, tzinfo=timezone.utc))
>>> c.now().isoformat()
'2025-02-21T11:00:00+00:00'
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

ROME = ZoneInfo("Europe/Rome")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds for measuring durations."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class VirtualClock:
    """A clock that only moves when told to; it never sleeps."""

    def __init__(self, start: datetime) -> None:
        self._now = as_utc(start)

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._now.timestamp()

    def advance_to(self, when: datetime) -> None:
        when = as_utc(when)
        if when > self._now:
            self._now = when


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; naive datetimes are taken as UTC (that is how we store them).

    >>> as_utc(datetime(2025, 1, 1, 12, 0)).isoformat()
    '2025-01-01T12:00:00+00:00'
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_rome(value: datetime) -> datetime:
    """The same instant in the bank's time zone."""
    return as_utc(value).astimezone(ROME)


__all__ = ["ROME", "Clock", "SystemClock", "VirtualClock", "as_utc", "to_rome"]
