"""Journeys inside a real `bestnext serve`: an event starts a journey at once, its durable timer
fires in real time, and a timer pending when the server is killed (-9) fires once after restart."""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from bestnext.db import create_db_engine
from bestnext.settings import DEMO_CONFIG_DIR
from tests.support.server import Server, run_cli

PING = """
id: ping
version: 1
priority: 10
entry:
  - event: Ping
reentry: {mode: always}
steps:
  - id: pause
    do: wait
    for: "%s"
  - id: answer
    do: send
    channel: social
    purpose: service
    action: answer_request
    at: now
    text: {it: "pong"}
"""


def _config(tmp: Path, pause: str) -> Path:
    config = tmp / "bank"
    shutil.copytree(DEMO_CONFIG_DIR, config)
    (config / "journeys" / "ping.yaml").write_text(PING % pause)
    return config


def _post(server: Server, key: str, message_id: str) -> None:
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    message = {"type": "track", "messageId": message_id, "event": "Ping", "anonymousId": f"dev-{message_id}",
               "timestamp": "2025-01-01T00:00:00Z", "properties": {},
               "context": {"touchpoint": "social", "traits": {"email": f"{message_id}@example.org"}}}
    httpx.post(f"{server.base_url}/v1/batch", json={"batch": [message]}, headers=auth, timeout=10).raise_for_status()


def _sent(db_url: str, message_id: str) -> list[str]:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT status, based_on FROM outbox WHERE action = 'answer_request'")).all()
    finally:
        engine.dispose()
    return [str(r[0]) for r in rows if message_id in json.dumps(r[1] if not isinstance(r[1], str) else json.loads(r[1]))]


def _wait_sent(db_url: str, message_id: str, seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = _sent(db_url, message_id)
        if "sent" in found:
            return found
        time.sleep(0.1)
    return _sent(db_url, message_id)


@pytest.fixture
def key(db_url: str) -> Iterator[str]:
    out = run_cli(db_url, "sources", "create", "e2e", "--touchpoint", "social", "--json")
    yield str(json.loads(out)["write_key"])


def test_event_starts_a_journey_and_its_timer_fires_in_real_time(db_url: str, key: str, tmp_path: Path) -> None:
    env = {"BESTNEXT_CONFIG_DIR": str(_config(tmp_path, "1s"))}
    server = Server(db_url, tmp_path / "serve.log", env=env).start()
    try:
        _post(server, key, "ping-1")
        assert _wait_sent(db_url, "ping-1", 15) == ["sent"]
    finally:
        server.stop()


def test_timer_pending_at_a_kill_fires_once_after_restart(db_url: str, key: str, tmp_path: Path) -> None:
    env = {"BESTNEXT_CONFIG_DIR": str(_config(tmp_path, "4s"))}
    server = Server(db_url, tmp_path / "serve.log", env=env).start()
    _post(server, key, "ping-2")
    assert _wait_pending_wake(db_url, 15), "the journey is not waiting on its durable timer"
    server.kill9()
    assert _sent(db_url, "ping-2") == []
    restarted = Server(db_url, tmp_path / "serve2.log", env=env).start()
    try:
        assert _wait_sent(db_url, "ping-2", 20) == ["sent"]
        time.sleep(1.0)
        assert _sent(db_url, "ping-2") == ["sent"]  # exactly one action
    finally:
        restarted.stop()


def test_timers_worker_process_fires_due_timers(db_url: str, tmp_path: Path) -> None:
    """`bestnext worker --role timers` (production mode) fires the journeys' durable timers."""
    import os
    import signal
    import subprocess

    from bestnext.bootstrap import build
    from bestnext.ingest import services as ingest
    from bestnext.settings import Settings
    from tests.support.server import BIN

    config = _config(tmp_path, "1s")
    c = build(Settings(database_url=db_url, environment="test", log_file=tmp_path / "t.log", config_dir=config))
    try:
        with c.engine.begin() as conn:
            source = ingest.ensure_source(conn, "e2e-worker", "social", c.clock.now())
            ingest.accept(conn, source, [{"type": "track", "messageId": "ping-w", "event": "Ping",
                                          "anonymousId": "dev-w", "timestamp": c.clock.now().isoformat(),
                                          "context": {"traits": {"email": "w@example.org"}}}], c.clock.now())
        c.pipeline.run_until_idle()  # the journey waits on its timer; nothing fires it here
    finally:
        c.dispose()
    env = {**os.environ, "BESTNEXT_DATABASE_URL": db_url, "BESTNEXT_CONFIG_DIR": str(config),
           "BESTNEXT_LOG_FILE": str(tmp_path / "worker.log")}
    worker = subprocess.Popen([str(BIN), "worker", "--role", "timers"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _timers_done(db_url) == 0:
            time.sleep(0.2)
        assert _timers_done(db_url) == 1
        assert _sent(db_url, "ping-w") == ["pending"]  # enqueued for the dispatch workers
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(15)


def _wait_pending_wake(db_url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        engine = create_db_engine(db_url)
        try:
            with engine.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM timers WHERE kind = 'journey.wake' "
                                     "AND status = 'pending'")).scalar_one():
                    return True
        finally:
            engine.dispose()
        time.sleep(0.05)
    return False


def _timers_done(db_url: str) -> int:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM timers WHERE status = 'done'")).scalar_one())
    finally:
        engine.dispose()
