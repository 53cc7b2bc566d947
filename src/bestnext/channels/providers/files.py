"""Post: letters go into a daily batch file (JSON lines) for the print house."""

from __future__ import annotations

from datetime import timedelta
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

        day = message.at.date() if message.at else None
        path = self.directory / f"batch-{day.isoformat() if day else 'undated'}.jsonl"
        # a re-send after a crash just before midnight finds its letter in yesterday's batch
        earlier = self.directory / f"batch-{(day - timedelta(days=1)).isoformat()}.jsonl" if day else path
        with locked(self.directory):
            for batch in dict.fromkeys((earlier, path)):
                if _holds(batch, idempotency_key):
                    return f"{batch.name}:{idempotency_key}"
            return self._append(path, message, idempotency_key)

    def _append(self, path: Path, message: Rendered, idempotency_key: str) -> str:
        line = {"id": idempotency_key, "to": message.to, "subject": message.subject, "text": message.text}
        with path.open("ab") as fh:
            fh.write(orjson.dumps(line) + b"\n")
        return f"{path.name}:{idempotency_key}"


def _holds(path: Path, idempotency_key: str) -> bool:
    return path.exists() and any(orjson.loads(line).get("id") == idempotency_key
                                 for line in path.read_bytes().splitlines() if line)
