"""``bestnext consents show TYPE:VALUE``."""

from __future__ import annotations

# bestnext.cli.common is imported inside the commands: the CLI root imports this module while
# it mounts the contexts, and a top-level import of the CLI package would be circular.
import typer
from rich.table import Table

from bestnext.access.cli import cli_principal
from bestnext.consent import services
from bestnext.privacy import subjects

app = typer.Typer(help="Consents: the ledger of each person's seven purposes.", no_args_is_help=True)


@app.command("show")
def show(ref: str = typer.Argument(..., metavar="TYPE:VALUE"), as_json: bool = typer.Option(False, "--json"),
         reason: str = typer.Option("consent check from the command line", help="Why (audited).")) -> None:
    """Current state and full history of a person's consents."""
    from bestnext.cli.common import console, container, print_json
    id_type, value = subjects.parse(ref)
    with container() as c:
        shown = services.show_subject(c.engine, c.clock, cli_principal(), id_type, value, reason)
    if as_json:
        print_json(shown)
        return
    current = Table("purpose", "state", title=f"person {shown['person_id']}")
    for purpose, granted in shown["current"].items():
        current.add_row(purpose, "[green]granted[/green]" if granted else "[red]refused[/red]")
    console.print(current)
    history = Table("at", "purpose", "granted", "touchpoint", "message", "operator", "legal text")
    for e in shown["history"]:
        history.add_row(e["at"], e["purpose"], str(e["granted"]), e["touchpoint"], e["message_id"] or "",
                        e["operator"] or "", e["legal_version"] or "")
    console.print(history)
