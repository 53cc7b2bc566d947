"""``bestnext demo load`` and ``bestnext demo up``."""

from __future__ import annotations

import typer

app = typer.Typer(help="The demo bank.", no_args_is_help=True)


@app.command("load")
def load() -> None:
    """Migrate and load the demo bank (a source, an admin key, console users)."""
    from bestnext.cli.common import container
    from bestnext.demo.service import load_demo, print_logins

    with container() as c:
        print_logins(load_demo(c))


@app.command("up")
def up(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Load the demo bank, replay the seed histories into it, then serve."""
    from bestnext.cli.common import console, container
    from bestnext.cli.root import serve
    from bestnext.demo.service import load_demo, print_logins, replay_seeds

    with container() as c:
        logins = load_demo(c)
        replayed = replay_seeds(c)
    print_logins(logins)
    console.print(f"replayed {replayed} seed messages (Martina, Antonio, the Rossi family) on a virtual clock")
    serve(host=host, port=port, workers=True)
