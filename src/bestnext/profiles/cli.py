"""`bestnext profiles ...`: show a profile, list and undo merges, rebuild from the log."""

from __future__ import annotations

from typing import Any

import typer
from rich.columns import Columns
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from bestnext.db import read
from bestnext.identity import services as identity
from bestnext.profiles import services

app = typer.Typer(help="Customer profiles and identity merges.", no_args_is_help=True)
console = Console()
# bestnext.cli.common is imported inside the commands: bestnext.cli mounts this module.


@app.command("show")
def show(ref: str = typer.Argument(..., metavar="TYPE:VALUE",
                                   help="e.g. email:anna@example.com, user_id:C100234, person:<id>"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Show the profile of whoever holds an identifier."""
    from bestnext.cli.common import container, print_json

    with container() as c, read(c.engine) as conn:
        profile = services.profile_of(conn, *identity.parse_ref(ref)).public()
    if as_json:
        print_json(profile)
    else:
        render(profile)


@app.command("merges")
def merges(ref: str = typer.Argument(..., metavar="TYPE:VALUE"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """List the merges a person took part in (ids for `profiles unmerge`)."""
    from bestnext.cli.common import container, print_json

    with container() as c, read(c.engine) as conn:
        person = services.profile_of(conn, *identity.parse_ref(ref)).id
        found = [_merge_dict(m) for m in identity.merges_of(conn, person)]
    if as_json:
        print_json(found)
        return
    table = Table("merge", "survivor", "absorbed", "message", "at", "undone", title="Merges")
    for m in found:
        table.add_row(m["id"], m["survivor_id"], m["absorbed_id"], m["message_id"],
                      str(m["occurred_at"]), str(m["undone_at"] or ""))
    console.print(table)


@app.command("conflicts")
def conflicts(ref: str = typer.Argument(..., metavar="TYPE:VALUE"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """List the links a guard refused for a person (two customer numbers, shared devices)."""
    from bestnext.cli.common import container, print_json

    with container() as c, read(c.engine) as conn:
        person = services.profile_of(conn, *identity.parse_ref(ref)).id
        found = identity.conflicts_of(conn, person)
    if as_json:
        print_json(found)
        return
    table = Table("kind", "message", "person", "other person", "at", title="Refused links")
    for item in found:
        table.add_row(item["kind"], item["message_id"], item["person_id"], item["other_person_id"],
                      str(item["at"]))
    console.print(table)


@app.command("unmerge")
def unmerge(merge_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Undo a merge: both persons, their identities and their events are restored."""
    from bestnext.cli.common import container, print_json

    with container() as c, c.engine.begin() as conn:
        done = identity.unmerge(conn, merge_id, c.clock.now())
    result = _merge_dict(done)
    if as_json:
        print_json(result)
    else:
        console.print(f"merge {done.merge_id} undone: person [bold]{done.restored_id}[/bold] "
                      f"restored with {done.identities} identities and {done.moved_events} events")


@app.command("rebuild")
def rebuild() -> None:
    """Replay the event log into fresh profiles."""
    from bestnext.cli.common import container

    with container() as c, c.engine.begin() as conn:
        count = services.rebuild(conn)
    console.print(f"profiles rebuilt from {count} events")


def _merge_dict(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def render(p: dict[str, Any]) -> None:
    """A readable view of a profile: a header panel, identities, traits, products."""
    household = p["household"]["id"] if p["household"] else "-"
    head = (f"[bold]{p['id']}[/bold]\nstage: [cyan]{p['lifecycle_stage'] or 'anonymous'}[/cyan]"
            f"   events: {p['event_count']}   household: {household}\n"
            f"holdings: {', '.join(p['holdings']) or '-'}")
    console.print(Panel(head, title="Profile"))
    ids = Table("type", "value", title="Identities")
    for item in p["identities"]:
        ids.add_row(item["type"], item["value"])
    traits = Table("trait", "value", "source", "at", title="Traits")
    for name, value in p["traits"].items():
        src = p["trait_sources"][name]
        traits.add_row(name, str(value), src["source"], src["at"])
    interests = Table("product", "last signal", "message", title="Interests")
    for item in p["interests"]:
        interests.add_row(item["product"], item["at"], item["message_id"])
    console.print(Columns([ids, interests]))
    console.print(traits)
