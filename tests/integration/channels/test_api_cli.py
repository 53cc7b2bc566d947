"""The channels API (cases, call tasks, briefings, outbox status, generic webhook, metrics) over
real HTTP, and the CLI commands, on both databases."""

from __future__ import annotations

import time

import httpx
import orjson

from bestnext.access import Role
from bestnext.access import store as keys
from bestnext.bootstrap import Container
from bestnext.channels import outbox
from bestnext.channels.model import OutboundAction, Status
from bestnext.channels.signatures import generic_signature
from bestnext.channels.wiring import dispatcher
from bestnext.consent import services as consent
from bestnext.consent.model import Source
from bestnext.eventlog import store as log
from tests.integration.channels.conftest import T0
from tests.support.live_app import LiveApp
from tests.support.server import run_cli


def key(container: Container, role: Role) -> dict[str, str]:
    with container.engine.begin() as conn:
        _id, secret = keys.create_key(conn, role.value, role, T0)
    return {"Authorization": f"Bearer {secret}"}


def test_cases_tasks_briefings_and_status_over_http(vcontainer: Container) -> None:
    with vcontainer.engine.begin() as conn:
        consent.record(conn, "p-1", {"personal_data": True, "own_marketing": True}, Source("branch"), T0)
        outbox.enqueue(conn, call := OutboundAction(
            person_id="p-1", channel="call_center", purpose="service", action="recontact_failed_operation",
            due_at=T0, text="Ciao Giorgio, ti chiamo per il tuo messaggio."))
        outbox.enqueue(conn, visit := OutboundAction(
            person_id="p-1", channel="branch", purpose="service", action="answer_request", due_at=T0,
            assignee="MI01", text="Giorgio passa in filiale per il token."))
    dispatcher(vcontainer, chosen={}).run_until_idle()
    agent, marketer, analyst = (key(vcontainer, r) for r in (Role.AGENT, Role.MARKETER, Role.ANALYST))
    with LiveApp(vcontainer) as app, httpx.Client(base_url=app.base_url) as http:
        opened = http.post("/v1/cases", json={"person_id": "p-1", "type": "token_shipment", "based_on": ["m1"]},
                           headers=agent)
        assert opened.status_code == 201, opened.text
        case = opened.json()
        assert (case["team"], case["status"], case["opened_by"]) == ("operations", "open", "agent")
        bad = http.post("/v1/cases", json={"person_id": "p-1", "type": "nope"}, headers=agent)
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        assert http.get("/v1/cases", params={"status": "open"}, headers=agent).json()[0]["id"] == case["id"]
        assert http.get("/v1/tasks", headers=marketer).status_code == 403
        [task] = http.get("/v1/tasks", params={"queue": "call_center"}, headers=agent).json()
        assert task["action_id"] == call.id and task["script"][0]["step"] == "service"
        assert http.post(f"/v1/tasks/{task['id']}/claim", json={"operator": "luigi"}, headers=agent).status_code == 200
        taken = http.post(f"/v1/tasks/{task['id']}/claim", json={"operator": "isabella"}, headers=agent)
        assert taken.status_code == 409
        done = http.post(f"/v1/tasks/{task['id']}/outcome", json={"outcome": "complaint"}, headers=agent)
        assert done.status_code == 200 and done.json()["outcome"] == "complaint"
        assert http.post(f"/v1/tasks/{task['id']}/outcome", json={"outcome": "maybe"},
                         headers=agent).status_code == 422
        [brief] = http.get("/v1/branches/MI01/briefings", headers=agent).json()
        assert brief["advisor"] == "Ms Bianchi" and brief["briefing"]["why"].startswith("Giorgio")
        status = http.get("/v1/outbox/status", headers=analyst).json()
        assert status["depth"] == 0 and status["by_channel"]["call_center"] == {"sent": 1}
        assert "bestnext_outbox_depth" in http.get("/metrics", headers=analyst).text
        types = {c["type"] for c in http.get("/v1/cases", headers=agent).json()}
        assert types == {"token_shipment", "complaint"}  # the complaint opened a case
    with vcontainer.engine.begin() as conn:
        names = [e.event for e in log.events_of(conn, "p-1")]
    assert {"Call Task Created", "Branch Briefing Created", "Call Completed"} <= set(names)
    with vcontainer.engine.begin() as conn:
        assert outbox.get(conn, visit.id).status is Status.SENT  # type: ignore[union-attr]


def test_generic_signed_webhook(vcontainer: Container) -> None:
    from bestnext.channels.config import channels_config

    cfg = channels_config(vcontainer.settings.config_dir)
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, push := OutboundAction(person_id="p-2", channel="push", purpose="service",
                                                    action="answer_request", due_at=T0, text="x"))
    import os

    os.environ[cfg.inbound_secret_env or ""] = "hook-secret"
    try:
        with LiveApp(vcontainer) as app:
            body = orjson.dumps({"id": "evt-1", "action_id": push.id, "event": "Push Opened"})
            stamp = str(int(time.time()))
            good = {"X-Bestnext-Timestamp": stamp, "X-Bestnext-Signature": generic_signature(stamp, body, "hook-secret")}
            hook = f"{app.base_url}/v1/webhooks/generic"
            assert httpx.post(hook, content=body, headers={**good, "X-Bestnext-Signature": "sha256=0"}).status_code == 401
            vcontainer.clock.advance_to(T0.fromtimestamp(int(stamp), T0.tzinfo))  # type: ignore[attr-defined]
            assert httpx.post(hook, content=body, headers=good).json() == {"accepted": True}
            assert httpx.post(hook, content=body, headers=good).json() == {"accepted": False}  # deduplicated
    finally:
        os.environ.pop(cfg.inbound_secret_env or "", None)
    with vcontainer.engine.begin() as conn:
        assert [e.event for e in log.events_of(conn, "p-2")] == ["Push Opened"]


def test_cli_status_redrive_tasks_and_cases(vcontainer: Container) -> None:
    url = vcontainer.settings.database_url
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, dead := OutboundAction(person_id="p-3", channel="push", purpose="service",
                                                    action="answer_request", due_at=T0, text="x"))
    d = dispatcher(vcontainer, chosen={})  # no provider for push: dead letter
    d.run_until_idle()
    status = orjson.loads(run_cli(url, "outbox", "status", "--json"))
    assert status["by_channel"] == {"push": {"dead": 1}} and status["depth"] == 0
    assert status["failed_attempts"] == {"push": 1}
    assert "redriven: 1" in run_cli(url, "outbox", "redrive", "--all-dead")
    with vcontainer.engine.begin() as conn:
        row = outbox.get(conn, dead.id)
    assert row is not None and row.status is Status.PENDING
    assert orjson.loads(run_cli(url, "tasks", "list")) == []
    assert orjson.loads(run_cli(url, "cases", "list", "--status", "open")) == []
