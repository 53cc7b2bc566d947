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


@app.command("show")
def show(who: str = typer.Argument(..., help="TYPE:VALUE (user_id:C100234, email:..., phone:...) or a person id")) -> None:
    """A person's journeys, with every step taken."""
    from bestnext.cli.common import container, err_console, print_json
    from bestnext.db import read
    from bestnext.journeys import services

    with container() as c, read(c.engine) as conn:
        person: str | None = who
        if ":" in who:
            from bestnext.identity import services as identity

            kind, value = who.split(":", 1)
            person = identity.find_person(conn, kind, value)
        if person is None:
            err_console.print(f"nobody known as {who}")
            raise typer.Exit(1)
        print_json(services.instances_of(conn, person))


def _control(journey_id: str, paused: bool) -> None:
    from bestnext.cli.common import container, print_json
    from bestnext.journeys import services

    with container() as c, c.engine.begin() as conn:
        change = services.pause if paused else services.resume
        print_json(change(conn, c.settings.config_dir, journey_id, "cli", c.clock.now()))


@app.command("pause")
def pause(journey_id: str = typer.Argument(..., help="Journey id")) -> None:
    """Pause a journey: no new entries; due steps of its instances are held, not lost."""
    _control(journey_id, True)


@app.command("resume")
def resume(journey_id: str = typer.Argument(..., help="Journey id")) -> None:
    """Resume a paused journey: held steps continue at once (in the timer loop of the server)."""
    _control(journey_id, False)
