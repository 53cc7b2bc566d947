"""Every router of the console, in one list."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from bestnext.console import (
        routes_auth,
        routes_config,
        routes_dashboards,
        routes_people,
        routes_privacy,
        routes_users,
        routes_work,
    )

    return [routes_auth.router, routes_people.router, routes_work.router, routes_privacy.router,
            routes_config.router, routes_dashboards.router, routes_users.router]
