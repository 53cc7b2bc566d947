"""`bestnext import` and the import service: JSONL, CSV and Parquet on both databases."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from bestnext.bootstrap import Container
from bestnext.eventlog import store as eventlog
from bestnext.ingest import importer, processing, services
from tests.support.server import BIN, run_cli

ROWS = [
    {"type": "identify", "messageId": "i-1", "userId": "C1", "traits": {"email": "a@example.org"},
     "timestamp": "2025-02-21T11:35:00+01:00", "context": {"touchpoint": "branch"}},
    {"type": "track", "messageId": "t-1", "userId": "C1", "event": "Branch Visited",
     "properties": {"product": "pension_fund"}, "timestamp": "2025-02-22T10:00:00+01:00"},
]


def stored(container: Container) -> list[tuple[str, str, str]]:
    with container.engine.connect() as conn:
        return [(e.message_id, e.type, e.touchpoint) for e in eventlog.read_after(conn, 0, 1000)]


def load(container: Container, path: Path) -> importer.ImportReport:
    with container.engine.begin() as conn:
        source = services.ensure_source(conn, "history", "import", container.clock.now())
    return importer.import_file(container.engine, container.clock, source, path)


def test_jsonl_with_a_bad_line_keeps_the_rest_and_reimport_stores_nothing(
        container: Container, tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    lines = [orjson.dumps(ROWS[0]), b"{broken", b"", orjson.dumps({"type": "track", "userId": "C1"}),
             orjson.dumps(ROWS[1])]
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = load(container, path)
    assert (report.accepted, report.duplicates) == (2, 0)
    assert [(e.index, e.field) for e in report.errors] == [(2, ""), (4, "event")]
    again = load(container, path)
    assert (again.accepted, again.duplicates) == (0, 2)
    assert stored(container) == [("i-1", "identify", "branch"), ("t-1", "track", "import")]


def test_csv_dotted_columns(container: Container, tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["type", "messageId", "userId", "event", "properties.product", "traits.email",
                         "context.touchpoint", "timestamp"])
        writer.writerow(["track", "c-1", "C7", "Product Subscribed", "prepaid_card", "", "core_banking",
                         "2025-03-01T09:00:00Z"])
        writer.writerow(["identify", "c-2", "C7", "", "", "c7@example.org", "", "2025-03-01T09:01:00Z"])
        writer.writerow(["track", "c-3", "", "X", "", "", "", ""])
    report = load(container, path)
    assert report.accepted == 2 and [(e.index, e.field) for e in report.errors] == [(4, "userId")]
    with container.engine.connect() as conn:
        first, second = eventlog.read_after(conn, 0, 10)
    assert first.properties == {"product": "prepaid_card"} and first.touchpoint == "core_banking"
    assert second.traits == {"email": "c7@example.org"}


def test_parquet(container: Container, tmp_path: Path) -> None:
    path = tmp_path / "history.parquet"
    table = pa.table({
        "type": ["track", "track"], "messageId": ["p-1", "p-2"], "anonymousId": ["a1", None],
        "event": ["Page Viewed", "Page Viewed"], "properties.path": ["/carte", "/mutui"],
        "timestamp": pa.array([1_740_000_000_000, 1_740_000_100_000], pa.timestamp("ms", tz="UTC")),
    })
    pq.write_table(table, path)
    report = load(container, path)
    assert report.accepted == 1 and [(e.index, e.field) for e in report.errors] == [(2, "userId")]
    assert importer.count_rows(path) == 2


def test_cli_import_reports_lines_and_progress(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(orjson.dumps(ROWS[0]) + b"\nnot json\n" + orjson.dumps(ROWS[1]) + b"\n")
    env = {**os.environ, "BESTNEXT_DATABASE_URL": db_url}
    proc = subprocess.run([str(BIN), "import", str(path), "--source", "crm", "--json"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr  # partly rejected
    summary = orjson.loads(proc.stdout)
    assert (summary["accepted"], summary["rejected"]) == (2, 1)
    assert summary["errors"][0]["line"] == 2


def test_cli_import_runs_the_processors_so_the_person_is_there_at_once(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in ROWS) + b"\n")
    summary = orjson.loads(run_cli(db_url, "import", str(path), "--json"))
    assert summary["accepted"] == 2 and summary["processed"] >= 2
    profile = orjson.loads(run_cli(db_url, "profiles", "show", "email:a@example.org", "--json"))
    assert profile["event_count"] == 2 and {"type": "user_id", "value": "C1"} in profile["identities"]
    assert profile["interests"] and profile["lifecycle_stage"] == "prospect"


def test_cli_import_no_process_only_stores(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(orjson.dumps(ROWS[0]) + b"\n")
    summary = orjson.loads(run_cli(db_url, "import", str(path), "--no-process", "--json"))
    assert summary["accepted"] == 1 and summary["processed"] is None
    env = {**os.environ, "BESTNEXT_DATABASE_URL": db_url}
    shown = subprocess.run([str(BIN), "profiles", "show", "email:a@example.org", "--json"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode != 0  # nobody until the processors run


def test_processing_reports_progress_up_to_the_backlog(container: Container, tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps({**ROWS[1], "messageId": f"t-{i}"}) for i in range(30)) + b"\n")
    assert load(container, path).accepted == 30
    seen: list[tuple[int, int]] = []
    ran = processing.run_until_idle(container.pipeline, lambda done, total: seen.append((done, total)),
                                    poll=0.01)
    assert ran >= 30 * len(container.pipeline.processors)
    assert seen[-1][0] == seen[-1][1] > 0 and all(d <= t for d, t in seen)
    assert processing.backlog(container.pipeline)[0] == processing.backlog(container.pipeline)[1]
    assert processing.run_until_idle(container.pipeline) == 0
