"""The event log context: append-only log, ordered offsets, processors with checkpoints."""

from bestnext.eventlog.model import LoggedEvent, NewEvent
from bestnext.eventlog.processors import BackgroundRunner, Notifier, Pipeline, Processor

__all__ = ["BackgroundRunner", "LoggedEvent", "NewEvent", "Notifier", "Pipeline", "Processor"]
