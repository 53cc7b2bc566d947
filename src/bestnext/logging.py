"""JSON logs through structlog, scrubbed of personal data and secrets.

Log events name things by ids (person id, source id, message index), never by values a person
typed. As a second line of defence a processor redacts e-mail addresses, phone numbers and
secret-looking fields that slip through.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any, TextIO

import structlog

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"\+\d[\d \-]{7,}\d|(?<![\d\-:.])\d{9,15}(?![\d\-:.])")
_FORBIDDEN_KEYS = {
    "email", "phone", "name", "first_name", "last_name", "traits", "payload", "text",
    "password", "write_key", "api_key", "authorization", "secret", "token", "body",
}


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return _PHONE.sub("[phone]", _EMAIL.sub("[email]", value))
    return value


def scrub(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: drop PII/secret keys and redact PII-looking strings.

    >>> scrub(None, "info", {"event": "x", "email": "a@b.it", "note": "call +39 347 1112233"})
    {'event': 'x', 'email': '[redacted]', 'note': 'call [phone]'}
    """
    for key in list(event_dict):
        if key.lower() in _FORBIDDEN_KEYS:
            event_dict[key] = "[redacted]"
        elif key not in ("exception", "timestamp"):
            event_dict[key] = _scrub_value(event_dict[key])
    if "exception" in event_dict:
        event_dict["exception"] = _scrub_value(event_dict["exception"])
    return event_dict


def configure(level: str = "INFO", log_file: Path | None = None) -> None:
    """Configure structlog and the standard library to write one JSON object per line."""
    stream: TextIO = sys.stderr
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        stream = log_file.open("a", encoding="utf-8")  # noqa: SIM115 - lives with the process
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        scrub,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processor=structlog.processors.JSONRenderer(), foreign_pre_chain=shared))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
