"""The web console: server-rendered pages (Jinja2 + htmx + Chart.js, vendored) for the bank's
people, on the same services as the API and the CLI."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bestnext.bootstrap import Container

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, container: Container) -> None:
    """Mount the console on ``app``: session middleware, HTML errors, static files, pages."""
    from bestnext.console import errors, routes
    from bestnext.console.session import install_middleware

    install_middleware(app, container)
    errors.install(app)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    for router in routes.routers():
        app.include_router(router)


__all__ = ["install"]
