"""Every router of the console, in one list."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from bestnext.console import routes_auth

    return [routes_auth.router]
