"""Every route of the app, called with every role: the permission matrix is what the API enforces.

401 without a key, 403 for a role the matrix leaves out, anything but 401/403 for a role it
lets in. Routes guarded by ``require(Permission...)`` are checked against ``access.permissions``
itself; a route with no guard must be public (``PUBLIC_ROUTES``) or authenticate another way
(401 without credentials); console pages must carry a permission guard.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bestnext.access import Role, users
from bestnext.access import store as keys
from bestnext.access.permissions import MATRIX, PUBLIC_ROUTES, Permission, roles_for
from bestnext.api.app import create_app
from bestnext.bootstrap import Container, build
from bestnext.console.session import COOKIE, CSRF_HEADER, sign
from bestnext.settings import Settings

ROLES = tuple(Role)


def route_contexts(app: Any) -> Iterator[tuple[str, set[str], Any]]:
    """(path, methods, dependant) of every HTTP route, included routers flattened."""
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                if ctx.dependant is not None:
                    yield ctx.path, set(ctx.methods or ()), ctx.dependant
        elif getattr(route, "dependant", None) is not None:
            yield route.path, set(route.methods or ()), route.dependant


def guards(dependant: Any) -> list[Any]:
    found = []
    for dep in dependant.dependencies:
        if hasattr(dep.call, "allowed_roles"):
            found.append(dep.call)
        found += guards(dep)
    return found


def console_permissions(dependant: Any) -> list[tuple[Permission, ...]]:
    """Permissions a console guard closes over (``console.session.permitted``)."""
    found = []
    for dep in dependant.dependencies:
        for cell in getattr(dep.call, "__closure__", None) or ():
            value = cell.cell_contents
            if isinstance(value, tuple) and value and all(isinstance(p, Permission) for p in value):
                found.append(value)
        found += console_permissions(dep)
    return found


def expected_roles(guard: Any) -> frozenset[Role]:
    if guard.permissions:  # from the matrix itself, not from what the guard computed
        return frozenset.intersection(*(roles_for(p) for p in guard.permissions))
    return frozenset(guard.allowed_roles)


@pytest.fixture
def app_and_keys(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[Role, str], Container]]:
    container = build(Settings(database_url=sqlite_url, environment="test", var_dir=tmp_path,
                               log_file=tmp_path / "bestnext.log", run_workers=False))
    with container.engine.begin() as conn:
        secrets = {role: keys.create_key(conn, f"matrix {role.value}", role, container.clock.now())[1]
                   for role in ROLES}
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        yield client, secrets, container
    container.dispose()


def call(client: TestClient, method: str, path: str, secret: str | None) -> int:
    url = re.sub(r"\{[^}]+\}", "x", path)
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    kwargs: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, url, headers=headers, follow_redirects=False, **kwargs).status_code


def test_every_permission_is_in_the_matrix() -> None:
    assert set(MATRIX) == set(Permission)
    assert all(Role.ADMIN in roles_for(p) for p in Permission)
    assert Role.SOURCE not in roles_for(Permission.PROFILES_READ)


def test_every_route_enforces_the_matrix_for_every_role(
        app_and_keys: tuple[TestClient, dict[Role, str], Container]) -> None:
    client, secrets, container = app_and_keys
    wrong: list[str] = []
    checked = 0
    legacy: list[str] = []
    for path, methods, dependant in route_contexts(client.app):
        found = guards(dependant)
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            label = f"{method} {path}"
            if path in PUBLIC_ROUTES or console_permissions(dependant):
                continue
            anonymous = call(client, method, path, None)
            if not found:
                if anonymous not in (401, 303):  # 303: a console page sends to the login form
                    wrong.append(f"{label}: no permission guard and {anonymous} without credentials")
                continue
            if anonymous != 401:
                wrong.append(f"{label}: {anonymous} without a key")
            if not any(g.permissions for g in found):
                legacy.append(label)
            allowed = frozenset.intersection(*(expected_roles(g) for g in found))
            for role in ROLES:
                status = call(client, method, path, secrets[role])
                checked += 1
                if role in allowed and status in (401, 403):
                    wrong.append(f"{label} as {role.value}: {status}, the matrix allows it")
                if role not in allowed and status != 403:
                    wrong.append(f"{label} as {role.value}: {status}, the matrix forbids it")
    assert checked >= 5 * len(ROLES), "the walk must reach the consent, privacy and audit routes"
    assert wrong == [], "\n".join(wrong)
    assert legacy == [], "routes guarded by roles instead of access.permissions: " + ", ".join(legacy)


def console_cookie(container: Container, role: Role) -> tuple[dict[str, str], dict[str, str]]:
    """A logged-in console session for ``role``: (cookies, headers with its CSRF token)."""
    with container.engine.begin() as conn:
        user = users.create_user(conn, f"walk-{role.value}", role, "correct-horse-battery",
                                 container.clock.now(), branch_id="MI02" if role is Role.BRANCH else None)
        session = users.start_session(conn, user, container.clock.now())
    return ({COOKIE: sign(session.id, container.settings.secret_key)}, {CSRF_HEADER: session.csrf_token})


def test_every_console_page_enforces_the_matrix_for_every_role(
        app_and_keys: tuple[TestClient, dict[Role, str], Container]) -> None:
    client, _secrets, container = app_and_keys
    sessions = {role: console_cookie(container, role) for role in ROLES if role is not Role.SOURCE}
    wrong: list[str] = []
    for path, methods, dependant in route_contexts(client.app):
        needs = console_permissions(dependant)
        if not needs:
            continue
        allowed = frozenset.intersection(*(roles_for(p) for group in needs for p in group))
        url = re.sub(r"\{[^}]+\}", "x", path)
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            anonymous = client.request(method, url, follow_redirects=False).status_code
            if anonymous not in (303, 401, 403):
                wrong.append(f"{method} {path} without a session: {anonymous}")
            for role, (cookies, headers) in sessions.items():
                client.cookies.clear()
                status = client.request(method, url, cookies=cookies, headers=headers,
                                        follow_redirects=False).status_code
                if role in allowed and status in (401, 403):
                    wrong.append(f"{method} {path} as {role.value}: {status}, the matrix allows it")
                if role not in allowed and status != 403:
                    wrong.append(f"{method} {path} as {role.value}: {status}, the matrix forbids it")
    client.cookies.clear()
    assert wrong == [], "\n".join(wrong)
