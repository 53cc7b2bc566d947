"""``POST /v1/decisions`` through its ASGI lane: the decision is logged before the 201, the
route's problems (403, 422 naming the field), and a revoked API key stops working once its
cached lookup expires (a few seconds); SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bestnext.access import Role
from bestnext.access import store as keys
from bestnext.bootstrap import Container
from bestnext.clock import VirtualClock
from bestnext.decisions.lane import KEY_CACHE_SECONDS
from bestnext.decisions.tables import decisions
from bestnext.identity import services as identity
from tests.integration.console.helpers import client_for, load_scenario

PROBLEM = "application/problem+json"


def test_the_lane_logs_before_answering_and_answers_problems_like_the_route(container: Container) -> None:
    load_scenario(container, "martina")
    with container.engine.begin() as conn:
        person = identity.find_person(conn, "email", "martina.bianchi@example.org")
        key_id, agent = keys.create_key(conn, "agent", Role.AGENT, container.clock.now())
        analyst = keys.create_key(conn, "analyst", Role.ANALYST, container.clock.now())[1]
    assert person is not None
    clock = container.clock = VirtualClock(datetime(2025, 3, 4, 10, 0, tzinfo=UTC))
    client = client_for(container)
    bearer = {"Authorization": f"Bearer {agent}"}

    r = client.post("/v1/decisions", json={"person_id": person, "n": 2, "language": "en"}, headers=bearer)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["person_id"] == person and len(body["actions"]) <= 2
    with container.engine.connect() as conn:
        logged = conn.execute(select(decisions.c.person_id, decisions.c.actions)
                              .where(decisions.c.id == body["id"])).one()
    assert logged.person_id == person
    assert [a["action_id"] for a in logged.actions] == [a["action_id"] for a in body["actions"]]
    assert all(a["decision_id"] == body["id"] for a in body["actions"])

    r = client.post("/v1/decisions", json={"person_id": person}, headers={"X-API-Key": analyst})
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    r = client.post("/v1/decisions", json={"person_id": person, "n": 0}, headers=bearer)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert [e["field"] for e in r.json()["errors"]] == ["n"]
    r = client.post("/v1/decisions", content=b"{not json", headers=bearer)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    r = client.post("/v1/decisions", json={"person_id": "nobody"}, headers=bearer)
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM

    with container.engine.begin() as conn:
        keys.revoke_key(conn, key_id, clock.now())
    assert client.post("/v1/decisions", json={"person_id": person}, headers=bearer).status_code == 201  # cached
    clock.advance_to(clock.now() + timedelta(seconds=KEY_CACHE_SECONDS + 1))
    r = client.post("/v1/decisions", json={"person_id": person}, headers=bearer)
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
