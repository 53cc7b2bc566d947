"""``bestnext journeys check FILE`` and ``bestnext journeys list``."""

from __future__ import annotations

from pathlib import Path

import typer

from bestnext.journeys.config import check_text, load_journeys
from bestnext.settings import Settings

app = typer.Typer(help="Journeys of the bank (YAML).", no_args_is_help=True)


@app.command("check")
def check(files: list[Path] = typer.Argument(..., help="Journey YAML files.")) -> None:
    """Validate journey files; errors name the line and the field."""
    from bestnext.cli.common import console, err_console

    failed = False
    for path in files:
        errors = check_text(path.read_text(encoding="utf-8"), path.name)
        for e in errors:
            err_console.print(f"{path}:{e['line']}: {e['field']}: {e['message']}")
        failed |= bool(errors)
        if not errors:
            console.print(f"{path}: ok")
    if failed:
        raise typer.Exit(1)


@app.command("list")
def list_journeys() -> None:
    """The configured journeys, highest priority first."""
    from bestnext.cli.common import print_json

    print_json([{"id": j.id, "version": j.version, "priority": j.priority, "name": j.name,
                 "steps": len(j.steps)} for j in load_journeys(Settings().config_dir)])
