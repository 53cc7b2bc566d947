"""Call-center queue and branch briefings in the console, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bestnext.access import Role
from bestnext.bootstrap import Container
from bestnext.channels import branch, calls
from bestnext.eventlog.tables import events
from tests.integration.console.helpers import client_for, login, make_user

HTML = {"accept": "text/html"}


def _task(container: Container, person_id: str = "p-1") -> str:
    now = container.clock.now()
    with container.engine.begin() as conn:
        return calls.create(
            conn, person_id=person_id, queue="call_center", priority=1, due_at=now + timedelta(minutes=5),
            escalate_after=timedelta(minutes=30), purpose="marketing", action="offer_prepaid_card",
            product="prepaid_card", offer="first_year_free", reason="lead going quiet",
            context={"signals": ["Competitor Site Visited"]},
            script=calls.script_for("marketing", "We are giving you the first year free.", True,
                                    "prepaid_card", "first_year_free"), now=now)


def test_agent_claims_a_task_and_records_the_outcome(container: Container) -> None:
    task_id = _task(container)
    make_user(container, "luigi", Role.AGENT)
    with client_for(container) as client:
        csrf = login(client, "luigi")
        home = client.get("/console", headers=HTML).text
        assert 'data-testid="summary"' in home and "Chiamate da fare: <strong>1</strong>" in home
        listing = client.get("/console/queue/list", headers={"hx-request": "true"})
        assert "offer_prepaid_card" in listing.text and f"/console/queue/{task_id}/claim" in listing.text
        version = re.search(r"/console/queue/list\?v=([0-9a-f]{16})", listing.text)
        assert version
        unchanged = client.get(f"/console/queue/list?v={version.group(1)}", headers={"hx-request": "true"})
        assert unchanged.status_code == 204  # nothing to swap: the operator keeps their focus
        forged = client.post(f"/console/queue/{task_id}/claim", data={"csrf_token": "x"})
        assert forged.status_code == 403
        claimed = client.post(f"/console/queue/{task_id}/claim", data={"csrf_token": csrf})
        assert claimed.status_code == 303
        changed = client.get(f"/console/queue/list?v={version.group(1)}", headers={"hx-request": "true"})
        assert changed.status_code == 200 and "claimed" in changed.text
        page = client.get(f"/console/queue/{task_id}", headers=HTML).text
        assert "first year free" in page and 'name="outcome"' in page
        done = client.post(f"/console/queue/{task_id}/outcome", data={"csrf_token": csrf, "outcome": "accepted"})
        assert done.status_code == 303
        bad = client.post(f"/console/queue/{task_id}/outcome", data={"csrf_token": csrf, "outcome": "maybe"})
        assert bad.status_code == 422
    with container.engine.begin() as conn:
        task = calls.get(conn, task_id)
        assert (task.status, task.outcome, task.operator) == ("done", "accepted", "luigi")
        names = conn.execute(select(events.c.event).where(events.c.person_id == "p-1")).scalars().all()
        assert "Call Completed" in names


def test_second_operator_cannot_claim_a_claimed_task(container: Container) -> None:
    task_id = _task(container)
    make_user(container, "luigi", Role.AGENT)
    make_user(container, "isabella", Role.AGENT)
    with client_for(container) as first, client_for(container) as second:
        assert first.post(f"/console/queue/{task_id}/claim", data={"csrf_token": login(first, "luigi")}).status_code == 303
        response = second.post(f"/console/queue/{task_id}/claim", data={"csrf_token": login(second, "isabella")})
        assert response.status_code == 409


def test_branch_user_sees_the_briefings_of_their_branch_only(container: Container) -> None:
    now = container.clock.now()
    with container.engine.begin() as conn:
        for b in ("MI01", "MI02"):
            branch.create(conn, person_id=f"p-{b}", branch=b, advisor="Mr Verdi" if b == "MI02" else None,
                          expected_from=now, expected_until=now + timedelta(days=5),
                          briefing={"propose": {"action": "offer_pension_fund", "product": "pension_fund",
                                                "offer": f"gift-{b}"}, "why": "pension simulation"}, now=now)
    make_user(container, "verdi", Role.BRANCH, branch="MI02")
    with client_for(container) as client:
        login(client, "verdi")
        page = client.get("/console/branch?branch=MI01", headers=HTML).text
        assert "gift-MI02" in page and "gift-MI01" not in page and "Mr Verdi" in page
