"""``bestnext audit list`` and the principal of command-line use."""

from __future__ import annotations

# bestnext.cli.common is imported inside the commands: the CLI root imports this module while
# it mounts the contexts, and a top-level import of the CLI package would be circular.
import getpass
from datetime import datetime

import typer
from rich.table import Table

from bestnext.access import audit
from bestnext.access.model import Principal, Role
from bestnext.db import read
from bestnext.privacy import subjects

audit_app = typer.Typer(help="The audit log: who read what about whom, when and why.", no_args_is_help=True)


def cli_principal() -> Principal:
    """Whoever runs a command on the server (audited by OS user name)."""
    user = getpass.getuser()
    return Principal(f"cli:{user}", f"command line ({user})", Role.ADMIN)


@audit_app.command("list")
def list_entries(person: str | None = typer.Option(None, metavar="TYPE:VALUE"),
                 action: str | None = None, since: datetime | None = None, limit: int = 100,
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Audit entries, newest first."""
    from bestnext.cli.common import console, container, print_json
    with container() as c, read(c.engine) as conn:
        person_id = subjects.resolve(conn, *subjects.parse(person)) if person else None
        rows = audit.entries(conn, person_id=person_id, action=action, since=since, limit=limit)
    if as_json:
        print_json(rows)
        return
    table = Table("at", "who", "role", "action", "person", "why")
    for r in rows:
        table.add_row(str(r["at"]), r["principal_name"], r["role"], r["action"], r["person_id"] or "",
                      r["purpose"] or "")
    console.print(table)
