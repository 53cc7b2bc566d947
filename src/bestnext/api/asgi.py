"""Plain ASGI helpers of the hot-path lanes (``ingest.lane``, ``decisions.lane``)."""

from __future__ import annotations

from starlette.types import Message, Receive

from bestnext.errors import PayloadTooLarge


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body (``None`` if the client left); refused once it grows past ``limit``."""
    chunks, size = [], 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit // 1024} KB.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
