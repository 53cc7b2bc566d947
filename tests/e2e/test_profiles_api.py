"""Profiles through the running product: seed journeys sent to `/v1/batch` of a real
`bestnext serve` (whole pipeline, in real time), read back through the API and the CLI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.segment import seed_messages
from tests.support.server import Server, run_cli


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    srv = Server(db_url, tmp_path / "server.log").start()
    yield srv
    srv.stop()


def _key(db_url: str, role: str) -> str:
    created = orjson.loads(run_cli(db_url, "keys", "create", f"k-{role}", "--role", role, "--json"))
    return str(created["key"])


def _wait_for(client: httpx.Client, path: str, ready: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(path)
        if response.status_code == 200 and ready(response.json()):
            return dict(response.json())
        if time.monotonic() > deadline:
            raise AssertionError(f"{path}: {response.status_code} {response.text[:300]}")
        time.sleep(0.1)


def test_seed_journeys_through_the_api_and_the_cli(server: Server, db_url: str) -> None:
    source = orjson.loads(run_cli(db_url, "sources", "create", "seed", "--touchpoint", "web", "--json"))
    agent, analyst = _key(db_url, "agent"), _key(db_url, "analyst")
    kiosk = {"type": "track", "event": "Branch Visited", "messageId": "kiosk-2", "anonymousId": "branch-MI01",
             "timestamp": "2018-05-02T10:00:00+02:00",
             "context": {"touchpoint": "branch", "traits": {"phone": "+393330000001"}}}
    sent = httpx.post(f"{server.base_url}/v1/batch", auth=(source["write_key"], ""),
                      json={"batch": [*seed_messages(), kiosk]}, timeout=30)
    assert sent.status_code == 200, sent.text

    api = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {agent}"}, timeout=10)
    martina = _wait_for(api, "/v1/profiles/email/martina.bianchi@example.org",
                        lambda p: p["event_count"] == 6)
    assert martina["lifecycle_stage"] == "prospect"
    assert {"type": "dmp_cookie", "value": "dmp-88af"} in martina["identities"]
    assert {"type": "facebook_id", "value": "1000234"} in martina["identities"]
    antonio = _wait_for(api, "/v1/profiles/partner_lead_id/4471", lambda p: p["event_count"] == 6)
    assert antonio["lifecycle_stage"] == "customer" and antonio["traits"]["first_name"] == "Antonio"
    giorgio = _wait_for(api, "/v1/profiles/user_id/C100234", lambda p: p["event_count"] == 11)
    assert giorgio["household"]["id"] == "H-ROSSI" and len(giorgio["household"]["members"]) == 2
    assert api.get("/v1/profiles/anonymous_id/web-77c0").json()["id"] == giorgio["id"]
    assert api.get(f"/v1/profiles/person/{giorgio['id']}").json()["event_count"] == 11

    page = api.get(f"/v1/profiles/{giorgio['id']}/events", params={"limit": 5}).json()
    # the timeline holds his 11 messages plus the bank's own actions (sends, tasks), which the
    # running journeys and dispatcher add asynchronously
    assert page["total"] >= 11 and len(page["events"]) == 5 and page["next_offset"] == 5
    assert {e["touchpoint"] for e in api.get(f"/v1/profiles/{giorgio['id']}/events",
                                             params={"limit": 50}).json()["events"]} >= {"web", "ebanking", "social"}

    missing = api.get("/v1/profiles/email/nobody@example.org")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert "nobody" not in missing.json()["detail"]
    assert httpx.get(f"{server.base_url}/v1/profiles/user_id/C100234").status_code == 401
    pseudonymised = httpx.get(f"{server.base_url}/v1/profiles/user_id/C100234",
                              headers={"Authorization": f"Bearer {analyst}"})
    assert pseudonymised.status_code == 200 and "C100234" not in pseudonymised.text
    bad = api.get(f"/v1/profiles/{giorgio['id']}/events", params={"limit": 0})
    assert bad.status_code == 422

    shown = orjson.loads(run_cli(db_url, "profiles", "show", "user_id:C100235", "--json"))
    assert shown["lifecycle_stage"] == "customer" and shown["holdings"] == ["current_account", "savings_junior"]
    assert {"id", "identities", "traits", "lifecycle_stage", "household", "event_count"} <= set(shown)
    assert "Profile" in run_cli(db_url, "profiles", "show", "phone:+393389998877")

    [refused] = orjson.loads(run_cli(db_url, "profiles", "conflicts", "phone:+393389998877", "--json"))
    assert refused["kind"] == "shared_device" and refused["message_id"] == "kiosk-2"
    [merge] = orjson.loads(run_cli(db_url, "profiles", "merges", "user_id:C100234", "--json"))
    undone = orjson.loads(run_cli(db_url, "profiles", "unmerge", merge["id"], "--json"))
    assert undone["restored_id"] == merge["absorbed_id"] and undone["moved_events"] == 2
    web = api.get("/v1/profiles/anonymous_id/web-77c0").json()
    assert web["id"] == merge["absorbed_id"] and web["event_count"] == 2
    assert api.get("/v1/profiles/user_id/C100234").json()["event_count"] == 9
