"""``bestnext replay FILE [--json] [--until T]``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from bestnext.errors import BestnextError
from bestnext.replay.driver import iter_json
from bestnext.replay.service import replay_file


def replay(file: Path = typer.Argument(..., help="JSON lines, one Segment message a line."),
           as_json: bool = typer.Option(False, "--json", help="One JSON object per action."),
           until: str | None = typer.Option(None, "--until", help="ISO 8601; default 14 days after the last line.")) -> None:
    """Replay a customer history on a virtual clock and print the bank's actions."""
    from bestnext.cli.common import console, err_console

    try:
        end = datetime.fromisoformat(until) if until else None
        result = replay_file(file, end)
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] --until: {exc}")
        raise typer.Exit(2) from None
    except BestnextError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}")
        for item in exc.errors:
            err_console.print(f"  - {item}")
        raise typer.Exit(1) from None
    for number, message in result.errors:
        err_console.print(f"line {number}: rejected: {message}")
    for message_id, error in result.failures:
        err_console.print(f"message {message_id}: journeys failed on it ({error})")
    if as_json:
        for line in iter_json(result.actions):
            typer.echo(line)
        return
    table = Table(title=f"{file.name}: {len(result.actions)} actions")
    for col in ("at", "person", "channel", "purpose", "action", "product", "offer", "journey", "assignee"):
        table.add_column(col, no_wrap=True)
    table.add_column("text", overflow="ellipsis", no_wrap=True, max_width=60)
    for a in result.actions:
        at = str(a["at"])[:16].replace("T", " ")
        table.add_row(at, *(str(a[k] or "") for k in ("person", "channel", "purpose", "action", "product",
                                                       "offer", "journey", "assignee", "text")))
    Console(width=max(console.width, 220)).print(table)
