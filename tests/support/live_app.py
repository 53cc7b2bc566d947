"""The real FastAPI app of a container, served by uvicorn on a free port in a thread."""

from __future__ import annotations

import threading
import time

import httpx
import uvicorn

from bestnext.api.app import create_app
from bestnext.bootstrap import Container
from tests.support.server import free_port


class LiveApp:
    def __init__(self, container: Container, port: int | None = None) -> None:
        container.settings.run_workers = False
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(container), host="127.0.0.1", port=self.port,
                                log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveApp:
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("app did not start")

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
