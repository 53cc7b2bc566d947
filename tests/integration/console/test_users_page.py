"""Administrators manage console users in the console."""

from __future__ import annotations

from bestnext.access import Role
from bestnext.bootstrap import Container
from tests.integration.console.helpers import client_for, login, make_user

HTML = {"accept": "text/html"}


def test_admin_creates_and_disables_a_user(container: Container) -> None:
    make_user(container, "admin", Role.ADMIN)
    with client_for(container) as admin:
        csrf = login(admin, "admin")
        created = admin.post("/console/users", data={
            "csrf_token": csrf, "username": "gaia", "role": "branch", "branch_id": "MI01",
            "display_name": "Gaia", "password": "a-long-password-1"})
        assert created.status_code == 303
        bad = admin.post("/console/users", data={"csrf_token": csrf, "username": "x y", "role": "agent",
                                                 "password": "short"})
        assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} >= {"username", "password"}
        with client_for(container) as gaia:
            login(gaia, "gaia", "a-long-password-1")
            assert gaia.get("/console/branch", headers=HTML).status_code == 200
            assert gaia.get("/console/users", headers=HTML).status_code == 403
            assert admin.post("/console/users/gaia/disable", data={"csrf_token": csrf}).status_code == 303
            assert gaia.get("/console/branch", headers=HTML).status_code == 303  # session ended
        page = admin.get("/console/users", headers=HTML).text
        assert "gaia" in page and "Disattivato" in page
        assert admin.post("/console/users/admin/disable", data={"csrf_token": csrf}).status_code == 422
