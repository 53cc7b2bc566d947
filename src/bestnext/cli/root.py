"""Root commands (`serve`, `db`, `keys`) and the mounting of each context's commands."""

from __future__ import annotations

import typer
import uvicorn

from bestnext.access import Role
from bestnext.access import store as keys
from bestnext.cli.common import console, container, print_json

app = typer.Typer(help="bestnext: customer intelligence for retail banks.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for bank systems and people.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    from bestnext.migrate import upgrade

    with container() as c:
        upgrade(c.engine)
        console.print("database is up to date")


@db_app.command("revision")
def db_revision(message: str = typer.Option(..., "-m"), branch: str = typer.Option(..., "--branch")) -> None:
    """(Developers) autogenerate a migration on a context's branch."""
    from bestnext.migrate import new_revision

    with container() as c:
        new_revision(c.engine, message, branch)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: bool = True) -> None:
    """Serve the API (and the console), with processors and timers in the same process."""
    from bestnext.api.app import create_app, settle_heap
    from bestnext.bootstrap import build
    from bestnext.migrate import upgrade

    built = build()
    built.settings.run_workers = workers
    upgrade(built.engine)
    app = create_app(built)
    settle_heap()
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False,
                server_header=False)  # no product banner for scanners


@keys_app.command("create")
def keys_create(name: str, role: Role = typer.Option(Role.ADMIN, help="The key's role."),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    with container() as c, c.engine.begin() as conn:
        key_id, secret = keys.create_key(conn, name, role, c.clock.now())
    if as_json:
        print_json({"id": key_id, "name": name, "role": role.value, "key": secret})
    else:
        console.print(f"key [bold]{key_id}[/bold] ({role.value}): {secret}")


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (never their secrets)."""
    with container() as c, c.engine.begin() as conn:
        print_json(keys.list_keys(conn))


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key."""
    with container() as c, c.engine.begin() as conn:
        if not keys.revoke_key(conn, key_id, c.clock.now()):
            raise typer.Exit(1)


def _mount_contexts() -> None:
    """Each context's commands; contexts add theirs here."""
    from bestnext.access import users_cli

    app.add_typer(users_cli.app, name="users")
    from bestnext.decisions import cli as decisions_cli

    app.add_typer(decisions_cli.catalog_app, name="catalog")
    app.add_typer(decisions_cli.decisions_app, name="decisions")
    from bestnext.channels import cli as channels_cli

    channels_cli.mount(app)
    from bestnext.timers import cli as timers_cli

    app.command("worker")(timers_cli.worker)  # roles processors|timers|dispatch (dispatch: channels)
    app.add_typer(timers_cli.app, name="timers")
    channels_cli.mount_worker(app)
    from bestnext.access.cli import audit_app
    from bestnext.consent.cli import app as consents_app
    from bestnext.privacy.cli import app as privacy_app

    app.add_typer(consents_app, name="consents")
    app.add_typer(privacy_app, name="privacy")
    app.add_typer(audit_app, name="audit")
    from bestnext.ingest import cli as ingest_cli

    app.add_typer(ingest_cli.sources_app, name="sources")
    app.command("import")(ingest_cli.import_file)
    from bestnext.demo import cli as demo_cli
    from bestnext.journeys import cli as journeys_cli
    from bestnext.replay import cli as replay_cli

    app.add_typer(journeys_cli.app, name="journeys")
    app.add_typer(demo_cli.app, name="demo")
    app.command("replay")(replay_cli.replay)
    from bestnext.profiles.cli import app as profiles_app

    app.add_typer(profiles_app, name="profiles")
    from bestnext.decisions.learning import cli as learning_cli

    learning_cli.register(app)


_mount_contexts()


def main() -> None:
    app()
