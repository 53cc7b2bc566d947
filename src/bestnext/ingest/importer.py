"""History loads from files: JSONL, CSV (dotted columns) and Parquet, through :func:`accept`.

Every row is one Segment-spec message; a bad row is reported with its line (or row) number
and the rest is kept. Rows are committed in chunks, so a re-run stores nothing twice.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine

from bestnext.clock import Clock
from bestnext.errors import InvalidInput
from bestnext.ingest.model import MessageError, Source
from bestnext.ingest.services import accept

CHUNK = 500
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}


@dataclass
class ImportReport:
    """What an import stored; ``errors`` name line numbers (rows for Parquet), from 1."""

    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    errors: list[MessageError] = field(default_factory=list)


class _BadRow:
    def __init__(self, message: str) -> None:
        self.message = message


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted column names as nested objects; empty cells are left out.

    >>> nest({"type": "track", "properties.product": "prepaid_card", "traits.email": ""})
    {'type': 'track', 'properties': {'product': 'prepaid_card'}}
    """
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None or value == "" or key is None:
            continue
        if isinstance(value, datetime | date):
            value = value.isoformat()
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"column '{key}' clashes with column '{part}'")
            node = child
        node[leaf] = value
    return out


def _jsonl(path: Path) -> Iterator[tuple[int, object]]:
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield number, _BadRow(f"not valid JSON: {exc}")


def _csv(path: Path) -> Iterator[tuple[int, object]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        for row in reader:
            try:
                yield reader.line_num, nest(row)
            except ValueError as exc:
                yield reader.line_num, _BadRow(str(exc))


def _parquet(path: Path) -> Iterator[tuple[int, object]]:
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK):
        for row in batch.to_pylist():
            number += 1
            try:
                yield number, nest(_plain(row))
            except ValueError as exc:
                yield number, _BadRow(str(exc))


def _plain(value: Any) -> Any:
    """Parquet values as JSON values (timestamps as ISO 8601, structs as objects)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def rows_of(path: Path) -> Iterator[tuple[int, object]]:
    """``(line number, message)`` pairs of a file; unreadable rows come as errors."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InvalidInput(f"Unknown file type '{path.suffix}': use .jsonl, .csv or .parquet.")
    if not path.is_file():
        raise InvalidInput(f"No such file: {path}")
    return {"jsonl": _jsonl, "csv": _csv, "parquet": _parquet}[kind](path)


def count_rows(path: Path) -> int:
    """How many rows the progress bar should expect."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as f:
        lines = sum(1 for _ in f)
    return max(lines - 1, 0) if path.suffix.lower() == ".csv" else lines


def import_file(engine: Engine, clock: Clock, source: Source, path: Path,
                progress: Callable[[int], None] = lambda _n: None,
                notify: Callable[[], None] = lambda: None) -> ImportReport:
    """Load ``path`` through :func:`accept` in chunks, one transaction per chunk."""
    report = ImportReport()
    chunk: list[tuple[int, object]] = []
    for item in rows_of(path):
        chunk.append(item)
        if len(chunk) >= CHUNK:
            _load(engine, clock, source, chunk, report, notify)
            progress(len(chunk))
            chunk = []
    if chunk:
        _load(engine, clock, source, chunk, report, notify)
        progress(len(chunk))
    return report


def _load(engine: Engine, clock: Clock, source: Source, chunk: list[tuple[int, object]],
          report: ImportReport, notify: Callable[[], None]) -> None:
    good = [(n, m) for n, m in chunk if not isinstance(m, _BadRow)]
    report.rows += len(chunk)
    report.errors.extend(MessageError(n, "", m.message) for n, m in chunk if isinstance(m, _BadRow))
    with engine.begin() as conn:
        result = accept(conn, source, [m for _, m in good], clock.now(), indices=[n for n, _ in good])
    report.accepted += result.accepted
    report.duplicates += result.duplicates
    report.errors.extend(result.errors)
    if result.accepted:
        notify()
