"""``bestnext sources ...`` and ``bestnext import FILE``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bestnext.db import read
from bestnext.ingest import importer, processing, services
from bestnext.ingest.model import Source

if TYPE_CHECKING:
    from bestnext.bootstrap import Container

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
                as_json: bool = typer.Option(False, "--json"),
                no_process: bool = typer.Option(False, "--no-process",
                                                help="Only store the events; the processors run later.")) -> None:
    """Load a history file: same validation and idempotency as the API; then run the processors
    (identity, profiles, consent, ...) until idle, unless ``--no-process``."""
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
        processed = None if no_process else _process(c, transient=as_json)
    summary = {"rows": report.rows, "accepted": report.accepted, "duplicates": report.duplicates,
               "processed": processed,
               "rejected": len(report.errors), "errors": [
                   {"line": e.index, "field": e.field, "message": e.message} for e in report.errors]}
    if as_json:
        print_json(summary)
    else:
        console.print(f"{report.rows} rows: {report.accepted} stored, {report.duplicates} duplicates, "
                      f"{len(report.errors)} rejected"
                      + ("" if processed is None else f"; processors caught up ({processed} steps)"))
        for e in report.errors:
            err_console.print(f"  line {e.index}: {e.field or 'row'} {e.message}")
    if report.errors:
        raise typer.Exit(2)


def _process(c: Container, *, transient: bool) -> int:
    """Run the processors until idle, with a progress bar of the events left (on stderr)."""
    from bestnext.cli.common import err_console
    columns = (TextColumn("processing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=transient) as bar:
        task = bar.add_task("process", total=None)
        return processing.run_until_idle(
            c.pipeline, lambda done, total: bar.update(task, completed=done, total=total))
