"""Inbound traffic from providers: replies, delivery receipts, social messages, one-click
unsubscribe. Each becomes an event on the log (so journeys can wait for it); signatures are
checked by the routes before these run."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bestnext.channels import outbox, ports, timeline
from bestnext.channels.model import classify_reply
from bestnext.channels.signatures import read_unsubscribe_token
from bestnext.errors import InvalidInput

RECEIPTS = {"delivered": "SMS Delivered", "undelivered": "SMS Failed", "failed": "SMS Failed",
            "read": "SMS Read"}


def sms_reply(conn: Connection, form: Mapping[str, str], now: datetime) -> str:
    """A Twilio inbound message (``From``, ``Body``, ``MessageSid``) -> ``SMS Replied`` with intent.

    A "STOP" also withdraws own-marketing consent (here when the sender is known, else by the
    channels processor once identity has attributed the reply)."""
    sender, body, sid = form.get("From"), form.get("Body", ""), form.get("MessageSid")
    if not sender or not sid:
        raise InvalidInput("An inbound SMS needs From and MessageSid.")
    intent = classify_reply(body)
    timeline.inbound(conn, "SMS Replied", f"sms:{sid}", now, touchpoint="sms",
                     properties={"intent": intent, "text": body[:1600], "provider_message_id": sid},
                     anonymous_id=f"sms:{sender}"[:200], traits={"phone": sender}, now=now)
    return intent


def sms_status(conn: Connection, form: Mapping[str, str], now: datetime) -> str | None:
    """A Twilio status callback (``MessageSid``, ``MessageStatus``) -> ``SMS Delivered``/``SMS Failed``."""
    sid, state = form.get("MessageSid"), (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not sid:
        raise InvalidInput("A status callback needs MessageSid.")
    name = RECEIPTS.get(state)
    row = outbox.find_by_provider_id(conn, sid)
    if name is None or row is None:
        return None
    timeline.record(conn, row.action.person_id, name, f"sms:{sid}:{state}", now, touchpoint="sms", now=now,
                    properties={"action_id": row.action.id, "action": row.action.action, "status": state,
                                "journey": row.action.journey})
    return name


def meta_messages(conn: Connection, payload: Mapping[str, Any], now: datetime) -> int:
    """Messenger/Instagram webhook ``entry[].messaging[]`` -> ``Social Message Posted`` events."""
    if payload.get("object") not in ("page", "instagram"):
        raise InvalidInput("Not a page or instagram webhook.")
    count = 0
    for entry in payload.get("entry") or []:
        for item in entry.get("messaging") or []:
            message, sender = item.get("message") or {}, (item.get("sender") or {}).get("id")
            if not sender or not message.get("mid") or message.get("is_echo"):
                continue
            kind = "instagram_id" if payload.get("object") == "instagram" else "facebook_id"
            count += timeline.inbound(
                conn, "Social Message Posted", f"meta:{message['mid']}", now, touchpoint="social",
                properties={"text": str(message.get("text", ""))[:2000], "intent": classify_reply(
                    str(message.get("text", ""))), "provider_message_id": message["mid"]},
                external_ids=[{"id": str(sender), "type": kind, "collection": "users", "encoding": "none"}],
                anonymous_id=f"{kind}:{sender}"[:200], now=now)
    return count


def generic(conn: Connection, payload: Mapping[str, Any], now: datetime) -> bool:
    """Generic signed JSON webhook: ``{"id", "action_id", "event", "properties"}`` about a sent action
    (e.g. a push opened, an in-app message clicked)."""
    row = outbox.get(conn, str(payload.get("action_id", "")))
    event, message_id = payload.get("event"), payload.get("id")
    if row is None or not isinstance(event, str) or not isinstance(message_id, str):
        raise InvalidInput("The webhook needs id, event and the action_id of a known action.")
    props = payload.get("properties") if isinstance(payload.get("properties"), dict) else {}
    return timeline.record(conn, row.action.person_id, event[:200], f"hook:{message_id}", now,
                           touchpoint=row.action.channel, now=now,
                           properties={**(props or {}), "action_id": row.action.id})


def unsubscribe(conn: Connection, token: str, secret_key: str, now: datetime) -> tuple[str, bool]:
    """One-click unsubscribe (RFC 8058): own-marketing consent withdrawn, source email.

    Returns ``(channel, recorded)``; ``recorded`` is False when consent is not installed (the
    ``Email Unsubscribed`` event is logged either way)."""
    person_id, channel = read_unsubscribe_token(token, secret_key)
    mid = f"unsubscribe:{token[-24:]}:{int(now.timestamp())}"
    timeline.record(conn, person_id, "Email Unsubscribed", mid, now, touchpoint=channel, now=now,
                    properties={"purpose": "own_marketing", "channel": channel})
    return channel, ports.withdraw_marketing(conn, person_id, channel, channel, now, mid)
