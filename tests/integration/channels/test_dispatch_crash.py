"""Two real `bestnext worker --role dispatch` processes on PostgreSQL; one is killed with -9
in the middle of sending. Every action is delivered exactly once (the provider deduplicates
the re-send by idempotency key), none is lost, and the timeline has one event per action."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, func, select

from bestnext.channels import outbox
from bestnext.channels.model import OutboundAction
from bestnext.channels.tables import outbox as outbox_table
from bestnext.db import create_db_engine
from bestnext.eventlog.tables import events
from bestnext.settings import DEMO_CONFIG_DIR
from tests.conftest import drop_pg, fresh_pg_url
from tests.support.provider_sink import ProviderSink
from tests.support.server import BIN

N = 240


def _config(tmp: Path, sink_url: str) -> Path:
    config = tmp / "bank"
    shutil.copytree(DEMO_CONFIG_DIR, config)
    (config / "channels.yaml").write_text(yaml.safe_dump({
        "dispatch": {"batch_size": 5, "lease_seconds": 3, "poll_seconds": 0.2, "max_attempts": 8,
                     "backoff_base_seconds": 1, "backoff_cap_seconds": 2},
        "providers": {"push": {"kind": "webhook", "url": sink_url + "/push", "secret": "push-secret"}}}))
    return config


def _worker(url: str, config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BESTNEXT_DATABASE_URL": url, "BESTNEXT_CONFIG_DIR": str(config),
           "BESTNEXT_SANDBOX": "false", "BESTNEXT_LOG_FILE": str(log)}
    return subprocess.Popen([str(BIN), "worker", "--role", "dispatch"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.pg
@pytest.mark.slow
def test_kill_9_mid_dispatch_loses_nothing_and_sends_nothing_twice(pg_template: str, tmp_path: Path) -> None:
    url = fresh_pg_url(pg_template)
    engine = create_db_engine(url)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with ProviderSink(delay=0.02) as sink:
            config = _config(tmp_path, sink.url)
            now = datetime.now(UTC)
            actions = [OutboundAction(person_id=f"p-{i}", channel="push", purpose="service",
                                      action="answer_request", due_at=now, text=f"Messaggio {i}")
                       for i in range(N)]
            with engine.begin() as conn:
                for a in actions:
                    outbox.enqueue(conn, a)
            workers = [_worker(url, config, tmp_path / f"w{i}.log") for i in range(2)]
            deadline = time.monotonic() + 60
            while len(sink.state.requests) < N // 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            victim = workers[0]
            assert victim.poll() is None, victim.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            _wait_for_lease(engine, victim.pid)  # kill it while it holds claimed actions
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            killed_at = len(sink.state.requests)
            orphans = _leased_by(engine, victim.pid)
            assert orphans, "the victim died holding no claimed action"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with engine.begin() as conn:
                    done = conn.execute(select(func.count()).where(outbox_table.c.status == "sent")).scalar_one()
                if done == N:
                    break
                time.sleep(0.2)
            assert workers[1].poll() is None
            delivered = sink.state.delivered()
        with engine.begin() as conn:
            rows = {r.action.id: r for r in outbox.of_person_many(conn, [a.person_id for a in actions])}
            sent_events = conn.execute(select(events.c.payload["properties"]["action_id"].as_string())
                                       .where(events.c.event == "Push Sent")).scalars().all()
        assert killed_at < N  # the kill happened while work was left
        assert sorted(delivered) == sorted(a.id for a in actions)  # none lost, each delivered once
        assert all(r.status.value == "sent" for r in rows.values()) and len(rows) == N
        assert sorted(sent_events) == sorted(a.id for a in actions)  # one timeline event per action
        keys = [r["key"] for r in sink.state.requests]
        resent = len(keys) - len(set(keys))
        assert resent == sink.state.duplicates  # every re-send was a duplicate the provider absorbed
        # whatever the victim held when it died was taken over after its lease ran out
        assert all(rows[i].attempts >= 2 for i in orphans)
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
                w.wait(15)
        engine.dispose()
        drop_pg(url)


def _leased_by(engine: Engine, pid: int) -> list[str]:
    with engine.begin() as conn:
        return list(conn.execute(select(outbox_table.c.id).where(
            outbox_table.c.status == "sending", outbox_table.c.claimed_by.like(f"%:{pid}:%"))).scalars())


def _wait_for_lease(engine: Engine, pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not _leased_by(engine, pid) and time.monotonic() < deadline:
        time.sleep(0.005)
