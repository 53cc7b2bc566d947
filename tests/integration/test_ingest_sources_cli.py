"""`bestnext sources create|list|revoke` as a user runs them, on both databases."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient

from bestnext.api.app import create_app
from bestnext.bootstrap import Container
from bestnext.ingest import store
from tests.support.server import run_cli


def test_create_list_revoke(db_url: str, container: Container) -> None:
    created = orjson.loads(run_cli(db_url, "sources", "create", "website", "--touchpoint", "web", "--json"))
    assert list(created) == ["id", "name", "touchpoint", "write_key"]
    assert (created["name"], created["touchpoint"]) == ("website", "web")
    listing = run_cli(db_url, "sources", "list", "--json")
    assert created["id"] in listing and created["write_key"] not in listing
    with container.engine.connect() as conn:
        assert store.find_by_key(conn, created["write_key"]) is not None  # only its hash is stored
        stored_hashes = [r[0] for r in conn.exec_driver_sql("SELECT write_key_hash FROM sources")]
    assert created["write_key"] not in stored_hashes
    run_cli(db_url, "sources", "revoke", created["id"])
    with container.engine.connect() as conn:
        assert store.find_by_key(conn, created["write_key"]) is None


def test_openapi_documents_the_collection_api(container: Container) -> None:
    spec = TestClient(create_app(container)).get("/openapi.json").json()
    assert {"/v1/batch", "/v1/track", "/v1/identify", "/v1/events"} <= set(spec["paths"])
    assert "userid" in spec["paths"]["/v1/events"]["post"]["description"]
