"""``bestnext users``: console users (create, list, disable)."""

from __future__ import annotations

# bestnext.cli.common is imported inside the commands: the CLI root imports this module while
# it mounts the contexts, and a top-level import of the CLI package would be circular.
import secrets

import typer

from bestnext.access import users
from bestnext.access.model import Role

app = typer.Typer(help="Console users (the bank's people who log in to the web console).",
                  no_args_is_help=True)


@app.command("create")
def create(username: str, role: Role = typer.Option(..., help="The user's role."),
           password: str | None = typer.Option(None, help="Generated and printed once if omitted."),
           name: str | None = typer.Option(None, help="Display name."),
           branch: str | None = typer.Option(None, help="Branch id (branch users), e.g. MI02."),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Create a console user."""
    from bestnext.cli.common import console, container, print_json
    generated = password is None
    secret = password or secrets.token_urlsafe(12)
    with container() as c, c.engine.begin() as conn:
        user = users.create_user(conn, username, role, secret, c.clock.now(),
                                 display_name=name, branch_id=branch)
    if as_json:
        print_json({"id": user.id, "username": user.username, "role": user.role.value,
                    "branch_id": user.branch_id, **({"password": secret} if generated else {})})
        return
    console.print(f"user [bold]{user.username}[/bold] ({user.role.value}) created")
    if generated:
        console.print(f"password (shown once): {secret}")


@app.command("list")
def list_() -> None:
    """List console users (never their password hashes)."""
    from bestnext.cli.common import container, print_json
    with container() as c, c.engine.begin() as conn:
        print_json([{"username": u.username, "role": u.role.value, "branch_id": u.branch_id,
                     "created_at": u.created_at, "disabled_at": u.disabled_at}
                    for u in users.list_users(conn)])


@app.command("disable")
def disable(username: str) -> None:
    """Disable a user and end their sessions."""
    from bestnext.cli.common import console, container
    with container() as c, c.engine.begin() as conn:
        users.disable_user(conn, username, c.clock.now())
    console.print(f"user [bold]{username}[/bold] disabled")


@app.command("demo")
def demo() -> None:
    """Create the demo bank's users (one per role) and print their logins."""
    from bestnext.cli.common import console, container
    with container() as c, c.engine.begin() as conn:
        if c.settings.environment == "production":
            raise typer.BadParameter("demo users are never created in production")
        logins = users.create_demo_users(conn, c.clock.now())
    for username, password, role in logins:
        console.print(f"{role.value:<11} {username:<12} {password}")
