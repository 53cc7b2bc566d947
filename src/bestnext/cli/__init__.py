"""The ``bestnext`` command line: a Typer app that mounts each context's commands."""

from bestnext.cli.root import app, main

__all__ = ["app", "main"]
