"""The collection API on real SQLite and PostgreSQL, through FastAPI's TestClient."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from fastapi.testclient import TestClient

from bestnext.api.app import create_app
from bestnext.bootstrap import Container
from bestnext.eventlog import LoggedEvent
from bestnext.eventlog import store as eventlog
from bestnext.ingest import services


@pytest.fixture
def write_key(container: Container) -> str:
    with container.engine.begin() as conn:
        _source, key = services.create_source(conn, "website", "web", container.clock.now())
    return key


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    container.settings.run_workers = False
    yield TestClient(create_app(container))


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def logged(container: Container) -> list[LoggedEvent]:
    with container.engine.connect() as conn:
        return eventlog.read_after(conn, 0, 10_000)


def track(i: int, **extra: object) -> dict[str, object]:
    return {"type": "track", "event": "Page Scrolled", "anonymousId": f"anon-{i}",
            "messageId": f"m-{i}", "timestamp": "2025-02-21T11:35:00+01:00", **extra}


def test_batch_is_stored_once_and_resends_are_duplicates(client: TestClient, container: Container,
                                                        write_key: str) -> None:
    body = {"batch": [track(i) for i in range(3)]}
    for _ in range(2):
        response = client.post("/v1/batch", json=body, headers=basic(write_key))
        assert response.status_code == 200, response.text
        assert response.json() == {"success": True}
    events = logged(container)
    assert [e.message_id for e in events] == ["m-0", "m-1", "m-2"]
    assert events[0].touchpoint == "web"  # the source's, since context.touchpoint is absent
    assert events[0].occurred_at == datetime(2025, 2, 21, 10, 35, tzinfo=UTC)
    assert "writeKey" not in events[0].payload


def test_invalid_messages_are_named_and_the_rest_is_stored(client: TestClient, container: Container,
                                                          write_key: str) -> None:
    batch = [track(0), {"type": "track", "anonymousId": "a"}, track(2, timestamp="yesterday"),
             {"type": "alias", "userId": "u1"}, "not an object", track(5)]
    response = client.post("/v1/batch", json={"batch": batch}, headers=basic(write_key))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [
        (1, "event"), (2, "timestamp"), (3, "previousId"), (4, "")]
    assert all(e["message"] for e in errors)
    assert [e.message_id for e in logged(container)] == ["m-0", "m-5"]


def test_context_touchpoint_wins_over_the_source(client: TestClient, container: Container,
                                                 write_key: str) -> None:
    msg = track(1, context={"touchpoint": "branch"})
    assert client.post("/v1/track", json=msg, headers=basic(write_key)).status_code == 200
    assert logged(container)[0].touchpoint == "branch"


def test_sent_at_corrects_the_client_clock(client: TestClient, container: Container,
                                           write_key: str) -> None:
    now = container.clock.now()
    skewed = now + timedelta(hours=1)  # the device's clock runs one hour ahead
    msg = track(1, timestamp=(skewed - timedelta(minutes=5)).isoformat(), sentAt=skewed.isoformat())
    assert client.post("/v1/track", json=msg, headers=basic(write_key)).status_code == 200
    occurred = logged(container)[0].occurred_at
    assert abs(occurred - (now - timedelta(minutes=5))) < timedelta(seconds=30)


def test_missing_message_id_gets_a_stable_content_id(client: TestClient, container: Container,
                                                     write_key: str) -> None:
    msg = {"type": "identify", "userId": "C1", "traits": {"plan": "x"}}
    for sent in ("2025-01-01T00:00:00Z", "2025-01-01T00:00:09Z"):
        response = client.post("/v1/identify", json={**msg, "sentAt": sent}, headers=basic(write_key))
        assert response.status_code == 200
    events = logged(container)
    assert len(events) == 1 and events[0].message_id.startswith("sha256:")


def test_gzip_bodies(client: TestClient, container: Container, write_key: str) -> None:
    raw = gzip.compress(orjson.dumps({"batch": [track(i) for i in range(10)]}))
    response = client.post("/v1/batch", content=raw,
                           headers={**basic(write_key), "Content-Encoding": "gzip",
                                    "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert len(logged(container)) == 10


def test_size_limits(client: TestClient, container: Container, write_key: str) -> None:
    big = track(1, properties={"blob": "x" * (33 * 1024)})
    response = client.post("/v1/track", json=big, headers=basic(write_key))
    assert response.status_code == 413
    in_batch = client.post("/v1/batch", json={"batch": [big, track(2)]}, headers=basic(write_key))
    assert in_batch.status_code == 413
    assert in_batch.json()["errors"][0]["index"] == 0
    huge = {"batch": [track(i, properties={"blob": "y" * 20_000}) for i in range(30)]}
    assert client.post("/v1/batch", json=huge, headers=basic(write_key)).status_code == 413
    bomb = gzip.compress(b'{"batch": [' + b" " * (2 * 1024 * 1024) + b"]}")
    response = client.post("/v1/batch", content=bomb, headers={**basic(write_key), "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert [e.message_id for e in logged(container)] == ["m-2"]


def test_credentials(client: TestClient, container: Container, write_key: str) -> None:
    assert client.post("/v1/batch", json={"batch": [track(1)]}).status_code == 401
    assert client.post("/v1/batch", json={"batch": [track(1)]}, headers=basic("nope")).status_code == 401
    assert logged(container) == []


def test_revoked_key_stops_working(container: Container, write_key: str) -> None:
    with container.engine.begin() as conn:
        source = services.list_sources(conn)[0]
        services.revoke_source(conn, source.id, container.clock.now())
    response = TestClient(create_app(container)).post(
        "/v1/batch", json={"batch": [track(1)]}, headers=basic(write_key))
    assert response.status_code == 401


def test_browser_sdk_text_plain_with_write_key_in_body(client: TestClient, container: Container,
                                                       write_key: str) -> None:
    container.settings.cors_origins = ["https://www.bank.example"]
    origin = {"Origin": "https://www.bank.example", "Content-Type": "text/plain"}
    single = {**track(1), "writeKey": write_key, "sentAt": container.clock.now().isoformat()}
    response = client.post("/v1/t", content=orjson.dumps(single), headers=origin)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "https://www.bank.example"
    batched = {"writeKey": write_key, "sentAt": container.clock.now().isoformat(),
               "batch": [{**track(2), "writeKey": write_key}, {**track(3), "type": "page", "name": "Home"}]}
    assert client.post("/v1/b", content=orjson.dumps(batched), headers=origin).status_code == 200
    page = {"type": "page", "anonymousId": "a9", "messageId": "p-1", "writeKey": write_key}
    assert client.post("/v1/p", content=orjson.dumps(page), headers=origin).status_code == 200
    assert [e.type for e in logged(container)] == ["track", "track", "page", "page"]


def test_cors_preflight_and_foreign_origins(client: TestClient, container: Container, write_key: str) -> None:
    container.settings.cors_origins = ["https://www.bank.example"]
    pre = client.options("/v1/batch", headers={"Origin": "https://www.bank.example",
                                               "Access-Control-Request-Method": "POST",
                                               "Access-Control-Request-Headers": "authorization, content-type"})
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "https://www.bank.example"
    assert "POST" in pre.headers["access-control-allow-methods"]
    foreign = {"Origin": "https://evil.example"}
    assert client.options("/v1/t", headers=foreign).status_code == 403
    response = client.post("/v1/t", content=orjson.dumps({**track(1), "writeKey": write_key}), headers=foreign)
    assert response.status_code == 403
    assert logged(container) == []


def test_cloudevents_single_and_batch(client: TestClient, container: Container, write_key: str) -> None:
    one = {"specversion": "1.0", "id": "ce-1", "source": "/core-banking", "type": "Account Opened",
           "time": "2025-03-01T09:00:00Z", "userid": "C100", "touchpoint": "core_banking",
           "data": {"product": "current_account"}}
    bearer = {"Authorization": f"Bearer {write_key}"}
    response = client.post("/v1/events", content=orjson.dumps(one),
                           headers={**bearer, "Content-Type": "application/cloudevents+json"})
    assert response.status_code == 200, response.text
    batch = [{**one, "id": "ce-2"}, {**one, "id": "ce-3", "specversion": "0.3"}, {**one, "id": "ce-1"}]
    response = client.post("/v1/events", content=orjson.dumps(batch),
                           headers={**basic(write_key), "Content-Type": "application/cloudevents-batch+json"})
    assert response.status_code == 422
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "specversion")]
    events = logged(container)
    assert [e.message_id for e in events] == ["ce-1", "ce-2"]
    first = events[0]
    assert (first.event, first.user_id, first.touchpoint) == ("Account Opened", "C100", "core_banking")
    assert first.properties == {"product": "current_account"}
    assert first.context["cloudevents"]["source"] == "/core-banking"


def test_metrics_count_outcomes(client: TestClient, container: Container, write_key: str) -> None:
    from prometheus_client import REGISTRY

    before = REGISTRY.get_sample_value("bestnext_ingest_messages_total", {"outcome": "duplicate"}) or 0
    for _ in range(2):
        client.post("/v1/batch", json={"batch": [track(1)]}, headers=basic(write_key))
    after = REGISTRY.get_sample_value("bestnext_ingest_messages_total", {"outcome": "duplicate"})
    assert after == before + 1


def test_browser_sdk_settings_point_it_at_this_server(client: TestClient, container: Container,
                                                      write_key: str) -> None:
    container.settings.cors_origins = ["https://www.bank.example"]
    response = client.get(f"/v1/projects/{write_key}/settings",
                          headers={"Origin": "https://www.bank.example", "Host": "cdp.bank.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://www.bank.example"
    segment = response.json()["integrations"]["Segment.io"]
    assert (segment["apiKey"], segment["apiHost"]) == (write_key, "cdp.bank.example/v1")
    assert client.get("/v1/projects/unknown/settings").status_code == 404
