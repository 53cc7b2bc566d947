"""``bestnext worker --role processors|timers|dispatch`` and ``bestnext timers status``.

What each role runs is :mod:`bestnext.workers` (shared with ``bestnext serve``)."""

from __future__ import annotations

import signal
import threading
from enum import StrEnum

import typer

from bestnext.db import read
from bestnext.timers import store

app = typer.Typer(help="Durable timers.", no_args_is_help=True)


class Role(StrEnum):
    PROCESSORS = "processors"
    TIMERS = "timers"
    DISPATCH = "dispatch"


def worker(roles: list[Role] = typer.Option([], "--role", case_sensitive=False, show_default=False, help=(
        "Repeat for several; default: every role. processors: the event pipeline (one active "
        "process on PostgreSQL, the others stand by); timers: the timer loop (journey waits, "
        "ignored offers) and the daily retention sweep; dispatch: the outbox dispatcher (sends, "
        "call escalation)."))) -> None:
    """Run background duties until SIGTERM/SIGINT: those of every role, or of the ``--role``
    given (production: ``serve --no-workers`` plus workers covering every role; several per
    role on PostgreSQL; each duty still runs once)."""
    from bestnext.cli.common import console, container
    from bestnext.workers import ROLES, Background

    chosen = [r.value for r in dict.fromkeys(roles)] or list(ROLES)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with container() as c:
        background = Background(c, chosen)
        background.start()
        console.print(f"worker running: {', '.join(chosen)} (sandbox={c.settings.sandbox})")
        try:
            stop.wait()
        finally:
            background.stop()


@app.command("status")
def status() -> None:
    """Timers by status and the next due time."""
    from bestnext.cli.common import container, print_json

    with container() as c, read(c.engine) as conn:
        due = store.next_due(conn)
        print_json({"counts": store.counts(conn), "next_due": due.isoformat() if due else None})
