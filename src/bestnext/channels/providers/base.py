"""The provider interface and the sandbox (nothing leaves the machine)."""

from __future__ import annotations

from typing import Protocol

import httpx

from bestnext.channels.model import Rendered, SendError


class Provider(Protocol):
    def send(self, message: Rendered, idempotency_key: str) -> str:
        """Deliver ``message``; return the provider's message id. Raise :class:`SendError`."""
        ...


class SandboxProvider:
    """Records nothing outside the outbox and returns a stable id: the sandbox of the demo
    and of replay. ``delivered`` keeps the keys seen, for tests and the bench."""

    def __init__(self) -> None:
        self.delivered: list[str] = []

    def send(self, message: Rendered, idempotency_key: str) -> str:
        self.delivered.append(idempotency_key)
        return f"sandbox-{idempotency_key}"


def http_error(exc: httpx.HTTPError | None, response: httpx.Response | None = None) -> SendError:
    """Network errors, 408, 429 and 5xx are retried; other 4xx are permanent."""
    if response is None:
        return SendError(f"network: {type(exc).__name__}")
    status = response.status_code
    permanent = 400 <= status < 500 and status not in (408, 409, 425, 429)
    return SendError(f"http {status}", permanent=permanent)
