"""CLI of channels: ``bestnext outbox status|redrive|dispatch``, ``tasks list``, ``cases list``."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import typer

from bestnext.channels import calls, cases, outbox
from bestnext.db import read

# ``bestnext.cli.common`` is imported inside the commands: the root CLI imports this module
# while it is being built, so a top-level import would be circular.

outbox_app = typer.Typer(help="The outbox of outbound actions.", no_args_is_help=True)
tasks_app = typer.Typer(help="Call-center tasks.", no_args_is_help=True)
cases_app = typer.Typer(help="Service cases.", no_args_is_help=True)


@outbox_app.command("check")
def outbox_check(config_dir: Path = typer.Argument(..., help="A bank configuration directory.")) -> None:
    """Check channels.yaml and operators.yaml for real sending (BESTNEXT_SANDBOX=false):
    providers buildable, their secrets' variables set, opening hours valid."""
    from bestnext.channels.wiring import check
    from bestnext.cli.common import console

    problems = check(config_dir)
    for problem in problems:
        console.print(f"[red]✗[/red] {problem}")
    if problems:
        raise typer.Exit(1)
    console.print("channels and operators configuration: ok")


@outbox_app.command("status")
def outbox_status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Queue depth, age of the oldest pending action, actions by channel and status."""
    from bestnext.cli.common import console, container, print_json
    with container() as c, read(c.engine) as conn:
        state = outbox.status(conn)
        now = c.clock.now()
    age = (now - state.oldest_pending_due_at).total_seconds() if state.oldest_pending_due_at else 0.0
    data = {"depth": state.depth, "oldest_pending_age_seconds": max(0.0, age), "by_channel": state.by_channel,
            "failed_attempts": state.failures}
    if as_json:
        print_json(data)
        return
    console.print(f"queue depth {state.depth}, oldest pending {max(0.0, age):.0f} s")
    for channel, counts in sorted(state.by_channel.items()):
        console.print(f"  {channel:12} " + "  ".join(f"{k}={v}" for k, v in sorted(counts.items()))
                      + f"  failed_attempts={state.failures.get(channel, 0)}")


@outbox_app.command("redrive")
def outbox_redrive(action_id: str | None = typer.Argument(None),
                   all_dead: bool = typer.Option(False, "--all-dead")) -> None:
    """Put a dead action (or every dead action) back in the queue."""
    from bestnext.cli.common import console, container
    if (action_id is None) == (not all_dead):
        console.print("give an action id or --all-dead")
        raise typer.Exit(2)
    with container() as c, c.engine.begin() as conn:
        n = outbox.redrive(conn, c.clock.now(), None if all_dead else action_id)
    console.print(f"redriven: {n}")
    if not n:
        raise typer.Exit(1)


def run_dispatch_worker(poll: float | None = None) -> None:
    """Dispatch until SIGTERM/SIGINT (``bestnext worker --role dispatch``)."""
    from bestnext.channels import metrics
    from bestnext.channels.wiring import dispatcher
    from bestnext.cli.common import console, container

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with container() as c:
        metrics.install(c.engine, c.clock)
        worker = dispatcher(c)
        if poll is not None:
            worker.config = worker.config.model_copy(
                update={"dispatch": worker.config.dispatch.model_copy(update={"poll_seconds": poll})})
        console.print(f"dispatch worker {worker.worker} (sandbox={c.settings.sandbox})")
        worker.run_forever(stop)


@outbox_app.command("dispatch")
def outbox_dispatch(once: bool = typer.Option(False, "--once", help="Dispatch what is due, then exit.")) -> None:
    """Run a dispatcher in the foreground."""
    from bestnext.cli.common import console, container
    if not once:
        run_dispatch_worker()
        return
    from bestnext.channels.wiring import dispatcher

    with container() as c:
        console.print(f"dispatched: {dispatcher(c).run_until_idle()}")


@tasks_app.command("list")
def tasks_list(queue: str | None = None, status: str | None = None) -> None:
    """Call tasks by priority and due time."""
    from bestnext.cli.common import container, print_json
    with container() as c, read(c.engine) as conn:
        print_json([_row(t) for t in calls.list_tasks(conn, queue=queue, status=status)])


@cases_app.command("list")
def cases_list(status: str | None = None, person: str | None = typer.Option(None, "--person")) -> None:
    """Service cases (``--status open`` for those still open)."""
    from bestnext.cli.common import container, print_json
    with container() as c, read(c.engine) as conn:
        print_json([_row(x) for x in cases.list_cases(conn, status=status, person_id=person)])


def _row(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__ if name not in ("context", "history")}


def mount(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(tasks_app, name="tasks")
    app.add_typer(cases_app, name="cases")


def worker(role: str = typer.Option("dispatch", "--role", help="dispatch (more roles: other contexts)")) -> None:
    """Run a background worker process (production mode on PostgreSQL)."""
    from bestnext.cli.common import console
    if role != "dispatch":
        console.print(f"unknown worker role '{role}'")
        raise typer.Exit(2)
    run_dispatch_worker()


def mount_worker(app: typer.Typer) -> None:
    """``bestnext worker --role dispatch``, unless a root ``worker`` command already exists."""
    if not any((c.name or getattr(c.callback, "__name__", "")) == "worker" for c in app.registered_commands):
        app.command("worker")(worker)
