"""Search, customer 360 and the NBA panel in the console, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import select

from bestnext.access import Role, audit
from bestnext.bootstrap import Container
from bestnext.decisions.tables import decision_outcomes
from tests.integration.console.helpers import client_for, load_scenario, login, make_user

HTML = {"accept": "text/html"}
PERSON = re.compile(r'href="/console/person/([0-9a-f-]{36})"')


def test_find_martina_with_typos_and_open_her_360(container: Container) -> None:
    load_scenario(container, "martina")
    load_scenario(container, "antonio")
    make_user(container, "luigi", Role.AGENT)
    with client_for(container) as client:
        login(client, "luigi")
        for query in ("Martina Bianki", "martina.bianchi@example.org", "347 111 2233", "dmp-88af"):
            page = client.get("/console/search", params={"q": query}, headers=HTML)
            assert page.status_code == 200
            found = PERSON.findall(page.text)
            assert found, query
            assert "Martina Bianchi" in page.text, query
            assert "Antonio" not in page.text, query
        person_id = found[0]
        page = client.get(f"/console/person/{person_id}", headers=HTML).text
        assert "Martina Bianchi" in page and "martina.bianchi@example.org" in page
        assert "how much does your prepaid card cost" in page.lower()  # social text on the timeline
        assert 'data-testid="consents"' in page and "own_marketing" in page
        social = client.get(f"/console/person/{person_id}/timeline", params={"touchpoint": "social"},
                            headers={"hx-request": "true"}).text
        assert "Social Message Posted" in social and "Competitor Site Visited" not in social
    with container.engine.begin() as conn:
        reads = audit.entries(conn, person_id=person_id, action="profile.read")
        assert reads and reads[0]["principal_name"] == "luigi"


def test_unknown_person_is_404(container: Container) -> None:
    make_user(container, "luigi", Role.AGENT)
    with client_for(container) as client:
        login(client, "luigi")
        assert client.get("/console/person/nobody", headers=HTML).status_code == 404
        assert client.get("/console/person/nobody").headers["content-type"].startswith("application/problem+json")


def test_nba_panel_ranks_actions_and_records_an_accept(container: Container) -> None:
    load_scenario(container, "martina")
    make_user(container, "luigi", Role.AGENT)
    with client_for(container) as client:
        csrf = login(client, "luigi")
        person_id = PERSON.findall(client.get("/console/search", params={"q": "martina"}, headers=HTML).text)[0]
        panel = client.get(f"/console/person/{person_id}/nba", headers={"hx-request": "true"})
        assert panel.status_code == 200
        forms = re.findall(r'action="(/console/person/[^"]+/nba/([^/"]+)/([^"]+))"', panel.text)
        assert forms, panel.text
        url, decision_id, action_id = forms[0]
        assert client.post(url, data={"response": "accept"}).status_code == 403  # no CSRF token
        done = client.post(url, data={"response": "accept", "csrf_token": csrf}, headers={"hx-request": "true"})
        assert done.status_code == 200 and "accepted" in done.text
    with container.engine.begin() as conn:
        rows = conn.execute(select(decision_outcomes.c.action_id, decision_outcomes.c.outcome)
                            .where(decision_outcomes.c.decision_id == decision_id)).all()
        assert [(r.action_id, r.outcome) for r in rows] == [(action_id, "accepted")]


def test_admin_unmerges_a_wrong_merge_and_others_may_not(container: Container) -> None:
    from bestnext.identity import services as identity
    from bestnext.identity.tables import identity_merges

    load_scenario(container, "rossi")
    with container.engine.begin() as conn:
        merge = conn.execute(select(identity_merges)).mappings().first()
    assert merge is not None, "the Rossi history merges two profiles"
    make_user(container, "admin", Role.ADMIN)
    make_user(container, "compliance", Role.COMPLIANCE)
    url = f"/console/person/{merge['survivor_id']}/unmerge/{merge['id']}"
    with client_for(container) as client:
        csrf = login(client, "compliance")
        page = client.get(f"/console/person/{merge['survivor_id']}", headers=HTML).text
        assert url not in page
        assert client.post(url, data={"csrf_token": csrf}).status_code == 403
    with client_for(container) as client:
        csrf = login(client, "admin")
        page = client.get(f"/console/person/{merge['survivor_id']}", headers=HTML).text
        assert url in page
        done = client.post(url, data={"csrf_token": csrf})
        assert done.status_code == 303 and done.headers["location"] == f"/console/person/{merge['absorbed_id']}"
        restored = client.get(done.headers["location"], headers=HTML)
        assert restored.status_code == 200
        assert client.post(url, data={"csrf_token": csrf}).status_code == 409  # already undone
    with container.engine.begin() as conn:
        assert identity.current_person(conn, merge["absorbed_id"]) == merge["absorbed_id"]
        assert audit.entries(conn, action="person.unmerge")


def test_agent_records_a_consent_the_person_states_on_the_phone(container: Container) -> None:
    from bestnext.consent import services as consent

    load_scenario(container, "martina")
    make_user(container, "luigi", Role.AGENT)
    with client_for(container) as client:
        csrf = login(client, "luigi")
        person_id = PERSON.findall(client.get("/console/search", params={"q": "martina"}, headers=HTML).text)[0]
        url = f"/console/person/{person_id}/consents"
        assert f'action="{url}"' in client.get(f"/console/person/{person_id}", headers=HTML).text
        assert client.post(url, data={"purpose": "own_marketing", "granted": "false"}).status_code == 403
        bad = client.post(url, data={"csrf_token": csrf, "purpose": "spam", "granted": "false"})
        assert bad.status_code == 422
        done = client.post(url, data={"csrf_token": csrf, "purpose": "own_marketing", "granted": "false"})
        assert done.status_code == 303
    with container.engine.begin() as conn:
        shown = consent.show(conn, person_id)
        assert shown["current"]["own_marketing"] is False
        last = shown["history"][-1]
        assert (last["purpose"], last["granted"], last["operator"], last["touchpoint"]) == \
            ("own_marketing", False, "luigi", "call_center")
