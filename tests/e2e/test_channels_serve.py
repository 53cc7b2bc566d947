"""`bestnext serve` (laptop mode) dispatches the outbox in the background, in the sandbox."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bestnext.access import Role
from bestnext.access import store as keys
from bestnext.channels import outbox
from bestnext.channels.model import OutboundAction, Status
from bestnext.db import create_db_engine
from tests.support.server import Server


def test_serve_dispatches_in_the_sandbox_and_reports_metrics(db_url: str, tmp_path: Path) -> None:
    engine = create_db_engine(db_url)
    now = datetime.now(UTC)
    action = OutboundAction(person_id="p-e2e", channel="push", purpose="service", action="answer_request",
                            due_at=now, text="Il tuo nuovo token è partito.")
    with engine.begin() as conn:
        outbox.enqueue(conn, action)
        _id, secret = keys.create_key(conn, "ops", Role.ANALYST, now)
    server = Server(db_url, tmp_path / "serve.log").start()
    try:
        deadline = time.monotonic() + 30
        row = None
        while time.monotonic() < deadline:
            with engine.begin() as conn:
                row = outbox.get(conn, action.id)
            if row is not None and row.status is Status.SENT:
                break
            time.sleep(0.2)
        assert row is not None and row.status is Status.SENT
        assert row.provider_message_id == f"sandbox-{action.id}"
        metrics = httpx.get(f"{server.base_url}/metrics", headers={"Authorization": f"Bearer {secret}"}).text
        assert 'bestnext_outbox_actions{channel="push",status="sent"} 1.0' in metrics
        assert "bestnext_outbox_depth 0.0" in metrics
    finally:
        server.stop()
        engine.dispose()
