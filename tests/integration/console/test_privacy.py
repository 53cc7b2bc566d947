"""Privacy center: consent history, DSAR export, erasure with confirmation, audit log."""

from __future__ import annotations

import re

from bestnext.access import Role
from bestnext.bootstrap import Container
from tests.integration.console.helpers import client_for, load_scenario, login, make_user

HTML = {"accept": "text/html"}


def test_compliance_exports_and_erases_martina(container: Container) -> None:
    load_scenario(container, "martina")
    make_user(container, "compliance", Role.COMPLIANCE)
    with client_for(container) as client:
        csrf = login(client, "compliance")
        found = client.get("/console/privacy", params={"q": "martina bianchi"}, headers=HTML).text
        person_id = re.findall(r'href="/console/privacy/person/([0-9a-f-]{36})"', found)[0]
        page = client.get(f"/console/privacy/person/{person_id}", headers=HTML).text
        assert "own_marketing" in page and "martina-02" in page  # consent history with its message
        export = client.get(f"/console/privacy/person/{person_id}/export")
        assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
        assert "martina.bianchi@example.org" in export.text
        wrong = client.post(f"/console/privacy/person/{person_id}/erase", data={"csrf_token": csrf, "confirm": "nope"})
        assert wrong.status_code == 422
        done = client.post(f"/console/privacy/person/{person_id}/erase",
                           data={"csrf_token": csrf, "confirm": person_id[:8]}, headers=HTML)
        assert done.status_code == 200 and 'data-testid="erased"' in done.text
        again = client.get("/console/privacy", params={"q": "martina bianchi"}, headers=HTML).text
        assert person_id not in again.split("audit")[0]
        log = client.get("/console/privacy", params={"action": "privacy.erase"}, headers=HTML).text
        assert person_id[:8] in log and "compliance" in log


def test_agent_may_not_export_or_erase(container: Container) -> None:
    make_user(container, "luigi", Role.AGENT)
    with client_for(container) as client:
        csrf = login(client, "luigi")
        assert client.get("/console/privacy/person/x/export").status_code == 403
        assert client.post("/console/privacy/person/x/erase", data={"csrf_token": csrf, "confirm": "x"}).status_code == 403
