"""Post batch files under ``var/`` are covered by privacy export and erasure.

A letter line is ``{"id": action id, "to": ..., "subject": ..., "text": ...}``; the person's
lines are those of their post actions in the outbox (and, for a line written before the send
was recorded, those addressed to the person id). Erasure rewrites each batch file without
them (a temporary file replaced atomically), under the same file lock the provider appends
with, so that a concurrent dispatcher never loses a letter. The file change is not part of the
database transaction: a rolled-back erasure has still removed the letters from the batches.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, select

from bestnext.channels.tables import outbox

_directories: set[Path] = set()


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """An exclusive lock on ``directory``'s batches (across processes)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("ab") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _batches() -> Iterator[tuple[Path, Path]]:
    for directory in sorted(_directories):
        if directory.is_dir():
            for path in sorted(directory.glob("batch-*.jsonl")):
                yield directory, path


def _theirs(conn: Connection, person_id: str) -> Any:
    ids = set(conn.execute(select(outbox.c.id).where(outbox.c.person_id == person_id,
                                                     outbox.c.channel == "post")).scalars())

    def mine(line: dict[str, Any]) -> bool:
        return line.get("id") in ids or line.get("to") == person_id

    return mine


def export(conn: Connection, person_id: str) -> dict[str, Any]:
    """The person's letters in the post batches."""
    mine = _theirs(conn, person_id)
    letters = [{"file": path.name, **line} for _d, path in _batches()
               for line in map(orjson.loads, filter(None, path.read_bytes().splitlines())) if mine(line)]
    return {"post_batches": letters}


def erase(conn: Connection, person_id: str) -> None:
    """Rewrite every batch file without the person's letters."""
    mine = _theirs(conn, person_id)
    for directory, path in _batches():
        with locked(directory):
            lines = [raw for raw in path.read_bytes().splitlines() if raw]
            kept = [raw for raw in lines if not mine(orjson.loads(raw))]
            if len(kept) == len(lines):
                continue
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(b"".join(raw + b"\n" for raw in kept))
            os.replace(tmp, path)


def install(directory: Path) -> None:
    """Cover the batches in ``directory`` (idempotent; several directories may be covered)."""
    from bestnext.privacy import registry

    _directories.add(directory.resolve())
    registry.register("channels.post_batches", export, erase)
