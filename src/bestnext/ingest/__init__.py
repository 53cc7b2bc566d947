"""The ingest context: sources, the Segment-compatible collection API, CloudEvents, imports."""

from bestnext.ingest.model import Limits, MessageError, Result, Source
from bestnext.ingest.services import Receiver, accept, ensure_source

__all__ = ["Limits", "MessageError", "Receiver", "Result", "Source", "accept", "ensure_source"]
