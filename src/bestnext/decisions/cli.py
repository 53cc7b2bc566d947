"""``bestnext catalog check FILE`` and ``bestnext decisions ...``."""

from __future__ import annotations

from pathlib import Path

import typer

from bestnext.errors import ConfigInvalid

# bestnext.cli.common is imported inside the commands: importing it here would import the CLI
# root, which mounts this module (a cycle when this module is imported first).

catalog_app = typer.Typer(help="The action catalog.", no_args_is_help=True)
decisions_app = typer.Typer(help="Best next actions and the contact policy.", no_args_is_help=True)


@catalog_app.command("check")
def catalog_check(file: Path, as_json: bool = typer.Option(False, "--json")) -> None:
    """Validate a catalog file; every error is printed with its line and field."""
    from bestnext.cli.common import console, err_console, print_json
    from bestnext.decisions.catalog import load_catalog

    try:
        catalog = load_catalog(file)
    except ConfigInvalid as exc:
        if as_json:
            print_json({"valid": False, "errors": exc.errors or [{"message": exc.detail}]})
        else:
            err_console.print(exc.detail, style="red", markup=False, soft_wrap=True)
            for e in exc.errors:
                err_console.print(f"  line {e.get('line')}: {e.get('field') or '-'}: {e.get('message')}",
                                  markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if as_json:
        print_json({"valid": True, "version": catalog.version, "actions": len(catalog.actions),
                    "offers": len(catalog.offers)})
    else:
        console.print(f"{file}: valid (version {catalog.version}, {len(catalog.actions)} actions, "
                      f"{len(catalog.offers)} offers)", markup=False, soft_wrap=True)


@catalog_app.command("activate")
def catalog_activate(file: Path) -> None:
    """Validate a catalog file, store it as the next version and make it the active catalog."""
    from bestnext.cli.common import container, print_json
    from bestnext.decisions import catalog_versions

    text = file.read_text(encoding="utf-8")
    with container() as c, c.engine.begin() as conn:
        stored = catalog_versions.submit(conn, text, c.settings.config_dir, "cli", c.clock.now())
        print_json(catalog_versions.activate(conn, stored["number"], "cli", c.clock.now()))


@catalog_app.command("versions")
def catalog_list() -> None:
    """The stored catalog versions, newest first."""
    from bestnext.cli.common import container, print_json
    from bestnext.db import read
    from bestnext.decisions import catalog_versions

    with container() as c, read(c.engine) as conn:
        print_json(catalog_versions.versions(conn))


@decisions_app.command("at-risk")
def decisions_at_risk() -> None:
    """Persons whose own request has no answer within its time ("don't abandon")."""
    from bestnext.cli.common import container, print_json
    from bestnext.decisions import services

    with container() as c, c.engine.begin() as conn:
        print_json(services.at_risk_of_abandonment(conn, c.clock.now()))


@decisions_app.command("models")
def decisions_models() -> None:
    """Monitoring of the online models (responses, AUC, calibration, drift)."""
    from bestnext.cli.common import container, print_json
    from bestnext.decisions import services

    with container() as c, c.engine.begin() as conn:
        print_json(services.models_report(conn))
