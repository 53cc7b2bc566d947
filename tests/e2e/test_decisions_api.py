"""`POST /v1/decisions`, outcomes and `GET /v1/models` against a real `bestnext serve`
(SQLite and PostgreSQL): events in through /v1/batch, a decision out, a lesson learned and
still there after a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from bestnext.db import create_db_engine
from bestnext.eventlog.tables import events
from tests.support.server import Server, run_cli

PROBLEM = "application/problem+json"


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    srv = Server(db_url, tmp_path / "server.log").start()
    yield srv
    srv.stop()


def key(db_url: str, role: str) -> dict[str, str]:
    created = orjson.loads(run_cli(db_url, "keys", "create", f"{role}-key", "--role", role, "--json"))
    return {"Authorization": f"Bearer {created['key']}"}


def send_martina(server: Server, db_url: str) -> str:
    write_key = orjson.loads(run_cli(db_url, "sources", "create", "web", "--touchpoint", "web", "--json"))["write_key"]
    ts = "2025-02-21T11:35:00+01:00"
    batch = {"batch": [
        {"type": "identify", "messageId": "e2e-1", "timestamp": ts, "userId": "C-E2E",
         "traits": {"first_name": "Martina", "age": 21, "email": "martina@example.org"}},
        {"type": "track", "messageId": "e2e-2", "timestamp": ts, "userId": "C-E2E",
         "event": "Consent Preferences Updated",
         "properties": {"purposes": {"personal_data": True, "own_marketing": True, "profiling": True,
                                     "sensitive_data": False, "satisfaction_survey": False,
                                     "third_party_marketing": False, "transfer_to_third_parties": False}}},
        {"type": "track", "messageId": "e2e-3", "timestamp": ts, "userId": "C-E2E", "event": "Form Submitted",
         "properties": {"product": "prepaid_card"}},
    ]}
    r = httpx.post(f"{server.base_url}/v1/batch", json=batch, auth=(write_key, ""), timeout=10)
    assert r.status_code == 200, r.text
    engine = create_db_engine(db_url)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                person = conn.execute(select(events.c.person_id).where(events.c.message_id == "e2e-3")).scalar()
            if person:
                return str(person)
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError("the event was never attributed to a person")


def decide(server: Server, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:  # the consent processor may still be catching up
        r = httpx.post(f"{server.base_url}/v1/decisions", json=body, headers=headers, timeout=10)
        marketing = r.status_code == 201 and any(a["purpose"] == "marketing" for a in r.json()["actions"])
        if marketing or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


def test_decide_learn_and_survive_a_restart(server: Server, db_url: str) -> None:
    person = send_martina(server, db_url)
    agent, analyst = key(db_url, "agent"), key(db_url, "analyst")
    r = decide(server, agent, {"person_id": person, "channel": "email", "language": "en", "n": 3})
    assert r.status_code == 201, r.text
    body = r.json()
    card = next(a for a in body["actions"] if a["action_id"] == "offer_prepaid_card")
    assert card["channel"] == "email" and card["offer"] == "first_year_free"
    assert card["text"].startswith("Hi Martina")
    assert set(card["explanation"]["score_terms"]) == {"propensity", "context_weight", "value", "levers"}
    assert card["explanation"]["signals_used"] == ["interests"]
    assert 0 <= card["probability"] <= 1

    r = httpx.post(f"{server.base_url}/v1/decisions/{body['id']}/outcome",
                   json={"action_id": "offer_prepaid_card", "outcome": "accepted"}, headers=agent, timeout=10)
    assert r.status_code == 200 and r.json()["learned"] is True, r.text
    models = httpx.get(f"{server.base_url}/v1/models", headers=analyst, timeout=10).json()["models"]
    assert models["offer_prepaid_card/email"]["responses"] == 1

    server.stop()
    server.start()
    models = httpx.get(f"{server.base_url}/v1/models", headers=analyst, timeout=10).json()["models"]
    assert models["offer_prepaid_card/email"]["responses"] == 1
    r = httpx.post(f"{server.base_url}/v1/decisions", json={"person_id": person}, headers=agent, timeout=10)
    assert r.status_code == 201


def test_access_and_problems(server: Server, db_url: str) -> None:
    agent, analyst = key(db_url, "agent"), key(db_url, "analyst")
    url = f"{server.base_url}/v1/decisions"
    assert httpx.post(url, json={"person_id": "x"}, timeout=10).status_code == 401
    r = httpx.post(url, json={"person_id": "x"}, headers=analyst, timeout=10)
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    r = httpx.post(url, json={"person_id": "x", "channel": "pigeon"}, headers=agent, timeout=10)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["field"] == "channel"
    r = httpx.post(url, json={"person_id": "nobody"}, headers=agent, timeout=10)
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    r = httpx.post(f"{url}/nope/outcome", json={"action_id": "a", "outcome": "accepted"}, headers=agent, timeout=10)
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    r = httpx.get(f"{server.base_url}/v1/contact-policy/check",
                  params={"person_id": "x", "channel": "sms", "purpose": "marketing",
                          "at": "2025-06-22T11:00:00+02:00"}, headers=analyst, timeout=10)
    assert r.status_code == 200 and r.json()["reasons"] == ["quiet_hours:sms"]
    assert r.json()["next_allowed_at"].startswith("2025-06-23T07:00:00")
