"""HTTP providers: Twilio-style SMS, Meta Messenger/Instagram send API, a generic signed webhook
(push, in-app, web). ``httpx`` clients are injected, so unit tests pass a ``MockTransport``.

Each request carries ``Idempotency-Key: <outbox action id>`` (:func:`send_keyed`): a provider
that honours it answers a re-send after a crash with the first message instead of a second
one (see ``docs/channels.md``, "Delivery contract")."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

from bestnext.channels.model import Rendered, SendError
from bestnext.channels.providers.base import http_error
from bestnext.channels.signatures import generic_signature


def _post(client: httpx.Client, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        raise http_error(exc) from None
    if response.status_code >= 300:
        raise http_error(None, response)
    try:
        body = response.json()
    except ValueError:
        raise SendError("provider answered without JSON") from None
    return body if isinstance(body, dict) else {}


def send_keyed(client: httpx.Client, url: str, idempotency_key: str, id_field: str, *,
               default_id: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any) -> str:
    """POST one message with our ``Idempotency-Key`` and return the provider's message id
    (the answer's ``id_field``; ``default_id`` when the provider may leave it out).

    Every HTTP provider sends through here, so every attempt of an action, including the
    re-send after a crash, carries the same key (the outbox action id).

    Raises
    ------
    SendError
        The request failed (:func:`http_error`), or the answer has no message id.
    """
    body = _post(client, url, headers={**(headers or {}), "Idempotency-Key": idempotency_key}, **kwargs)
    found = body.get(id_field) or default_id
    if not found:
        raise SendError(f"provider answered without a {id_field}")
    return str(found)


class TwilioProvider:
    """``POST /2010-04-01/Accounts/{sid}/Messages.json`` (form-encoded, basic auth)."""

    concurrent_sends = True  # httpx.Client is thread-safe: the dispatcher may send in parallel

    def __init__(self, client: httpx.Client, base_url: str, account_sid: str, auth_token: str,
                 sender: str, status_callback: str | None = None) -> None:
        self.client, self.base_url = client, base_url.rstrip("/")
        self.account_sid, self.auth_token, self.sender = account_sid, auth_token, sender
        self.status_callback = status_callback

    def send(self, message: Rendered, idempotency_key: str) -> str:
        form = {"To": message.to, "From": self.sender, "Body": message.text}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        return send_keyed(self.client, f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json",
                          idempotency_key, "sid", data=form, auth=(self.account_sid, self.auth_token))


class MetaProvider:
    """Messenger/Instagram send API: ``POST {graph}/me/messages`` with a page access token."""

    concurrent_sends = True  # httpx.Client is thread-safe: the dispatcher may send in parallel

    def __init__(self, client: httpx.Client, base_url: str, page_token: str) -> None:
        self.client, self.base_url, self.page_token = client, base_url.rstrip("/"), page_token

    def send(self, message: Rendered, idempotency_key: str) -> str:
        payload = {"recipient": {"id": message.to}, "messaging_type": "RESPONSE",
                   "message": {"text": message.text}}
        return send_keyed(self.client, f"{self.base_url}/me/messages", idempotency_key, "message_id",
                          json=payload, params={"access_token": self.page_token})


class WebhookProvider:
    """A signed JSON POST (``X-Bestnext-Signature``) with the ``Idempotency-Key`` header."""

    concurrent_sends = True  # httpx.Client is thread-safe: the dispatcher may send in parallel

    def __init__(self, client: httpx.Client, url: str, secret: str) -> None:
        self.client, self.url, self.secret = client, url, secret

    def send(self, message: Rendered, idempotency_key: str) -> str:
        raw = orjson.dumps({"id": message.action_id, "channel": message.channel, "to": message.to,
                            "title": message.subject, "text": message.text})
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Bestnext-Timestamp": stamp,
                   "X-Bestnext-Signature": generic_signature(stamp, raw, self.secret)}
        return send_keyed(self.client, self.url, idempotency_key, "id", default_id=idempotency_key,
                          content=raw, headers=headers)
