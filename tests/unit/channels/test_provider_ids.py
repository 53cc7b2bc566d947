"""An HTTP provider's answer without a message id is a retried error, not a silent send; a post
letter re-sent after a crash is written once, also across midnight."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from bestnext.channels.model import OutboundAction, SendError
from bestnext.channels.providers import BatchFileProvider, MetaProvider, TwilioProvider, WebhookProvider
from bestnext.channels.render import render

AT = datetime(2025, 2, 18, 9, 0, tzinfo=UTC)


def _message(channel: str) -> object:
    action = OutboundAction(person_id="p-1", channel=channel, purpose="service", action="answer_request",
                            due_at=AT, text="Ciao")
    return render(action, "+393331112233", AT, base_url="http://x", secret_key="k")


def _client(answer: dict[str, str]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(lambda _r: httpx.Response(201, json=answer)))


@pytest.mark.parametrize(("channel", "field"), [("sms", "sid"), ("social", "message_id")])
def test_an_answer_without_a_message_id_is_a_retried_error(channel: str, field: str) -> None:
    with _client({"status": "queued"}) as client, pytest.raises(SendError) as err:
        provider = (TwilioProvider(client, "https://t", "AC1", "tok", "+39") if channel == "sms"
                    else MetaProvider(client, "https://graph", "pt"))
        provider.send(_message(channel), "key-1")  # type: ignore[arg-type]
    assert err.value.reason == f"provider answered without a {field}" and not err.value.permanent


def test_a_webhook_without_an_id_answers_with_our_key() -> None:
    with _client({}) as client:
        assert WebhookProvider(client, "https://push", "s").send(_message("push"), "key-1") == "key-1"  # type: ignore[arg-type]


def test_a_letter_resent_after_midnight_stays_in_yesterdays_batch(tmp_path: Path) -> None:
    action = OutboundAction(person_id="p-1", channel="post", purpose="service", action="answer_request",
                            due_at=AT, text="Gentile cliente")
    provider = BatchFileProvider(tmp_path / "post")
    before = render(action, "Via Roma 1", datetime(2025, 2, 18, 23, 59, 50, tzinfo=UTC), base_url="x", secret_key="k")
    after = render(action, "Via Roma 1", datetime(2025, 2, 19, 0, 0, 50, tzinfo=UTC), base_url="x", secret_key="k")
    assert provider.send(before, action.id) == f"batch-2025-02-18.jsonl:{action.id}"
    assert provider.send(after, action.id) == f"batch-2025-02-18.jsonl:{action.id}"  # the crash's re-send
    assert provider.send(after, "next-letter") == "batch-2025-02-19.jsonl:next-letter"
    lines = [orjson.loads(line)["id"] for p in sorted((tmp_path / "post").glob("batch-*.jsonl"))
             for line in p.read_bytes().splitlines()]
    assert lines == [action.id, "next-letter"]
