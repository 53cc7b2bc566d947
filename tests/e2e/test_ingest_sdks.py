"""The real Segment and RudderStack Python SDKs against a running `bestnext serve`, on SQLite
and PostgreSQL: acknowledged means durable (kill -9), resends are stored once, and the seed
scenarios replay through /v1/batch."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from bestnext.db import create_db_engine
from bestnext.eventlog import LoggedEvent
from bestnext.eventlog import store as eventlog
from tests.support.server import Server, run_cli

SCENARIOS = Path("/work/shared/scenarios")


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    srv = Server(db_url, tmp_path / "server.log").start()
    yield srv
    srv.stop()


def create_source(db_url: str, name: str, touchpoint: str) -> tuple[str, str]:
    """A new source's ``(id, write key)``, made with `bestnext sources create --json`."""
    created = orjson.loads(run_cli(db_url, "sources", "create", name, "--touchpoint", touchpoint, "--json"))
    assert set(created) == {"id", "name", "touchpoint", "write_key"}
    return str(created["id"]), str(created["write_key"])


def logged(db_url: str, source_id: str) -> list[LoggedEvent]:
    """Events of one source (processors running in the server may log their own events)."""
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            return [e for e in eventlog.read_after(conn, 0, 100_000) if e.source_id == source_id]
    finally:
        engine.dispose()


def send_with_segment(server: Server, key: str, ids: range) -> None:
    errors: list[object] = []
    client = SegmentClient(key, host=server.base_url, sync_mode=True, gzip=True, max_retries=0,
                           on_error=lambda e, _batch: errors.append(e))
    for i in ids:
        client.track(user_id=f"C{i:05d}", event="Transfer Failed", properties={"amount": i},
                     message_id=f"seg-{i}", timestamp=datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    assert errors == []


def test_segment_sdk_kill9_after_ack_loses_nothing_and_resends_are_stored_once(
        server: Server, db_url: str) -> None:
    source_id, key = create_source(db_url, "core", "core_banking")
    send_with_segment(server, key, range(40))
    server.kill9()  # right after the last acknowledgement
    events = logged(db_url, source_id)
    assert sorted(e.message_id for e in events) == sorted(f"seg-{i}" for i in range(40))
    assert {e.touchpoint for e in events} == {"core_banking"}
    server.start()  # a restart, and the client resends everything (plus ten new)
    send_with_segment(server, key, range(50))
    assert len(logged(db_url, source_id)) == 50


def test_rudderstack_sdk_batches_gzip(server: Server, db_url: str) -> None:
    source_id, key = create_source(db_url, "app", "app")
    client = RudderClient(key, host=server.base_url, sync_mode=True, gzip=True, max_retries=0)
    client.identify(user_id="C00001", traits={"email": "martina.bianchi@example.org"},
                    message_id="rs-1", anonymous_id="dev-1")
    client.track(anonymous_id="dev-1", event="E-banking Login", message_id="rs-2")
    client.page(anonymous_id="dev-1", name="Home", message_id="rs-3")
    client.track(anonymous_id="dev-1", event="E-banking Login", message_id="rs-2")  # resent
    events = logged(db_url, source_id)
    assert [(e.message_id, e.type) for e in events] == [("rs-1", "identify"), ("rs-2", "track"),
                                                        ("rs-3", "page")]
    assert events[0].user_id == "C00001" and events[0].touchpoint == "app"
    log_text = (Path(server.log_file)).read_text() if Path(server.log_file).exists() else ""
    assert "martina" not in log_text and key not in log_text


def test_seed_scenarios_replay_through_batch(server: Server, db_url: str) -> None:
    source_id, key = create_source(db_url, "scenarios", "web")
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    expected: list[str] = []
    for path in sorted(SCENARIOS.glob("*.jsonl")):
        batch = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
        expected += [m["messageId"] for m in batch]
        response = httpx.post(f"{server.base_url}/v1/batch", json={"batch": batch}, headers=auth)
        assert response.status_code == 200, response.text
    events = logged(db_url, source_id)
    assert sorted(e.message_id for e in events) == sorted(expected)
    assert len(expected) >= 25


def test_segment_module_api_batches_in_the_background(server: Server, db_url: str) -> None:
    import segment.analytics as analytics

    source_id, key = create_source(db_url, "web-server", "web")
    errors: list[object] = []
    analytics.write_key, analytics.host = key, server.base_url
    analytics.on_error = lambda e, _batch: errors.append(e)
    try:
        for i in range(250):  # queued, then uploaded by the consumer thread in batches
            analytics.track(anonymous_id=f"a{i % 9}", event="Page Scrolled", message_id=f"bg-{i}",
                            properties={"depth": i})
        analytics.identify("C00077", {"plan": "junior"}, message_id="bg-identify")
        analytics.flush()
    finally:
        analytics.shutdown()
        analytics.default_client = None
    assert errors == []
    events = logged(db_url, source_id)
    assert len(events) == 251 and {e.type for e in events} == {"track", "identify"}
