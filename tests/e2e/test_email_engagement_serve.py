"""`bestnext serve` with a real SMTP server (aiosmtpd): a decided email leaves through the outbox,
the test reads it as the person's mail client would, follows its tracked link over HTTP and sees
the decision's outcome become ``accepted`` (the server's processors, in the background)."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from bestnext.channels import outbox
from bestnext.channels.model import OutboundAction
from bestnext.consent import services as consent
from bestnext.consent.model import Purpose
from bestnext.db import create_db_engine
from bestnext.decisions import services
from bestnext.decisions.model import DecisionContext
from bestnext.decisions.profile_view import build_view
from bestnext.decisions.tables import decision_outcomes
from bestnext.identity import services as identity
from bestnext.settings import DEMO_CONFIG_DIR
from tests.support.server import Server, run_cli
from tests.support.smtp import Inbox, smtp_server

T = TypeVar("T")
CHANNELS = """
public_base_url: {base}
dispatch: {{poll_seconds: 0.2}}
providers:
  email: {{kind: smtp, host: 127.0.0.1, port: {port}, starttls: false,
           sender: "Banca Demo <noreply@bancademo.example>"}}
"""
TEXT = "Ciao Elena,\n\nla tua carta: https://www.bancademo.example/carte/prepagata?utm=email"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    with smtp_server() as served:
        yield served


def wait_for(check: Callable[[], T | None], seconds: float = 30) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_a_followed_link_teaches_the_decision(db_url: str, tmp_path: Path, smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    config = tmp_path / "bank"
    shutil.copytree(DEMO_CONFIG_DIR, config)
    server = Server(db_url, tmp_path / "serve.log", env={"BESTNEXT_SANDBOX": "false",
                                                        "BESTNEXT_CONFIG_DIR": str(config)})
    (config / "channels.yaml").write_text(CHANNELS.format(base=server.base_url, port=port))
    key = json.loads(run_cli(db_url, "sources", "create", "e2e", "--touchpoint", "web", "--json"))["write_key"]
    engine = create_db_engine(db_url)
    server.start()
    try:
        base = {"anonymousId": "dev-elena", "timestamp": datetime.now(UTC).isoformat(),
                "context": {"touchpoint": "web"}}
        batch = [{**base, "type": "identify", "messageId": "e1", "traits": {"email": "elena@example.org"}},
                 {**base, "type": "track", "messageId": "e2", "event": "Consent Preferences Updated",
                  "properties": {"purposes": {"personal_data": True, "own_marketing": True, "profiling": True}}}]
        httpx.post(f"{server.base_url}/v1/batch", json={"batch": batch}, auth=(key, ""), timeout=10).raise_for_status()

        def person() -> str | None:
            with engine.connect() as conn:
                found: str | None = identity.find_person(conn, "email", "elena@example.org")
                return found

        person_id = wait_for(person)

        def profiling() -> bool:
            with engine.connect() as conn:
                return bool(consent.state(conn, person_id).granted(Purpose.PROFILING))

        wait_for(profiling)  # the consent processor has read the preferences
        now = datetime.now(UTC)
        with engine.begin() as conn:  # what a journey's decide + send steps do
            view = build_view(person_id, {"age": 28}, lifecycle_stage="customer", holdings=[], interests=[],
                              household=None, event_count=2, at=now)
            decision_id, decision = services.decide_logged(conn, person_id, DecisionContext(at=now, reason="e2e"),
                                                           "email", 3, config_dir=config, view=view,
                                                           rng=np.random.default_rng(1))
            first = decision.ranked[0]
            outbox.enqueue(conn, OutboundAction(
                person_id=person_id, channel="email", purpose="marketing", action=first.action_id, due_at=now,
                product=first.product, text=TEXT, data={"decision_id": decision_id, "subject": "Per te"}))
        msg = wait_for(lambda: next((m for m in inbox.messages if m["Subject"] == "Per te"), None))
        part = msg.get_body(("plain",))
        assert part is not None
        [link] = re.findall(r"http://127\.0\.0\.1:\d+/v1/t/c/[\w-]+\.[\w-]+", part.get_content())
        followed = httpx.get(link, follow_redirects=False, timeout=10)
        assert followed.status_code == 302
        assert followed.headers["location"] == "https://www.bancademo.example/carte/prepagata?utm=email"

        def taught() -> list[tuple[str, str]] | None:
            with engine.connect() as conn:
                rows = conn.execute(select(decision_outcomes.c.action_id, decision_outcomes.c.outcome)
                                    .where(decision_outcomes.c.decision_id == decision_id)).all()
            found = [(str(r.action_id), str(r.outcome)) for r in rows]
            return found if ("accepted" in {o for _a, o in found}) else None

        assert sorted(wait_for(taught)) == [(first.action_id, "accepted"), (first.action_id, "impression")]
    finally:
        server.stop()
        engine.dispose()
