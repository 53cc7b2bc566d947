"""Signatures of webhooks and links: Twilio, Meta, our generic JSON webhook, unsubscribe tokens.

Examples
--------
>>> sig = twilio_signature("https://x.example/sms", {"Body": "SI", "From": "+39333"}, "tok")
>>> verify_twilio("https://x.example/sms", {"From": "+39333", "Body": "SI"}, "tok", sig)
True
>>> token = unsubscribe_token("p-1", "email", "k")
>>> read_unsubscribe_token(token, "k")
('p-1', 'email')
>>> read_tracking_token(click_token("a-1", 0, "https://bank.example/mutuo", "k"), "k")
Tracked(kind='click', action_id='a-1', link=0, url='https://bank.example/mutuo')
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import NamedTuple

from bestnext.errors import Unauthorized


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """``X-Twilio-Signature``: base64 HMAC-SHA1 of the full URL followed by each POST
    parameter's name and value, sorted by name."""
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_twilio(url: str, params: Mapping[str, str], auth_token: str, signature: str | None) -> bool:
    return bool(signature) and hmac.compare_digest(twilio_signature(url, params, auth_token), signature or "")


def hub_signature(body: bytes, app_secret: str) -> str:
    """Meta's ``X-Hub-Signature-256``: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_hub(body: bytes, app_secret: str, signature: str | None) -> bool:
    return bool(signature) and hmac.compare_digest(hub_signature(body, app_secret), signature or "")


def generic_signature(timestamp: str, body: bytes, secret: str) -> str:
    """``X-Bestnext-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return "sha256=" + mac


def verify_generic(timestamp: str | None, body: bytes, secret: str, signature: str | None,
                   now_epoch: float, tolerance: float = 300) -> bool:
    """Valid signature, and a timestamp within ``tolerance`` seconds (no replays)."""
    if not timestamp or not signature:
        return False
    try:
        if abs(now_epoch - float(timestamp)) > tolerance:
            return False
    except ValueError:
        return False
    return hmac.compare_digest(generic_signature(timestamp, body, secret), signature)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def unsubscribe_token(person_id: str, channel: str, secret_key: str) -> str:
    """A signed, URL-safe token naming the person and the channel to unsubscribe."""
    body = _b64(f"{person_id}|{channel}".encode())
    mac = hmac.new(secret_key.encode(), b"unsubscribe:" + body.encode(), hashlib.sha256).digest()[:18]
    return f"{body}.{_b64(mac)}"


def read_unsubscribe_token(token: str, secret_key: str) -> tuple[str, str]:
    """``(person_id, channel)`` of a token; :class:`Unauthorized` when forged or malformed."""
    body, _, mac = token.partition(".")
    expected = hmac.new(secret_key.encode(), b"unsubscribe:" + body.encode(), hashlib.sha256).digest()[:18]
    try:
        ok = hmac.compare_digest(_unb64(mac), expected)
        person_id, channel = _unb64(body).decode().rsplit("|", 1)
    except (ValueError, UnicodeDecodeError):
        raise Unauthorized("The unsubscribe link is not valid.") from None
    if not ok:
        raise Unauthorized("The unsubscribe link is not valid.")
    return person_id, channel


class Tracked(NamedTuple):
    """What a valid email-tracking token names: an open of an action's email, or a click on its
    link number ``link`` whose target is ``url`` (a URL that was in the rendered message)."""

    kind: str  # "open" | "click"
    action_id: str
    link: int | None = None
    url: str | None = None


_KINDS = {"o": "open", "c": "click"}


def _tracking_mac(body: str, secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"track:" + body.encode(), hashlib.sha256).digest()[:18]


def _tracking_token(fields: list[str], secret_key: str) -> str:
    body = _b64("|".join(fields).encode())
    return f"{body}.{_b64(_tracking_mac(body, secret_key))}"


def open_token(action_id: str, secret_key: str) -> str:
    """A signed token for the open pixel of the email of ``action_id`` (no personal data)."""
    if "|" in action_id:
        raise ValueError("an action id has no '|'")
    return _tracking_token(["o", action_id], secret_key)


def click_token(action_id: str, link: int, url: str, secret_key: str) -> str:
    """A signed token for link number ``link`` of the email of ``action_id``, pointing at ``url``:
    only the renderer, which holds the key, can make one, so the redirect goes only where the
    message pointed."""
    if "|" in action_id:
        raise ValueError("an action id has no '|'")
    return _tracking_token(["c", action_id, str(link), url], secret_key)


def read_tracking_token(token: str, secret_key: str) -> Tracked:
    """What ``token`` names; :class:`Unauthorized` when it is forged, malformed or not a
    tracking token (an unsubscribe token is signed for another use and is refused)."""
    body, _, mac = token.partition(".")
    try:
        if not hmac.compare_digest(_unb64(mac), _tracking_mac(body, secret_key)):
            raise ValueError("bad signature")
        kind, action_id, *rest = _unb64(body).decode().split("|", 3)
        if kind == "o" and not rest:
            return Tracked("open", action_id)
        link, url = rest
        if kind != "c" or not url.startswith(("https://", "http://")):
            raise ValueError("not a click")
        return Tracked(_KINDS[kind], action_id, int(link), url)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise Unauthorized("The tracked link is not valid.") from None
