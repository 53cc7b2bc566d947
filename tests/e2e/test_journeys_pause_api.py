"""Pause and resume a journey over HTTP (real `bestnext serve`) and with the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server, run_cli


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    running = Server(db_url, tmp_path / "serve.log").start()
    yield running
    running.stop()


def _auth(db_url: str, role: str) -> dict[str, str]:
    created = json.loads(run_cli(db_url, "keys", "create", f"{role}-p", "--role", role, "--json"))
    return {"Authorization": f"Bearer {created['key']}"}


def test_pause_and_resume_over_http_and_cli(server: Server, db_url: str) -> None:
    marketer, agent = _auth(db_url, "marketer"), _auth(db_url, "agent")
    url = f"{server.base_url}/v1/journeys"
    assert httpx.post(f"{url}/lead/pause", headers=agent, timeout=10).status_code == 403
    missing = httpx.post(f"{url}/nope/pause", headers=marketer, timeout=10)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    paused = httpx.post(f"{url}/lead/pause", headers=marketer, timeout=10)
    assert paused.status_code == 200 and paused.json()["paused"] is True
    listed = {j["id"]: j["paused"] for j in httpx.get(url, headers=marketer, timeout=10).json()}
    assert listed["lead"] is True and listed["answer_request"] is False
    resumed = httpx.post(f"{url}/lead/resume", headers=marketer, timeout=10)
    assert resumed.status_code == 200 and resumed.json() == {**resumed.json(), "paused": False, "released": 0}
    assert json.loads(run_cli(db_url, "journeys", "pause", "lead"))["paused"] is True
    assert json.loads(run_cli(db_url, "journeys", "resume", "lead"))["paused"] is False
