"""Every HTTP provider sends the outbox action id as ``Idempotency-Key`` on each attempt, so a
provider that honours the key (the real sink here) turns the re-send after a crash into the
first message."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from bestnext.channels.model import OutboundAction
from bestnext.channels.providers import MetaProvider, Provider, TwilioProvider, WebhookProvider
from bestnext.channels.render import render
from tests.support.provider_sink import ProviderSink

AT = datetime(2025, 2, 18, 9, 0, tzinfo=UTC)
PROVIDERS: dict[str, Callable[[httpx.Client, str], Provider]] = {
    "sms": lambda c, url: TwilioProvider(c, url, "AC1", "token", "+390200000000"),
    "social": lambda c, url: MetaProvider(c, url, "page-token"),
    "push": lambda c, url: WebhookProvider(c, url + "/push", "secret"),
}
ID_FIELD = {"sms": "sid", "social": "message_id", "push": "id"}


@pytest.fixture
def sink() -> Iterator[ProviderSink]:
    with ProviderSink() as running:
        yield running


@pytest.mark.parametrize("channel", sorted(PROVIDERS))
def test_a_resend_carries_the_same_key_and_gets_the_first_message(sink: ProviderSink, channel: str) -> None:
    action = OutboundAction(person_id="p-1", channel=channel, purpose="service", action="answer_request",
                            due_at=AT, text="Ciao")
    message = render(action, "+393331112233", AT, base_url="http://x", secret_key="k")
    with httpx.Client(timeout=5) as client:
        provider = PROVIDERS[channel](client, sink.url)
        first = provider.send(message, action.id)  # accepted; then the dispatcher "crashed"
        again = provider.send(message, action.id)  # the retry after the lease expired
        other = provider.send(message, "another-action")
    assert [r["key"] for r in sink.state.requests] == [action.id, action.id, "another-action"]
    assert first == again != other and sink.state.duplicates == 1
    assert first == str(sink.state.delivered()[action.id][ID_FIELD[channel]])

