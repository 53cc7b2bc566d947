"""Dispatch throughput: actions/s through the outbox (enqueue, claim, pre-send gate with consent
and contact policy, send, record + timeline event) to a local sink, on SQLite and PostgreSQL.

Two sinks: the sandbox (the outbox's own cost) and a local HTTP server receiving the signed
webhook of each action (``WebhookProvider``, as push/in-app go out). On PostgreSQL also with two
dispatchers in parallel (``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bestnext.bench.common import fresh_sqlite, pg_database
from bestnext.bootstrap import Container, build
from bestnext.channels import outbox
from bestnext.channels.model import OutboundAction
from bestnext.channels.providers import Provider, SandboxProvider, WebhookProvider
from bestnext.channels.wiring import dispatcher
from bestnext.clock import VirtualClock
from bestnext.migrate import upgrade
from bestnext.settings import Settings

N = int(os.environ.get("BESTNEXT_BENCH_DISPATCH_N", "2000"))
AT = datetime(2025, 2, 18, 10, 0, tzinfo=UTC)


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = b'{"id": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        return


class _SinkServer(ThreadingHTTPServer):
    request_queue_size = 256  # the dispatcher sends several webhooks at a time
    daemon_threads = True


def _container(url: str, workdir: Path) -> Container:
    settings = Settings(database_url=url, environment="test", var_dir=workdir, log_level="WARNING",
                        log_file=workdir / "bench.log", sqlite_synchronous="NORMAL")
    container = build(settings, clock=VirtualClock(AT), configure_logging=False)
    upgrade(container.engine)
    return container


def _round(container: Container, providers: Callable[[], Provider], workers: int) -> dict[str, Any]:
    actions = [OutboundAction(person_id=f"bench-{uuid.uuid4().hex[:10]}", channel="push", purpose="service",
                              action="answer_request", due_at=AT, text="Il tuo token è in viaggio.")
               for _ in range(N)]
    started = time.perf_counter()
    with container.engine.begin() as conn:
        for a in actions:
            outbox.enqueue(conn, a)
    enqueued = time.perf_counter() - started
    with container.engine.begin() as conn:  # earlier rounds' sends do not count for this one
        before = outbox.status(conn).by_channel.get("push", {}).get("sent", 0)
    ds = [dispatcher(container, chosen={"push": providers()}) for _ in range(workers)]
    started = time.perf_counter()
    threads = [threading.Thread(target=d.run_until_idle) for d in ds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    with container.engine.begin() as conn:
        sent = outbox.status(conn).by_channel.get("push", {}).get("sent", 0)
    return {"actions": N, "dispatchers": workers, "enqueue_per_s": round(N / enqueued),
            "dispatch_per_s": round(N / took), "all_sent": sent - before == N}


def _suite(url: str, workdir: Path, parallel: bool) -> dict[str, Any]:
    container = _container(url, workdir)
    server = _SinkServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = httpx.Client()
    hook = f"http://127.0.0.1:{server.server_address[1]}/push"
    try:
        result = {"sandbox": _round(container, SandboxProvider, 1),
                  "http_sink": _round(container, lambda: WebhookProvider(client, hook, "bench"), 1)}
        if parallel:
            result["http_sink_2_dispatchers"] = _round(
                container, lambda: WebhookProvider(client, hook, "bench"), 2)
        return result
    finally:
        server.shutdown()
        client.close()
        container.dispose()


def run(workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"sqlite": _suite(fresh_sqlite(workdir / "dispatch.db"), workdir, parallel=False)}
    try:
        url, drop = pg_database()
    except psycopg.Error as exc:
        result["postgresql"] = {"error": f"PostgreSQL unavailable: {exc}"}
        return result
    try:
        result["postgresql"] = _suite(url, workdir, parallel=True)
    finally:
        drop()
    return result
