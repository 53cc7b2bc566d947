"""SMS round trip: Twilio-style send to a local provider server, which posts back a signed
delivery receipt and signed replies ("Sì", "STOP") to the running API."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import yaml

from bestnext.bootstrap import Container, build
from bestnext.channels import outbox
from bestnext.channels.model import OutboundAction
from bestnext.channels.signatures import hub_signature
from bestnext.channels.wiring import dispatcher
from bestnext.clock import VirtualClock
from bestnext.consent import services as consent
from bestnext.consent.model import Purpose, Source
from bestnext.eventlog import NewEvent
from bestnext.eventlog import store as log
from bestnext.identity import services as identity
from bestnext.settings import DEMO_CONFIG_DIR
from tests.conftest import test_settings as settings_for
from tests.integration.channels.conftest import T0
from tests.support.live_app import LiveApp
from tests.support.provider_sink import ProviderSink, post_twilio
from tests.support.server import free_port

TOKEN, SID, PHONE, PAGE_SECRET = "twilio-test-token", "ACtest", "+393331112233", "meta-app-secret"


@pytest.fixture
def wired(db_url: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Container, ProviderSink, LiveApp]]:
    port = free_port()
    with ProviderSink() as sink:
        config = tmp_path / "bank"
        shutil.copytree(DEMO_CONFIG_DIR, config)
        (config / "channels.yaml").write_text(yaml.safe_dump({
            "public_base_url": f"http://127.0.0.1:{port}",
            "providers": {
                "sms": {"kind": "twilio", "base_url": sink.url, "account_sid": SID, "auth_token": TOKEN,
                        "sender": "+390200000000"},
                "social": {"kind": "meta", "base_url": sink.url, "page_token": "page-token",
                           "app_secret": PAGE_SECRET, "verify_token": "verify-me"}}}))
        settings = settings_for(db_url, tmp_path_factory).model_copy(
            update={"sandbox": False, "config_dir": config})
        container = build(settings, clock=VirtualClock(T0), configure_logging=False)
        with LiveApp(container, port) as app:
            yield container, sink, app
        container.dispose()


def known_person(container: Container) -> str:
    with container.engine.begin() as conn:
        log.append(conn, [NewEvent("crm", "id-1", "identify", "branch", T0, T0,
                                   {"type": "identify", "userId": "C-42", "traits": {"phone": PHONE}})])
    container.pipeline.run_until_idle()
    with container.engine.begin() as conn:
        person = identity.find_person(conn, "user_id", "C-42")
        assert person is not None
        consent.record(conn, person, {"personal_data": True, "own_marketing": True}, Source("branch"), T0)
    return person


def timeline(container: Container, person: str) -> list[tuple[str | None, dict[str, object]]]:
    with container.engine.begin() as conn:
        return [(e.event, e.properties) for e in log.events_of(conn, person) if e.type == "track"]


def test_sms_send_receipt_and_replies_round_trip(wired: tuple[Container, ProviderSink, LiveApp]) -> None:
    container, sink, app = wired
    person = known_person(container)
    action = OutboundAction(person_id=person, channel="sms", purpose="marketing", action="offer_pension_fund",
                            product="pension_fund", due_at=T0, text="Ciao Antonio, rispondi 'SI'.")
    with container.engine.begin() as conn:
        outbox.enqueue(conn, action)
    assert dispatcher(container).run_until_idle() == 1
    [request] = sink.state.requests
    form = sink.state.forms()[0]
    assert request["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request["headers"]["authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request["key"] == action.id
    assert form["To"] == PHONE and form["Body"] == "Ciao Antonio, rispondi 'SI'."
    sid = sink.state.delivered()[action.id]["sid"]
    # the provider reports delivery, then the person answers, then says STOP
    assert post_twilio(form["StatusCallback"], {"MessageSid": sid, "MessageStatus": "delivered"}, TOKEN) == 204
    inbound = f"{app.base_url}/v1/webhooks/twilio/sms"
    assert post_twilio(inbound, {"From": PHONE, "To": "+390200000000", "Body": "Sì", "MessageSid": "SM1"},
                       TOKEN) == 200
    assert post_twilio(inbound, {"From": PHONE, "To": "+390200000000", "Body": "Sì", "MessageSid": "SM1"},
                       TOKEN) == 200  # a provider retry is deduplicated
    forged = httpx.post(inbound, data={"From": PHONE, "Body": "STOP", "MessageSid": "SM9"},
                        headers={"X-Twilio-Signature": "bm9wZQ=="})
    assert forged.status_code == 401 and forged.headers["content-type"] == "application/problem+json"
    container.pipeline.run_until_idle()
    with container.engine.begin() as conn:
        assert consent.state(conn, person).granted(Purpose.OWN_MARKETING) is True, consent.show(conn, person)
    assert post_twilio(inbound, {"From": PHONE, "Body": "STOP", "MessageSid": "SM2"}, TOKEN) == 200
    container.pipeline.run_until_idle()
    events = timeline(container, person)
    assert [name for name, _ in events] == ["SMS Sent", "SMS Delivered", "SMS Replied", "SMS Replied"]
    assert [p.get("intent") for name, p in events if name == "SMS Replied"] == ["positive", "stop"]
    with container.engine.begin() as conn:
        assert consent.state(conn, person).granted(Purpose.OWN_MARKETING) is False


def test_meta_webhook_is_verified_and_social_reply_is_sent(wired: tuple[Container, ProviderSink, LiveApp]) -> None:
    container, sink, app = wired
    hook = f"{app.base_url}/v1/webhooks/meta"
    challenge = httpx.get(hook, params={"hub.mode": "subscribe", "hub.verify_token": "verify-me",
                                        "hub.challenge": "1158201444"})
    assert challenge.status_code == 200 and challenge.text == "1158201444"
    body = orjson.dumps({"object": "page", "entry": [{"id": "page", "time": 1, "messaging": [
        {"sender": {"id": "fb-777"}, "recipient": {"id": "page"}, "timestamp": 1,
         "message": {"mid": "mid.1", "text": "Il mio token sembra morto"}}]}]})
    assert httpx.post(hook, content=body, headers={"X-Hub-Signature-256": "sha256=00"}).status_code == 401
    ok = httpx.post(hook, content=body, headers={"X-Hub-Signature-256": hub_signature(body, PAGE_SECRET),
                                                 "Content-Type": "application/json"})
    assert ok.status_code == 200 and ok.json() == {"accepted": 1}
    container.pipeline.run_until_idle()
    with container.engine.begin() as conn:
        person = identity.find_person(conn, "facebook_id", "fb-777")
    assert person is not None
    reply = OutboundAction(person_id=person, channel="social", purpose="service", action="answer_request",
                           due_at=T0, text="Ciao Giorgio, domattina ti spediamo un nuovo token.",
                           based_on=("mid.1",))
    with container.engine.begin() as conn:
        outbox.enqueue(conn, reply)
    assert dispatcher(container).run_until_idle() >= 1  # the journeys may answer too
    [request] = [r for r in sink.state.requests if r["key"] == reply.id]
    assert request["path"] == "/me/messages?access_token=page-token"
    assert orjson.loads(request["body"])["recipient"] == {"id": "fb-777"}
    sent = [p["action_id"] for name, p in timeline(container, person) if name == "Social Reply Sent"]
    assert reply.id in sent
