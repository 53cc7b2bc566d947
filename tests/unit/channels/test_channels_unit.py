"""Pure parts of channels: signatures, reply intents, backoff, rendering, provider adapters
(``httpx.MockTransport`` stands in for the network here; the integration tests use real servers)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bestnext.channels.config import ConfigInvalid, channels_config
from bestnext.channels.model import OutboundAction, SendError, backoff, classify_reply
from bestnext.channels.providers import BatchFileProvider, MetaProvider, TwilioProvider, WebhookProvider
from bestnext.channels.render import render
from bestnext.channels.signatures import (
    generic_signature,
    hub_signature,
    read_unsubscribe_token,
    twilio_signature,
    unsubscribe_token,
    verify_generic,
    verify_hub,
    verify_twilio,
)
from bestnext.errors import Unauthorized

AT = datetime(2025, 2, 26, 20, 23, tzinfo=UTC)


def test_twilio_signature_matches_twilios_documented_example() -> None:
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
              "From": "+12349013030", "To": "+18005551212"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert verify_twilio(url, params, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not verify_twilio(url, {**params, "Digits": "9"}, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not verify_twilio(url, params, "12345", None)


def test_hub_and_generic_signatures_reject_tampering() -> None:
    body = b'{"object":"page"}'
    sig = hub_signature(body, "app-secret")
    assert sig.startswith("sha256=") and len(sig) == 71
    assert verify_hub(body, "app-secret", sig) and not verify_hub(body + b" ", "app-secret", sig)
    stamp = "1740000000"
    gsig = generic_signature(stamp, body, "s")
    assert verify_generic(stamp, body, "s", gsig, now_epoch=1740000100)
    assert not verify_generic(stamp, body, "s", gsig, now_epoch=1740000400)  # too old: a replay
    assert not verify_generic("1740000001", body, "s", gsig, now_epoch=1740000100)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
       st.sampled_from(["email", "sms"]))
def test_unsubscribe_tokens_round_trip_and_forgeries_fail(person: str, channel: str) -> None:
    token = unsubscribe_token(person, channel, "secret")
    assert read_unsubscribe_token(token, "secret") == (person, channel)
    with pytest.raises(Unauthorized):
        read_unsubscribe_token(token, "other-secret")
    with pytest.raises(Unauthorized):
        read_unsubscribe_token("x" + token, "secret")


@pytest.mark.parametrize(("body", "intent"), [("SI", "positive"), ("sì", "positive"), ("Sì!", "positive"),
                                              ("yes", "positive"), ("STOP", "stop"), ("stop ", "stop"),
                                              ("quanto costa?", "other"), ("", "other")])
def test_reply_intents(body: str, intent: str) -> None:
    assert classify_reply(body) == intent


@given(st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=2**32))
def test_backoff_is_bounded_and_grows(attempt: int, seed: int) -> None:
    wait = backoff(attempt, random.Random(seed), base=30, cap=3600)
    ceiling = min(3600, 30 * 2 ** (attempt - 1))
    assert ceiling / 2 <= wait <= ceiling


def email_action(purpose: str = "marketing") -> OutboundAction:
    return OutboundAction(person_id="p-1", channel="email", purpose=purpose, action="offer_prepaid_card",
                          due_at=AT, text="Ciao <Martina>,\n\nil primo anno è gratis.")


def test_email_rendering_has_text_html_and_one_click_unsubscribe() -> None:
    msg = render(email_action(), "m@example.org", AT, base_url="https://bank.example/", secret_key="k")
    url = msg.headers["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://bank.example/v1/unsubscribe/")
    assert msg.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Ciao <Martina>" in msg.text and "Ciao &lt;Martina&gt;" in (msg.html or "")  # HTML is escaped
    assert read_unsubscribe_token(url.rsplit("/", 1)[1], "k") == ("p-1", "email")
    assert msg.subject == "Una proposta per te"


def client(handler: object) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def rendered(channel: str = "sms") -> object:
    a = OutboundAction(person_id="p-1", channel=channel, purpose="service", action="answer_request", due_at=AT,
                       text="Ciao")
    return render(a, "+393331112233", AT, base_url="http://x", secret_key="k")


def test_twilio_adapter_speaks_the_messages_api() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": "SM123", "status": "queued"})

    provider = TwilioProvider(client(handler), "https://api.twilio.com", "AC1", "tok", "+3902", "https://b/cb")
    assert provider.send(rendered(), "key-1") == "SM123"  # type: ignore[arg-type]
    [req] = seen
    assert req.url.path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert req.headers["Idempotency-Key"] == "key-1"
    assert dict(httpx.QueryParams(req.content.decode())) == {"To": "+393331112233", "From": "+3902",
                                                             "Body": "Ciao", "StatusCallback": "https://b/cb"}


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (503, False), (429, False), (400, True),
                                                   (401, True)])
def test_http_errors_are_retried_or_permanent(status: int, permanent: bool) -> None:
    provider = TwilioProvider(client(lambda _r: httpx.Response(status, json={})), "https://t", "A", "t", "+1")
    with pytest.raises(SendError) as err:
        provider.send(rendered(), "k")  # type: ignore[arg-type]
    assert err.value.permanent is permanent


def test_network_errors_are_retried() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(SendError) as err:
        MetaProvider(client(boom), "https://graph", "pt").send(rendered("social"), "k")  # type: ignore[arg-type]
    assert not err.value.permanent and err.value.reason == "network: ConnectError"


def test_webhook_adapter_signs_its_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "push-1"})

    assert WebhookProvider(client(handler), "https://push/x", "s").send(rendered("push"), "k1") == "push-1"  # type: ignore[arg-type]
    [req] = seen
    stamp, sig = req.headers["X-Bestnext-Timestamp"], req.headers["X-Bestnext-Signature"]
    assert sig == generic_signature(stamp, req.content, "s")
    assert orjson.loads(req.content)["to"] == "+393331112233"


def test_post_batch_file_writes_each_letter_once(tmp_path: Path) -> None:
    provider = BatchFileProvider(tmp_path / "post")
    letter = rendered("post")
    first = provider.send(letter, "k1")  # type: ignore[arg-type]
    assert provider.send(letter, "k1") == first  # type: ignore[arg-type]
    provider.send(letter, "k2")  # type: ignore[arg-type]
    lines = (tmp_path / "post" / "batch-2025-02-26.jsonl").read_text().splitlines()
    assert [orjson.loads(line)["id"] for line in lines] == ["k1", "k2"]


def test_channels_yaml_of_the_demo_bank_is_valid_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    from bestnext.settings import DEMO_CONFIG_DIR

    cfg = channels_config(DEMO_CONFIG_DIR)
    assert set(cfg.providers) == {"email", "sms", "social", "push", "app", "web", "post"}
    (tmp_path / "channels.yaml").write_text("dispatch: {batch_size: 0}\n")
    with pytest.raises(ConfigInvalid):
        channels_config(tmp_path)


def test_an_invalid_email_address_is_a_permanent_error() -> None:
    from bestnext.channels.providers import SmtpProvider

    message = render(email_action(), "not an address@@", AT, base_url="http://x", secret_key="k")
    with pytest.raises(SendError) as err:
        SmtpProvider("127.0.0.1", 1, "noreply@bank.example").send(message, "k")
    assert err.value.permanent


def test_config_check_names_missing_secrets_and_bad_hours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bestnext.channels.wiring import check

    (tmp_path / "channels.yaml").write_text(
        "providers:\n  sms: {kind: twilio, base_url: 'https://t', account_sid: AC1, sender: '+39',"
        " auth_token_env: TEST_TWILIO_TOKEN}\n  post: {kind: batch_file}\n")
    (tmp_path / "operators.yaml").write_text(
        "call_center: {hours: {mon-fri: '09:00-25:00'}}\nbranches: [{id: MI09}]\n")
    monkeypatch.delenv("TEST_TWILIO_TOKEN", raising=False)
    problems = check(tmp_path)
    assert problems[0] == ("providers.sms: channels.yaml: provider 'twilio' needs 'auth_token' "
                           "(environment variable TEST_TWILIO_TOKEN is not set)")
    assert any("opening hours" in p for p in problems) and problems[-1].endswith("MI09 has no advisor")
    monkeypatch.setenv("TEST_TWILIO_TOKEN", "x")
    (tmp_path / "operators.yaml").write_text("branches: [{id: MI09, advisors: [{id: a, name: A}]}]\n")
    assert check(tmp_path) == []
