"""Dashboards (marketing, analytics, compliance): funnel, contact pressure, SLA, models, outbox;
CSV of every table and the event log as Parquet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from bestnext.access.permissions import Permission
from bestnext.access.users import Session
from bestnext.api.deps import ContainerDep
from bestnext.console import analytics
from bestnext.console.session import allowed, permitted
from bestnext.console.templating import render
from bestnext.db import read

router = APIRouter(include_in_schema=False)
Analyst = Annotated[Session, Depends(permitted(Permission.ANALYTICS_READ))]


def _tables(container: ContainerDep) -> list[analytics.DataTable]:
    with read(container.engine) as conn:
        return analytics.dashboards(conn, container.clock.now(), container.settings.config_dir,
                                    container.settings.secret_key)


@router.get("/console/dashboards")
def dashboards_page(request: Request, session: Analyst, container: ContainerDep) -> Response:
    tables = _tables(container)
    by_name = {t.name: t for t in tables}
    charts = {
        "funnel": {"type": "bar", "labels": by_name["funnel"].column("stage"),
                   "series": {"now": by_name["funnel"].column("now"), "reached": by_name["funnel"].column("reached")}},
        "cohorts": {"type": "line", "labels": by_name["cohorts"].column("month"),
                    "series": {"lead_to_prospect": by_name["cohorts"].column("lead_to_prospect"),
                               "prospect_to_customer": by_name["cohorts"].column("prospect_to_customer")}},
        "pressure_channel": {"type": "bar", "labels": [f"{c}/{p}" for c, p in zip(
            by_name["pressure_channel"].column("channel"), by_name["pressure_channel"].column("purpose"),
            strict=True)], "series": {"sent": by_name["pressure_channel"].column("sent"),
                                      "sent_30d": by_name["pressure_channel"].column("sent_30d")}},
    }
    return render(request, "dashboards.html", {"tables": tables, "charts": charts})


@router.get("/console/dashboards/csv/{name}")
def dashboard_csv(name: str, session: Analyst, container: ContainerDep) -> Response:
    table = analytics.find(_tables(container), name)
    return Response(analytics.to_csv(table), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{table.name}.csv"'})


@router.get("/console/dashboards/events.parquet")
def events_parquet(session: Analyst, container: ContainerDep) -> Response:
    identified = allowed(session, Permission.PROFILES_IDENTIFIED)
    with read(container.engine) as conn:
        body = analytics.events_parquet(conn, identified, container.settings.secret_key)
    return Response(body, media_type="application/vnd.apache.parquet",
                    headers={"Content-Disposition": 'attachment; filename="events.parquet"'})
