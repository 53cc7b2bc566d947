"""Helpers shared by CLI commands: the container, JSON output, error reporting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import typer
from rich.console import Console

from bestnext.bootstrap import Container, build
from bestnext.errors import BestnextError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # "file:line: field: message" stays on one line


@contextmanager
def container() -> Iterator[Container]:
    """A container for one command; errors of the tree become a message and exit code 1."""
    built = build()
    try:
        yield built
    except BestnextError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}")
        for item in exc.errors:
            err_console.print(f"  - {item}")
        raise typer.Exit(1) from None
    finally:
        built.dispose()


def print_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout (datetimes as ISO 8601)."""
    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode())
