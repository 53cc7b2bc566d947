"""A consent change sent with the real Segment client to a running `bestnext serve` takes
effect on the next `may()` and the next decision; and the server's log holds no PII or secrets."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from segment.analytics.client import Client as SegmentClient

from tests.support.server import Server, run_cli

EMAIL, PHONE, NAME, SURNAME = "elena.conti@example.org", "+393481234567", "Elena", "Contissima"
PURPOSES = {"personal_data": True, "sensitive_data": False, "satisfaction_survey": False, "own_marketing": True,
            "third_party_marketing": False, "transfer_to_third_parties": False, "profiling": True}


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    srv = Server(db_url, tmp_path / "server.log").start()
    yield srv
    srv.stop()


def api_key(db_url: str, role: str) -> str:
    return str(orjson.loads(run_cli(db_url, "keys", "create", f"e2e {role}", "--role", role, "--json"))["key"])


def eventually(probe: Callable[[], Any], ok: Callable[[Any], bool], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def send_consents(client: SegmentClient, purposes: dict[str, bool], message_id: str) -> None:
    client.track(user_id="C900001", event="Consent Preferences Updated", message_id=message_id,
                 properties={"purposes": purposes, "collected_by": "web", "legal_text_version": "2025-01"},
                 context={"consent": {"categoryPreferences": purposes}, "touchpoint": "web"},
                 timestamp=datetime.now(UTC))


def test_a_withdrawal_sent_with_segment_takes_effect_on_the_next_decision(server: Server, db_url: str) -> None:
    write_key = str(orjson.loads(run_cli(db_url, "sources", "create", "site", "--touchpoint", "web", "--json"))
                    ["write_key"])
    agent, compliance = api_key(db_url, "agent"), api_key(db_url, "compliance")
    errors: list[object] = []
    client = SegmentClient(write_key, host=server.base_url, sync_mode=True, max_retries=0,
                           on_error=lambda e, _b: errors.append(e))
    client.identify(user_id="C900001", message_id="e2e-1", timestamp=datetime.now(UTC),
                    traits={"email": EMAIL, "phone": PHONE, "first_name": NAME, "last_name": SURNAME, "age": 30})
    client.track(user_id="C900001", event="Form Submitted", message_id="e2e-2", timestamp=datetime.now(UTC),
                 properties={"form": "information_request", "product": "prepaid_card"})
    send_consents(client, PURPOSES, "e2e-3")
    http = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {agent}"}, timeout=30)

    def may_market() -> bool:
        r = http.get("/v1/consents/user_id/C900001/may", params={"use": "marketing", "channel": "email"})
        return r.status_code == 200 and bool(r.json()["allowed"])

    assert eventually(may_market, bool), "the granted consent never reached may()"
    person = http.get("/v1/consents/user_id/C900001", headers={"X-Purpose": "e2e"}).json()["person_id"]
    before = http.post("/v1/decisions", json={"person_id": person, "n": 10, "reason": "browse"})
    assert before.status_code == 201, before.text

    send_consents(client, {**PURPOSES, "own_marketing": False}, "e2e-4")
    assert errors == []
    history = eventually(lambda: http.get("/v1/consents/user_id/C900001").json()["history"],
                         lambda h: any(e["message_id"] == "e2e-4" for e in h))
    assert any(e["message_id"] == "e2e-4" and not e["granted"] for e in history)
    assert may_market() is False  # the very next may(): no cache window
    after = http.post("/v1/decisions", json={"person_id": person, "n": 10, "reason": "browse"})
    assert after.status_code == 201, after.text
    assert [a["action_id"] for a in after.json()["actions"] if a["purpose"] == "marketing"] == []
    marketing_before = [a for a in before.json()["actions"] if a["purpose"] == "marketing"]
    assert marketing_before, orjson.dumps(before.json()).decode()

    # the compliance officer sees who read the consents, and why
    audit = http.get("/v1/audit", params={"person": "user_id:C900001"},
                     headers={"Authorization": f"Bearer {compliance}"}).json()["entries"]
    assert ("consent.read", "e2e") in [(e["action"], e["purpose"]) for e in audit]

    server.stop()
    log_text = server.log_file.read_text() if server.log_file.exists() else ""
    leaks = [s for s in (EMAIL, PHONE, PHONE[3:], NAME, SURNAME, write_key, agent, compliance) if s in log_text]
    assert leaks == [], f"PII or secrets in the server log: {len(leaks)} kinds"


def fixture_identifiers() -> set[str]:
    """Every e-mail, phone and name in the seed scenarios."""
    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key in ("email", "phone", "first_name", "last_name", "name_on_card"):
            found.add(value)

    for path in SCENARIOS.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            walk(orjson.loads(line))
    return found


SCENARIOS = Path("/work/shared/scenarios")


def test_a_realistic_flow_logs_no_pii_and_no_secrets(server: Server, db_url: str) -> None:
    write_key = str(orjson.loads(run_cli(db_url, "sources", "create", "seeds", "--touchpoint", "web", "--json"))
                    ["write_key"])
    compliance, agent = api_key(db_url, "compliance"), api_key(db_url, "agent")
    client = SegmentClient(write_key, host=server.base_url, sync_mode=True, max_retries=0)
    for path in sorted(SCENARIOS.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            m = orjson.loads(line)
            common = {"message_id": m["messageId"], "timestamp": datetime.fromisoformat(m["timestamp"]),
                      "context": m.get("context"), "user_id": m.get("userId"), "anonymous_id": m.get("anonymousId")}
            if m["type"] == "identify":
                client.identify(traits=m.get("traits"), **common)
            elif m["type"] == "page":
                client.page(name=m.get("name"), properties=m.get("properties"), **common)
            else:
                client.track(event=m["event"], properties=m.get("properties"), **common)
    http = httpx.Client(base_url=server.base_url, timeout=60)
    as_compliance = {"Authorization": f"Bearer {compliance}"}
    ok = eventually(lambda: http.get("/v1/consents/email/giorgio.rossi@example.org", headers=as_compliance),
                    lambda r: r.status_code == 200 and len(r.json()["history"]) == 7)
    assert ok.status_code == 200, ok.text
    assert http.get("/v1/profiles/email/gaia.rossi@example.org",
                    headers={"Authorization": f"Bearer {agent}"}).status_code == 200
    assert http.get("/v1/privacy/email/antonio@example.org/export", headers=as_compliance).status_code in (200, 404)
    exported = http.get("/v1/privacy/email/martina.bianchi@example.org/export", headers=as_compliance)
    assert exported.status_code == 200 and exported.json()["events"]
    erased = http.post("/v1/privacy/email/martina.bianchi@example.org/erase", headers=as_compliance)
    assert erased.status_code == 200, erased.text
    assert http.get("/v1/audit", headers={"Authorization": "Bearer wrong-key"}).status_code == 401
    server.stop()
    log_text = server.log_file.read_text() if server.log_file.exists() else ""
    assert len(log_text) > 0, "the flow must have logged something for this check to mean anything"
    secrets = {write_key, compliance, agent}
    identifiers = fixture_identifiers()
    assert len(identifiers) >= 10
    leaked = sorted(i for i in identifiers | secrets if i in log_text)
    assert leaked == [], f"{len(leaked)} identifiers or secrets in the log"
