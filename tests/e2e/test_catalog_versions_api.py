"""Catalog versions over HTTP (real `bestnext serve`) and `bestnext catalog activate FILE`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bestnext.settings import Settings
from tests.support.server import Server, run_cli


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    running = Server(db_url, tmp_path / "serve.log").start()
    yield running
    running.stop()


def _auth(db_url: str, role: str) -> dict[str, str]:
    created = json.loads(run_cli(db_url, "keys", "create", f"{role}-c", "--role", role, "--json"))
    return {"Authorization": f"Bearer {created['key']}"}


def _catalog(version: str) -> str:
    text = (Settings().config_dir / "catalog.yaml").read_text(encoding="utf-8")
    return "\n".join(f"version: {version}" if line.startswith("version:") else line
                     for line in text.splitlines()) + "\n"


def test_submit_activate_and_list(server: Server, db_url: str, tmp_path: Path) -> None:
    marketer, agent = _auth(db_url, "marketer"), _auth(db_url, "agent")
    url = f"{server.base_url}/v1/catalog/versions"
    yaml_type = {"Content-Type": "application/yaml"}
    bad = httpx.post(url, headers={**marketer, **yaml_type}, content="version: x\nactions: 3\n", timeout=10)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["line"]
    assert httpx.post(url, headers={**agent, **yaml_type}, content=_catalog("a"), timeout=10).status_code == 403
    made = httpx.post(url, headers={**marketer, **yaml_type}, content=_catalog("http-1"), timeout=10)
    assert made.status_code == 201 and made.json()["active"] is False
    number = made.json()["number"]
    assert httpx.post(f"{url}/99/activate", headers=marketer, timeout=10).status_code == 404
    done = httpx.post(f"{url}/{number}/activate", headers=marketer, timeout=10)
    assert done.status_code == 200 and done.json()["active"] is True
    listed = httpx.get(url, headers=marketer, timeout=10).json()
    assert [(v["catalog_version"], v["active"]) for v in listed] == [("http-1", True)]
    file = tmp_path / "catalog.yaml"
    file.write_text(_catalog("cli-2"), encoding="utf-8")
    activated = json.loads(run_cli(db_url, "catalog", "activate", str(file)))
    assert activated["catalog_version"] == "cli-2" and activated["active"] is True
    listed = httpx.get(url, headers=marketer, timeout=10).json()
    assert [(v["catalog_version"], v["active"]) for v in listed] == [("cli-2", True), ("http-1", False)]
