"""Console login, sessions, CSRF and roles, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bestnext.access import Role, users
from bestnext.access.users_tables import console_users
from bestnext.bootstrap import Container
from bestnext.errors import Conflict, InvalidInput
from tests.integration.console.helpers import PASSWORD, client_for, csrf_of, login, make_user

HTML = {"accept": "text/html"}


def test_password_is_hashed_with_argon2_and_checked(container: Container) -> None:
    make_user(container, "luigi", Role.AGENT)
    now = container.clock.now()
    with container.engine.begin() as conn:
        stored = conn.execute(select(console_users.c.password_hash)).scalar_one()
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        assert users.authenticate(conn, "luigi", PASSWORD, now) is not None
        assert users.authenticate(conn, "LUIGI ", PASSWORD, now) is not None
        assert users.authenticate(conn, "luigi", "wrong-password", now) is None
        assert users.authenticate(conn, "nobody", PASSWORD, now) is None


def test_repeated_failures_lock_the_user_out_for_a_while(container: Container) -> None:
    make_user(container, "luigi", Role.AGENT)
    now = container.clock.now()
    with container.engine.begin() as conn:
        for _ in range(users.MAX_FAILURES):
            assert users.authenticate(conn, "luigi", "guess-guess-guess", now) is None
        assert users.authenticate(conn, "luigi", PASSWORD, now) is None  # locked, even with the password
        later = now + users.LOCKOUT + timedelta(seconds=1)
        assert users.authenticate(conn, "luigi", PASSWORD, later) is not None
        for _ in range(users.MAX_FAILURES - 1):  # a success reset the count
            assert users.authenticate(conn, "luigi", "guess-guess-guess", later) is None
        assert users.authenticate(conn, "luigi", PASSWORD, later) is not None


def test_duplicate_and_invalid_users_are_refused(container: Container) -> None:
    make_user(container, "luigi", Role.AGENT)
    with container.engine.begin() as conn:
        with pytest.raises(Conflict):
            users.create_user(conn, "luigi", Role.AGENT, PASSWORD, container.clock.now())
        with pytest.raises(InvalidInput) as err:
            users.create_user(conn, "verdi", Role.BRANCH, PASSWORD, container.clock.now())
        assert err.value.errors[0]["field"] == "branch_id"


def test_demo_users_cover_every_role_and_are_idempotent(container: Container) -> None:
    with container.engine.begin() as conn:
        first = users.create_demo_users(conn, container.clock.now())
        second = users.create_demo_users(conn, container.clock.now())
        assert first == second
        assert {role for _, _, role in first} == set(users.CONSOLE_ROLES)
        for username, password, _ in first:
            assert users.authenticate(conn, username, password, container.clock.now()) is not None


def test_console_redirects_to_login_without_a_session(container: Container) -> None:
    with client_for(container) as client:
        response = client.get("/console/search", headers=HTML)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/console/search"
        htmx = client.get("/console", headers={"hx-request": "true"})
        assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/login")


def test_login_sets_a_safe_cookie_and_logout_ends_the_session(container: Container) -> None:
    make_user(container, "luigi", Role.AGENT)
    with client_for(container) as client:
        page = client.get("/login")
        response = client.post("/login", data={"username": "luigi", "password": PASSWORD,
                                               "csrf_token": csrf_of(page.text), "next": "/console"})
        assert response.status_code == 303
        cookie = response.headers["set-cookie"].lower()
        assert "bn_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        stolen = client.cookies.get("bn_session")
        home = client.get("/console", headers=HTML)
        assert home.status_code == 200 and "Luigi" in home.text
        out = client.post("/logout", data={"csrf_token": csrf_of(home.text)})
        assert out.status_code == 303
        client.cookies.set("bn_session", stolen)  # the old cookie must not work any more
        assert client.get("/console", headers=HTML).status_code == 303


def test_wrong_password_and_missing_login_csrf_are_refused(container: Container) -> None:
    make_user(container, "luigi", Role.AGENT)
    with client_for(container) as client:
        page = client.get("/login")
        wrong = client.post("/login", data={"username": "luigi", "password": "nope-nope-nope",
                                            "csrf_token": csrf_of(page.text)})
        assert wrong.status_code == 401 and "bn_session" not in wrong.headers.get("set-cookie", "")
        forged = client.post("/login", data={"username": "luigi", "password": PASSWORD,
                                             "csrf_token": "forged"})
        assert forged.status_code == 401


def test_post_without_csrf_token_is_forbidden(container: Container) -> None:
    make_user(container, "luigi", Role.AGENT)
    with client_for(container) as client:
        login(client, "luigi")
        response = client.post("/logout", data={"csrf_token": "wrong"})
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("application/problem+json")
        assert client.get("/console", headers=HTML).status_code == 200  # still logged in


def test_session_cookie_with_a_bad_signature_is_ignored(container: Container) -> None:
    make_user(container, "luigi", Role.AGENT)
    with client_for(container) as client:
        login(client, "luigi")
        value = client.cookies.get("bn_session")
        assert value
        client.cookies.set("bn_session", value[:-2] + ("00" if not value.endswith("00") else "11"))
        assert client.get("/console", headers=HTML).status_code == 303


def test_disabling_a_user_ends_their_session(container: Container) -> None:
    make_user(container, "luigi", Role.AGENT)
    with client_for(container) as client:
        login(client, "luigi")
        with container.engine.begin() as conn:
            users.disable_user(conn, "luigi", container.clock.now())
        assert client.get("/console", headers=HTML).status_code == 303


@pytest.mark.parametrize(("role", "allowed", "denied"), [
    (Role.AGENT, "/console/queue", "/console/privacy"),
    (Role.BRANCH, "/console/branch", "/console/journeys"),
    (Role.MARKETER, "/console/journeys", "/console/search"),
    (Role.ANALYST, "/console/dashboards", "/console/catalog"),
    (Role.COMPLIANCE, "/console/privacy", "/console/journeys"),
])
def test_roles_see_their_screens_only(container: Container, role: Role, allowed: str, denied: str) -> None:
    make_user(container, "someone", role, branch="MI02" if role is Role.BRANCH else None)
    with client_for(container) as client:
        login(client, "someone")
        home = client.get("/console", headers=HTML).text
        assert f'href="{allowed}"' in home and f'href="{denied}"' not in home
        assert client.get(allowed, headers=HTML).status_code == 200
        page = client.get(denied, headers=HTML)
        assert page.status_code == 403 and "<html" in page.text
        api = client.get(denied)
        assert api.status_code == 403 and api.headers["content-type"].startswith("application/problem+json")


def test_session_is_a_principal_for_the_api(container: Container) -> None:
    make_user(container, "admin", Role.ADMIN)
    with client_for(container) as client:
        assert client.get("/metrics").status_code == 401
        login(client, "admin")
        assert client.get("/metrics").status_code == 200


def test_language_switch_is_remembered(container: Container) -> None:
    make_user(container, "luigi", Role.AGENT)
    with client_for(container) as client:
        login(client, "luigi")
        assert "Esci" in client.get("/console", headers=HTML).text
        assert "Log out" in client.get("/console?lang=en", headers=HTML).text
        assert "Log out" in client.get("/console", headers=HTML).text


def test_console_pages_carry_security_headers(container: Container) -> None:
    with client_for(container) as client:
        page = client.get("/login")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert "content-security-policy" not in client.get("/healthz").headers
