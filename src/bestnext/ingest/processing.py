"""Running the processors after a history load, so that profiles, consents and journeys
reflect the imported events when the command returns (``bestnext import``)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bestnext.db import read
from bestnext.eventlog import store
from bestnext.eventlog.processors import Pipeline

Progress = Callable[[int, int], None]  # (done, total) events behind the last processor


def backlog(pipeline: Pipeline) -> tuple[int, int]:
    """``(checkpoint of the last processor, head of the log)``: what is left to process."""
    with read(pipeline.engine) as conn:
        head = store.head(conn)
        last = store.checkpoint(conn, pipeline.processors[-1].name) if pipeline.processors else head
    return last, head


def run_until_idle(pipeline: Pipeline, progress: Progress | None = None, poll: float = 0.2) -> int:
    """Run ``pipeline`` until it has caught up with the log, calling ``progress(done, total)``
    every ``poll`` seconds meanwhile; returns the (event, processor) pairs that ran.

    The processors run in a worker thread (they commit their own transactions); errors are
    raised here.
    """
    start, head = backlog(pipeline)
    outcome: dict[str, int | BaseException] = {}

    def work() -> None:
        try:
            outcome["ran"] = pipeline.run_until_idle()
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="bestnext-import-processors", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(poll)
        if progress is not None and worker.is_alive():
            progress(min(max(backlog(pipeline)[0] - start, 0), head - start), head - start)
    if isinstance(error := outcome.get("error"), BaseException):
        raise error
    if progress is not None:
        progress(head - start, head - start)
    ran = outcome.get("ran", 0)
    return ran if isinstance(ran, int) else 0
