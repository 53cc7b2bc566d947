"""Marketing pressure: at most ``limit`` marketing contacts in any window of ``window``.

The journeys keep to it when they schedule (the contact policy checks again before sending).

Examples
--------
>>> from datetime import datetime, timedelta
>>> d = datetime(2025, 3, 10)
>>> fits(d, [d - timedelta(days=3), d - timedelta(days=2)], 3, timedelta(days=7))
True
>>> fits(d, [d - timedelta(days=3), d - timedelta(days=2), d + timedelta(days=2)], 3, timedelta(days=7))
False
>>> fits(d, [d - timedelta(days=8), d - timedelta(days=7), d + timedelta(days=7)], 3, timedelta(days=7))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


def fits(at: datetime, scheduled: Sequence[datetime], limit: int, window: timedelta) -> bool:
    """Whether one more contact at ``at`` keeps every window of length ``window`` within ``limit``."""
    near = sorted(t for t in scheduled if at - window < t < at + window)
    starts = [t for t in near if t <= at] + [at]
    return all(sum(1 for t in near if s <= t < s + window) + 1 <= limit for s in starts)
