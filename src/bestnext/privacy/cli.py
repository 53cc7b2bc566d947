"""``bestnext privacy export|erase TYPE:VALUE`` and ``bestnext privacy retention``."""

from __future__ import annotations

# bestnext.cli.common is imported inside the commands: the CLI root imports this module while
# it mounts the contexts, and a top-level import of the CLI package would be circular.
from pathlib import Path

import orjson
import typer

from bestnext.access.cli import cli_principal
from bestnext.privacy import housekeeping, retention, services, subjects

app = typer.Typer(help="Data subject rights and retention.", no_args_is_help=True)


@app.command("export")
def export(ref: str = typer.Argument(..., metavar="TYPE:VALUE"),
           out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file (default: stdout)."),
           reason: str = typer.Option("data subject access request", help="Why (audited).")) -> None:
    """Everything held on a person, as JSON."""
    from bestnext.cli.common import console, container, print_json
    id_type, value = subjects.parse(ref)
    with container() as c:
        data = services.export_subject(c.engine, c.clock, cli_principal(), id_type, value, reason)
    if out is None:
        print_json(data)
    else:
        out.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str))
        console.print(f"written to {out}")


@app.command("erase")
def erase(ref: str = typer.Argument(..., metavar="TYPE:VALUE"),
          yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
          reason: str = typer.Option("erasure request", help="Why (audited).")) -> None:
    """Erase a person's data everywhere, keeping only non-identifying tombstones."""
    from bestnext.cli.common import container, print_json
    id_type, value = subjects.parse(ref)
    if not yes:
        typer.confirm("Erase this person's data for good?", abort=True)
    with container() as c:
        result = services.erase_subject(c.engine, c.clock, cli_principal(), id_type, value, reason)
    print_json(result)


@app.command("retention")
def apply_retention(dry_run: bool = typer.Option(False, "--dry-run", help="Count, do not delete.")) -> None:
    """Apply the bank's retention rules (retention.yaml) now, and purge old bookkeeping rows
    (fired timers, sent messages...: its housekeeping section), with counts per kind."""
    from bestnext.cli.common import container, print_json
    with container() as c:
        counts, kept = retention.run(c, dry_run), housekeeping.run(c, dry_run)
    print_json({"dry_run": dry_run, "deleted" if not dry_run else "would_delete": counts, "housekeeping": kept})
