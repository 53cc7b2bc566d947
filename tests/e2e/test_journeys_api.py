"""The journeys API against a real `bestnext serve`: definitions, check, a person's journeys, replay."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from bestnext.db import create_db_engine
from tests.support.server import Server, run_cli


def _auth(db_url: str, role: str) -> dict[str, str]:
    created = json.loads(run_cli(db_url, "keys", "create", f"{role}-j", "--role", role, "--json"))
    return {"Authorization": f"Bearer {created['key']}"}


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    running = Server(db_url, tmp_path / "serve.log").start()
    yield running
    running.stop()


def test_definitions_and_check(server: Server, db_url: str) -> None:
    marketer = _auth(db_url, "marketer")
    got = httpx.get(f"{server.base_url}/v1/journeys", headers=marketer, timeout=10)
    assert got.status_code == 200 and {"lead", "answer_request"} <= {j["id"] for j in got.json()}
    bad = httpx.post(f"{server.base_url}/v1/journeys/check", headers={**marketer, "Content-Type": "application/yaml"},
                     content="id: j\nentry: [{event: X}]\nsteps:\n  - {id: a, do: wait, for: soon}\n", timeout=10)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["line"] == 4
    agent = _auth(db_url, "agent")
    assert httpx.get(f"{server.base_url}/v1/journeys", headers=agent, timeout=10).status_code == 403


def test_a_persons_journeys(server: Server, db_url: str) -> None:
    key = json.loads(run_cli(db_url, "sources", "create", "jweb", "--touchpoint", "social", "--json"))["write_key"]
    basic = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    message = {"type": "track", "messageId": "q1", "event": "Social Message Posted", "anonymousId": "fb-9",
               "properties": {"text": "my card is blocked, help"}, "context": {"traits": {"email": "z@example.org"}}}
    httpx.post(f"{server.base_url}/v1/batch", json={"batch": [message]}, headers=basic, timeout=10).raise_for_status()
    engine = create_db_engine(db_url)
    person = None
    for _ in range(100):
        with engine.connect() as conn:
            person = conn.execute(text("SELECT person_id FROM journey_instances")).scalar()
        if person:
            break
        time.sleep(0.1)
    engine.dispose()
    assert person
    got = httpx.get(f"{server.base_url}/v1/people/{person}/journeys", headers=_auth(db_url, "agent"), timeout=10)
    assert got.status_code == 200
    (instance,) = got.json()
    assert instance["journey"] == "answer_request" and instance["status"] == "completed"
    # a new problem: acknowledged on its channel, a case opened, an operator's call booked
    assert [s["step"] for s in instance["steps"]][:4] == ["route", "acknowledge_problem", "problem_case", "problem_call"]


def test_replay_over_http(server: Server, db_url: str) -> None:
    history = "\n".join(json.dumps(m) for m in [
        {"type": "identify", "messageId": "r1", "timestamp": "2025-03-07T21:30:00+01:00", "anonymousId": "p",
         "traits": {"phone": "+393330000005"}, "context": {"touchpoint": "partner"}},
        {"type": "track", "messageId": "r2", "timestamp": "2025-03-07T21:30:01+01:00", "anonymousId": "p",
         "event": "Lead Received", "properties": {"product": "pension_fund", "preferred_channel": "sms"},
         "context": {"touchpoint": "partner"}},
    ]) + "\n{oops\n"
    got = httpx.post(f"{server.base_url}/v1/replay", params={"until": "2025-03-09T00:00:00+01:00"},
                     headers={**_auth(db_url, "analyst"), "Content-Type": "application/x-ndjson"},
                     content=history, timeout=120)
    assert got.status_code == 200, got.text
    body = got.json()
    assert [(a["at"], a["channel"]) for a in body["actions"]] == [("2025-03-08T09:00:00+01:00", "sms")]
    assert body["rejected"][0]["line"] == 3
