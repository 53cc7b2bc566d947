"""Email over a real SMTP server (aiosmtpd), and the one-click unsubscribe round trip over HTTP;
a crash after the server accepted a mail: the re-send is the same message (same Message-ID)."""

from __future__ import annotations

import email
import email.policy
import ssl
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bestnext.bootstrap import Container
from bestnext.channels import outbox
from bestnext.channels.config import channels_config
from bestnext.channels.model import OutboundAction, Status
from bestnext.channels.providers import SmtpProvider, message_id
from bestnext.channels.wiring import dispatcher
from bestnext.consent import services as consent
from bestnext.consent.model import Purpose, Source
from bestnext.eventlog import store as log
from tests.integration.channels.conftest import T0, clock_of
from tests.support.live_app import LiveApp
from tests.support.server import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def marketing_email() -> OutboundAction:
    return OutboundAction(person_id="p-1", channel="email", purpose="marketing", action="offer_prepaid_card",
                          product="prepaid_card", offer="first_year_free", due_at=T0,
                          text="Ciao Martina,\n\ngrazie per l'interesse: il primo anno è gratis.",
                          data={"subject": "La tua carta prepagata"})


def address(_conn: object, _person_id: str, _channel: str) -> str:
    return "martina@example.org"


def test_email_reaches_smtp_and_one_click_unsubscribe_withdraws_consent(
        vcontainer: Container, smtp: tuple[Controller, Inbox]) -> None:
    controller, inbox = smtp
    with vcontainer.engine.begin() as conn:
        consent.record(conn, "p-1", {"personal_data": True, "own_marketing": True}, Source("web"), T0)
        outbox.enqueue(conn, a := marketing_email())
    with LiveApp(vcontainer) as app:
        cfg = channels_config(vcontainer.settings.config_dir).model_copy(update={"public_base_url": app.base_url})
        provider = SmtpProvider("127.0.0.1", controller.port, "Banca Demo <noreply@bancademo.example>")
        d = dispatcher(vcontainer, chosen={"email": provider}, resolver=address, channels=cfg)
        assert d.run_until_idle() == 1
        [(rcpt, msg)] = inbox.messages
        assert rcpt == ["martina@example.org"] and msg["Subject"] == "La tua carta prepagata"
        assert msg["Message-ID"] == f"<{a.id}@bestnext>"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "il primo anno è gratis" in text and "il primo anno è gratis" in html
        url = str(msg["List-Unsubscribe"]).strip().strip("<>")
        assert url.startswith(f"{app.base_url}/v1/unsubscribe/") and url in html
        # the mail client's one-click POST (RFC 8058)
        answer = httpx.post(url, data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 200 and answer.json()["consent_recorded"] is True
        forged = httpx.post(url[:-3] + "xyz")
        assert forged.status_code == 401 and forged.headers["content-type"] == "application/problem+json"
    with vcontainer.engine.begin() as conn:
        assert consent.state(conn, "p-1").granted(Purpose.OWN_MARKETING) is False
        names = [e.event for e in log.events_of(conn, "p-1")]
        row = outbox.get(conn, a.id)
    assert names == ["Email Sent", "Email Unsubscribed"]
    assert row is not None and row.status is Status.SENT and row.provider_message_id == f"<{a.id}@bestnext>"


def test_smtp_refusal_is_retried_then_dead(vcontainer: Container) -> None:
    provider = SmtpProvider("127.0.0.1", free_port(), "noreply@bancademo.example", timeout=2)  # nobody listens
    d = dispatcher(vcontainer, chosen={"email": provider}, resolver=address)
    service = OutboundAction(person_id="p-1", channel="email", purpose="service", action="answer_request",
                             due_at=T0, text="Ciao")
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, service)
    d.run_once()
    with vcontainer.engine.begin() as conn:
        row = outbox.get(conn, service.id)
    assert row is not None and row.status is Status.PENDING and row.last_error == "smtp: ConnectionRefusedError"


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key, cert = tmp / "key.pem", tmp / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return key, cert


def test_starttls_and_auth(tmp_path: Path) -> None:
    key, cert = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    seen: list[str] = []

    def authenticate(_server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"bank", b"pw")
        seen.append("ok" if ok else "refused")
        return AuthResult(success=ok)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=server_tls,
                            require_starttls=True, authenticator=authenticate, auth_require_tls=True)
    controller.start()
    try:
        client_tls = ssl.create_default_context(cafile=str(cert))
        provider = SmtpProvider("127.0.0.1", controller.port, "noreply@bancademo.example", starttls=True,
                                username="bank", password="pw", tls_context=client_tls)
        from bestnext.channels.render import render

        message = render(marketing_email(), "martina@example.org", T0, base_url="http://x", secret_key="k")
        assert provider.send(message, "key-1") == "<key-1@bestnext>"
        bad = SmtpProvider("127.0.0.1", controller.port, "noreply@bancademo.example", starttls=True,
                           username="bank", password="wrong", tls_context=client_tls, timeout=3)
        from bestnext.channels.model import SendError

        with pytest.raises(SendError):
            bad.send(message, "key-2")
    finally:
        controller.stop()
    assert seen == ["ok", "refused"] and len(inbox.messages) == 1


class Crash(BaseException):
    """The dispatcher process dying: not an error the dispatcher handles."""


class CrashAfterAccepted:
    """The SMTP provider, then the process dies before the send is recorded."""

    def __init__(self, real: SmtpProvider) -> None:
        self.real = real

    def send(self, message: Any, idempotency_key: str) -> str:
        self.real.send(message, idempotency_key)
        raise Crash


def test_a_resend_after_a_crash_carries_the_same_message_id(
        vcontainer: Container, smtp: tuple[Controller, Inbox]) -> None:
    """At least once, with our key: the server accepted the mail, the dispatcher died before
    marking it sent; when the lease expires another dispatcher sends it again, as the same
    message (same ``Message-ID``, derived from the action id), and records it once."""
    controller, inbox = smtp
    real = SmtpProvider("127.0.0.1", controller.port, "Banca Demo <noreply@bancademo.example>")
    with vcontainer.engine.begin() as conn:
        consent.record(conn, "p-1", {"personal_data": True, "own_marketing": True}, Source("web"), T0)
        outbox.enqueue(conn, a := marketing_email())
    first = dispatcher(vcontainer, chosen={"email": CrashAfterAccepted(real)}, resolver=address)
    with pytest.raises(Crash):
        first.run_once()
    with vcontainer.engine.begin() as conn:
        row = outbox.get(conn, a.id)
    assert row is not None and row.status is Status.SENDING and len(inbox.messages) == 1

    second = dispatcher(vcontainer, chosen={"email": real}, resolver=address)
    assert second.run_until_idle() == 0, "the first dispatcher's lease still holds the action"
    clock = clock_of(vcontainer)
    clock.advance_to(clock.now() + timedelta(seconds=second.config.dispatch.lease_seconds + 1))
    assert second.run_until_idle() == 1
    assert [msg["Message-ID"] for _rcpt, msg in inbox.messages] == [message_id(a.id)] * 2
    assert inbox.messages[0][1]["Subject"] == inbox.messages[1][1]["Subject"]
    with vcontainer.engine.begin() as conn:
        row = outbox.get(conn, a.id)
        sent_events = [e for e in log.events_of(conn, "p-1") if e.event == "Email Sent"]
    assert row is not None and row.status is Status.SENT and row.provider_message_id == message_id(a.id)
    assert row.attempts == 2 and len(sent_events) == 1
