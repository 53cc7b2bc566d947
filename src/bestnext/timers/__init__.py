"""Durable timers: everything that happens later is a row with a ``due_at``."""

from bestnext.timers.model import Timer

__all__ = ["Timer"]
