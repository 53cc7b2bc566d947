"""Facts that journey conditions read: the event, the signal it carries, the instance's vars.

Examples
--------
>>> from bestnext.journeys.model import Signals
>>> s = Signals(paths={"family_mortgage": ["/mutui"]}, words={"prepaid_card": ["prepaid card"]})
>>> signal_product({"properties": {"path": "/mutui/calcolatore"}}, s)
'family_mortgage'
>>> signal_product({"properties": {"text": "How much does your prepaid card cost?"}}, s)
'prepaid_card'
"""

from __future__ import annotations

from typing import Any

from bestnext.eventlog.model import LoggedEvent
from bestnext.journeys import ports
from bestnext.journeys.model import Signals


def flatten(prefix: str, value: Any, out: dict[str, Any], depth: int = 3) -> None:
    out[prefix] = value
    if isinstance(value, dict) and depth > 0:
        for key, item in value.items():
            flatten(f"{prefix}.{key}", item, out, depth - 1)


def signal_product(payload: dict[str, Any], signals: Signals) -> str | None:
    """The product an event is about: declared, a page path, or words in a message."""
    props = payload.get("properties") or {}
    for key in ("product", "category"):
        if isinstance(props.get(key), str) and props[key] in signals.paths | signals.words:
            return str(props[key])
    path = str(props.get("path") or (payload.get("context") or {}).get("page", {}).get("path") or "")
    for product, prefixes in signals.paths.items():
        if path and any(path.startswith(p) for p in prefixes):
            return product
    text = str(props.get("text") or props.get("message") or "").lower()
    for product, words in signals.words.items():
        if text and any(w in text for w in words):
            return product
    return None


def mentions_problem(payload: dict[str, Any], signals: Signals) -> bool:
    props = payload.get("properties") or {}
    text = str(props.get("text") or props.get("message") or "").lower()
    return bool(text) and any(w in text for w in signals.problem_words)


def event_facts(event: LoggedEvent, signals: Signals) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "event.name": event.event or event.type, "event.type": event.type,
        "event.touchpoint": event.touchpoint, "event.message_id": event.message_id,
        "signal.product": signal_product(event.payload, signals),
        "signal.problem": mentions_problem(event.payload, signals),
    }
    flatten("event.properties", event.properties, facts)
    if facts["event.name"] == "SMS Replied" and not facts.get("event.properties.intent"):
        # an imported reply carries only its text: classify it as the SMS webhook does
        facts["event.properties.intent"] = ports.reply_intent(str(event.properties.get("text") or ""))
    return facts


def var_facts(variables: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for key, value in variables.items():
        flatten(f"vars.{key}", value, facts, depth=2)
    return facts
