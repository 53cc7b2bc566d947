"""The dispatcher as a daemon thread inside ``bestnext serve`` (laptop mode)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bestnext.bootstrap import Container


class DispatchThread:
    def __init__(self, container: Container) -> None:
        from bestnext.channels import metrics

        self.container = container
        metrics.install(container.engine, container.clock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from bestnext.channels.wiring import dispatcher

        worker = dispatcher(self.container)
        self._thread = threading.Thread(target=worker.run_forever, args=(self._stop,),
                                        name="bestnext-dispatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
