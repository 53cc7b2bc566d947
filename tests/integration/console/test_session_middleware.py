"""The console session middleware (pure ASGI): a browser session reaches the `/v1` API,
a cross-site POST without the CSRF token does not, pages get their security headers and
requests without the cookie (ingest) pass straight through; SQLite and PostgreSQL."""

from __future__ import annotations

from starlette.middleware.base import BaseHTTPMiddleware

from bestnext.access import Role
from bestnext.bootstrap import Container
from bestnext.console.session import CSRF_HEADER, PAGE_HEADERS, SessionMiddleware
from bestnext.ingest import services as ingest
from tests.integration.console.helpers import client_for, load_scenario, login, make_user


def test_session_backed_api_access_and_csrf(container: Container) -> None:
    load_scenario(container, "martina")
    make_user(container, "luigi", Role.AGENT)
    client = client_for(container)
    assert client.get("/v1/profiles/email/martina.bianchi@example.org").status_code == 401
    csrf = login(client, "luigi")
    profile = client.get("/v1/profiles/email/martina.bianchi@example.org")
    assert profile.status_code == 200 and profile.json()["event_count"] >= 1
    assert client.post("/v1/decisions", json={}).status_code == 401  # no CSRF token: no principal
    assert client.post("/v1/decisions", json={}, headers={CSRF_HEADER: "forged"}).status_code == 401
    assert client.post("/v1/decisions", json={}, headers={CSRF_HEADER: csrf}).status_code == 422


def test_page_headers_only_on_console_pages_and_ingest_untouched(container: Container) -> None:
    client = client_for(container)
    page = client.get("/login")
    assert all(page.headers[name] == value for name, value in PAGE_HEADERS.items())
    with container.engine.begin() as conn:
        _source, key = ingest.create_source(conn, "site", "web", container.clock.now())
    sent = client.post("/v1/track", auth=(key, ""), json={"event": "Page Viewed", "anonymousId": "a-1",
                                                          "messageId": "m-1"})
    assert sent.status_code == 200 and "content-security-policy" not in sent.headers


def test_no_base_http_middleware_in_the_stack(container: Container) -> None:
    app = client_for(container).app
    classes = [m.cls for m in app.user_middleware]  # type: ignore[attr-defined]
    assert SessionMiddleware in classes and BaseHTTPMiddleware not in classes
