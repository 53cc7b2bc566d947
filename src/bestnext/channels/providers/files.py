"""Post: letters go into a daily batch file (JSON lines) for the print house."""

from __future__ import annotations

from pathlib import Path

import orjson

from bestnext.channels.model import Rendered


class BatchFileProvider:
    """Appends each letter once (by idempotency key) to ``<directory>/batch-<date>.jsonl``."""

    def __init__(self, directory: Path) -> None:
        from bestnext.channels import post_privacy

        self.directory = directory
        post_privacy.install(directory)  # erasure rewrites the person's letters

    def send(self, message: Rendered, idempotency_key: str) -> str:
        from bestnext.channels.post_privacy import locked

        day = message.at.date().isoformat() if message.at else "undated"
        path = self.directory / f"batch-{day}.jsonl"
        with locked(self.directory):
            return self._append(path, message, idempotency_key)

    def _append(self, path: Path, message: Rendered, idempotency_key: str) -> str:
        if path.exists() and any(orjson.loads(line).get("id") == idempotency_key
                                 for line in path.read_bytes().splitlines() if line):
            return f"{path.name}:{idempotency_key}"
        line = {"id": idempotency_key, "to": message.to, "subject": message.subject, "text": message.text}
        with path.open("ab") as fh:
            fh.write(orjson.dumps(line) + b"\n")
        return f"{path.name}:{idempotency_key}"
