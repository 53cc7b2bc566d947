"""Helpers for console tests: an in-process app on the test container, logged-in clients."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from bestnext.access import Role, users
from bestnext.api.app import create_app
from bestnext.bootstrap import Container

PASSWORD = "correct-horse-battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def client_for(container: Container) -> TestClient:
    container.settings.run_workers = False
    return TestClient(create_app(container), follow_redirects=False)


def make_user(container: Container, username: str, role: Role, branch: str | None = None) -> None:
    with container.engine.begin() as conn:
        users.create_user(conn, username, role, PASSWORD, container.clock.now(), branch_id=branch,
                          display_name=username.title())


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_of(page.text), "next": "/console"})
    assert response.status_code == 303, response.text
    home = client.get("/console", headers={"accept": "text/html"})
    assert home.status_code == 200
    return csrf_of(home.text)


SCENARIOS = Path("/work/shared/scenarios")


def load_scenario(container: Container, name: str) -> None:
    """Ingest a seed history (``martina``, ``antonio``, ``rossi``) and run the processors."""
    from bestnext.ingest import services as ingest

    messages = [json.loads(line) for line in (SCENARIOS / f"{name}.jsonl").read_text().splitlines() if line.strip()]
    now = container.clock.now()
    with container.engine.begin() as conn:
        source = ingest.ensure_source(conn, "scenarios", "web", now)
        result = ingest.accept(conn, source, messages, now)
        assert not result.errors, result.errors
    container.pipeline.run_until_idle()
