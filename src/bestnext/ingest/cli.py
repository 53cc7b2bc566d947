"""``bestnext sources ...`` and ``bestnext import FILE``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bestnext.db import read
from bestnext.ingest import importer, services
from bestnext.ingest.model import Source

sources_app = typer.Typer(help="Sources: the touchpoints that send events, with their write keys.",
                          no_args_is_help=True)


def _public(source: Source) -> dict[str, object]:
    return {"id": source.id, "name": source.name, "touchpoint": source.touchpoint,
            "created_at": source.created_at, "revoked_at": source.revoked_at}


@sources_app.command("create")
def create(name: str, touchpoint: str = typer.Option(..., "--touchpoint", help="e.g. web, app, branch"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Create a source and print its write key once (only its hash is stored)."""
    from bestnext.cli.common import console, container, print_json  # lazy: the CLI root imports us
    with container() as c, c.engine.begin() as conn:
        source, write_key = services.create_source(conn, name, touchpoint, c.clock.now())
    if as_json:
        print_json({"id": source.id, "name": source.name, "touchpoint": source.touchpoint,
                    "write_key": write_key})
    else:
        console.print(f"source [bold]{source.name}[/bold] ({source.id}), write key: {write_key}")


@sources_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """List sources (never their write keys)."""
    from bestnext.cli.common import console, container, print_json
    with container() as c, read(c.engine) as conn:
        found = services.list_sources(conn)
    if as_json:
        print_json([_public(s) for s in found])
        return
    table = Table("id", "name", "touchpoint", "created", "revoked")
    for s in found:
        table.add_row(s.id, s.name, s.touchpoint, s.created_at.isoformat(timespec="seconds"),
                      s.revoked_at.isoformat(timespec="seconds") if s.revoked_at else "")
    console.print(table)


@sources_app.command("revoke")
def revoke(source_id: str) -> None:
    """Revoke a source's write key (it stops working within seconds)."""
    from bestnext.cli.common import console, container
    with container() as c, c.engine.begin() as conn:
        services.revoke_source(conn, source_id, c.clock.now())
    console.print(f"source {source_id} revoked")


def import_file(file: Path = typer.Argument(..., help=".jsonl, .csv (dotted columns) or .parquet"),
                source: str = typer.Option("import", "--source", help="Source name (created if new)."),
                touchpoint: str = typer.Option("import", "--touchpoint",
                                               help="Touchpoint of a new source; rows may name their own."),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Load a history file: same validation and idempotency as the API."""
    from bestnext.cli.common import console, container, err_console, print_json
    with container() as c:
        with c.engine.begin() as conn:
            src = services.ensure_source(conn, source, touchpoint, c.clock.now())
        total = importer.count_rows(file) if file.is_file() else None
        columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err_console, transient=as_json) as bar:
            task = bar.add_task("import", total=total)
            report = importer.import_file(c.engine, c.clock, src, file,
                                          progress=lambda n: bar.advance(task, n))
    summary = {"rows": report.rows, "accepted": report.accepted, "duplicates": report.duplicates,
               "rejected": len(report.errors), "errors": [
                   {"line": e.index, "field": e.field, "message": e.message} for e in report.errors]}
    if as_json:
        print_json(summary)
    else:
        console.print(f"{report.rows} rows: {report.accepted} stored, {report.duplicates} duplicates, "
                      f"{len(report.errors)} rejected")
        for e in report.errors:
            err_console.print(f"  line {e.index}: {e.field or 'row'} {e.message}")
    if report.errors:
        raise typer.Exit(2)
