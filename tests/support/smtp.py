"""A real SMTP server (aiosmtpd) on a free port that keeps what it receives."""

from __future__ import annotations

import email
import email.message
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.server import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    """The server's port and its inbox, while the block runs."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()
