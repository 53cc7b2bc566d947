"""``bestnext worker --role processors|timers|dispatch`` and ``bestnext timers status``."""

from __future__ import annotations

import signal
import threading

import typer

from bestnext.db import read
from bestnext.timers import store

app = typer.Typer(help="Durable timers.", no_args_is_help=True)
ROLES = ("processors", "timers", "dispatch")


def worker(role: str = typer.Option("dispatch", "--role", help="processors, timers or dispatch")) -> None:
    """Run a background worker process (production mode, several per role on PostgreSQL)."""
    from bestnext.cli.common import console, container
    from bestnext.eventlog import BackgroundRunner
    from bestnext.timers.service import TimerLoop

    if role not in ROLES:
        console.print(f"unknown worker role '{role}' (one of {', '.join(ROLES)})")
        raise typer.Exit(2)
    if role == "dispatch":
        from bestnext.channels.cli import run_dispatch_worker

        run_dispatch_worker()
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with container() as c:
        loop = TimerLoop(c.service("timers")) if role == "timers" else None
        runner = BackgroundRunner(c.pipeline, c.notifier) if role == "processors" else None
        for part in (loop, runner):
            if part is not None:
                part.start()
        console.print(f"{role} worker running")
        stop.wait()
        for part in (loop, runner):
            if part is not None:
                part.stop()


@app.command("status")
def status() -> None:
    """Timers by status and the next due time."""
    from bestnext.cli.common import container, print_json

    with container() as c, read(c.engine) as conn:
        due = store.next_due(conn)
        print_json({"counts": store.counts(conn), "next_due": due.isoformat() if due else None})
