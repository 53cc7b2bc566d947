"""The profiles API through the permission matrix: every read audited, analysts and marketers
see pseudonymised profiles, problems never echo identifiers; the browser-SDK settings route
authenticates its write key (both databases)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bestnext.access import Role, audit
from bestnext.access import store as keys
from bestnext.api.app import create_app
from bestnext.bootstrap import Container
from bestnext.ingest import services as ingest

EMAIL = "gaia.rossi@example.org"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    container.settings.run_workers = False
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        yield client


def _send(client: TestClient, container: Container) -> str:
    with container.engine.begin() as conn:
        _source, write_key = ingest.create_source(conn, "website", "web", container.clock.now())
    message = {"type": "identify", "userId": "C200001", "messageId": "id-1",
               "timestamp": "2025-02-21T11:35:00+01:00",
               "traits": {"email": EMAIL, "first_name": "Gaia", "phone": "+393471112233"}}
    auth = {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}
    assert client.post("/v1/batch", json={"batch": [message]}, headers=auth).status_code == 200
    container.pipeline.run_until_idle()
    return write_key


def _bearer(container: Container, role: Role) -> dict[str, str]:
    with container.engine.begin() as conn:
        _id, secret = keys.create_key(conn, f"k-{role.value}", role, container.clock.now())
    return {"Authorization": f"Bearer {secret}", "X-Purpose": f"test as {role.value}"}


def test_profile_reads_are_audited_and_pseudonymised_for_analysts(client: TestClient,
                                                                  container: Container) -> None:
    _send(client, container)
    agent = client.get(f"/v1/profiles/email/{EMAIL}", headers=_bearer(container, Role.AGENT))
    assert agent.status_code == 200 and {"type": "email", "value": EMAIL} in agent.json()["identities"]
    assert agent.json()["traits"]["first_name"] == "Gaia"
    person_id = agent.json()["id"]

    for role in (Role.ANALYST, Role.MARKETER):
        seen = client.get(f"/v1/profiles/email/{EMAIL}", headers=_bearer(container, role))
        assert seen.status_code == 200, seen.text
        assert EMAIL not in seen.text and "Gaia" not in seen.text and "3471112233" not in seen.text
        assert seen.json()["id"] != person_id and seen.json()["event_count"] == 1
        assert {i["type"] for i in seen.json()["identities"]} >= {"email", "user_id", "phone"}

    events = client.get(f"/v1/profiles/{person_id}/events", headers=_bearer(container, Role.ANALYST))
    assert events.status_code == 200 and events.json()["total"] == 1 and EMAIL not in events.text
    assert client.get(f"/v1/profiles/{person_id}/events",
                      headers=_bearer(container, Role.SOURCE)).status_code == 403

    with container.engine.connect() as conn:
        trail = audit.entries(conn, person_id=person_id, action="profile.read")
    assert [(e["role"], e["purpose"]) for e in reversed(trail)] == [
        ("agent", "test as agent"), ("analyst", "test as analyst"), ("marketer", "test as marketer"),
        ("analyst", "test as analyst")]


def test_problems_name_the_route_not_the_identifier(client: TestClient, container: Container) -> None:
    missing = client.get("/v1/profiles/email/nobody.here@example.org", headers=_bearer(container, Role.AGENT))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["instance"] == "/v1/profiles/{id_type}/{value}"
    assert "nobody" not in missing.text


def test_browser_settings_need_a_live_write_key(client: TestClient, container: Container) -> None:
    write_key = _send(client, container)
    assert client.get(f"/v1/projects/{write_key}/settings").status_code == 200
    unknown = client.get("/v1/projects/wk_not_a_key/settings")
    assert unknown.status_code == 404 and "wk_not_a_key" not in unknown.text
    assert unknown.json()["instance"] == "/v1/projects/{write_key}/settings"
    with container.engine.begin() as conn:
        revoked, revoked_key = ingest.create_source(conn, "old site", "web", container.clock.now())
        ingest.revoke_source(conn, revoked.id, container.clock.now())
    assert client.get(f"/v1/projects/{revoked_key}/settings").status_code == 404
