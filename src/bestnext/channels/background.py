"""The dispatcher as a daemon thread inside ``bestnext serve`` (laptop mode)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from bestnext.eventlog import wake

if TYPE_CHECKING:
    from bestnext.bootstrap import Container


class DispatchThread:
    def __init__(self, container: Container) -> None:
        from bestnext.channels import metrics

        self.container = container
        metrics.install(container.engine, container.clock)
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by a commit that queued an action (PostgreSQL)
        self.listener = wake.listener(container.engine, wake.Flag(self._wake), frozenset({wake.OUTBOX}))
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from bestnext.channels.wiring import dispatcher

        worker = dispatcher(self.container)
        if self.listener is not None:
            self.listener.start()
        self._thread = threading.Thread(target=worker.run_forever, args=(self._stop, self._wake),
                                        name="bestnext-dispatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.listener is not None:
            self.listener.stop()
        if self._thread:
            self._thread.join(timeout=10)
