"""A real HTTP server on 127.0.0.1 standing in for channel providers (Twilio, Meta, push).

It deduplicates by ``Idempotency-Key`` like a real provider that honours the key: a re-send of
the same key returns the first answer and is counted in ``duplicates``. It can fail the first
``fail_first`` requests (503) and delay each request (to kill a worker mid-send). Run it in a
thread (tests) or as a process (``python -m tests.support.provider_sink PORT LOGFILE``).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl


class SinkState:
    def __init__(self, fail_first: int = 0, delay: float = 0.0, log: Path | None = None) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.answers: dict[str, dict[str, Any]] = {}
        self.duplicates = 0
        self.fail_first, self.delay, self.log = fail_first, delay, log

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        time.sleep(self.delay)
        key = headers.get("idempotency-key")
        with self.lock:
            record = {"path": path, "headers": headers, "body": body.decode(), "key": key}
            self.requests.append(record)
            if self.log:
                with self.log.open("a") as fh:
                    fh.write(json.dumps(record) + "\n")
            if self.fail_first > 0:
                self.fail_first -= 1
                return 503, {"error": "try later"}
            if key and key in self.answers:
                self.duplicates += 1
                return 200, self.answers[key]
            answer = {"sid": "SM" + uuid.uuid4().hex, "message_id": "m_" + uuid.uuid4().hex,
                      "id": "p_" + uuid.uuid4().hex, "recipient_id": "r"}
            if key:
                self.answers[key] = answer
            return 201, answer

    def delivered(self) -> dict[str, dict[str, Any]]:
        """Each idempotency key delivered (once), with the first request's answer."""
        with self.lock:
            return dict(self.answers)

    def forms(self) -> list[dict[str, str]]:
        return [dict(parse_qsl(r["body"])) for r in self.requests]


def post_twilio(url: str, form: dict[str, str], auth_token: str) -> int:
    """What Twilio does: POST a form-encoded webhook signed with ``X-Twilio-Signature``."""
    import httpx

    from bestnext.channels.signatures import twilio_signature

    headers = {"X-Twilio-Signature": twilio_signature(url, form, auth_token)}
    return httpx.post(url, data=form, headers=headers, timeout=10).status_code


def _handler(state: SinkState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            status, answer = state.handle(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *_args: Any) -> None:
            return

    return Handler


class ProviderSink:
    """The sink as a thread: ``with ProviderSink() as sink: sink.url``."""

    def __init__(self, **kwargs: Any) -> None:
        self.state = SinkState(**kwargs)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ProviderSink:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    port, log, delay = int(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    state = SinkState(delay=delay, log=log)
    ThreadingHTTPServer(("127.0.0.1", port), _handler(state)).serve_forever()


if __name__ == "__main__":
    main()
