"""Dashboards: figures, CSV of every table, Parquet of the event log readable by DuckDB."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import duckdb
from sqlalchemy import func, select

from bestnext.access import Role
from bestnext.bootstrap import Container
from bestnext.eventlog.tables import events
from tests.integration.console.helpers import client_for, load_scenario, login, make_user

HTML = {"accept": "text/html"}


def test_analyst_sees_the_funnel_and_exports_csv_and_parquet(container: Container, tmp_path: Path) -> None:
    load_scenario(container, "martina")
    load_scenario(container, "antonio")
    make_user(container, "analyst", Role.ANALYST)
    with container.engine.begin() as conn:
        logged = conn.execute(select(func.count()).select_from(events)).scalar_one()
    with client_for(container) as client:
        login(client, "analyst")
        page = client.get("/console/dashboards", headers=HTML).text
        names = re.findall(r'href="/console/dashboards/csv/([a-z_]+)"', page)
        assert {"funnel", "cohorts", "pressure_channel", "pressure_person", "case_sla", "models", "uplift",
                "outbox"} <= set(names)
        assert 'data-chart="' in page
        for name in names:
            response = client.get(f"/console/dashboards/csv/{name}")
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        funnel = list(csv.DictReader(io.StringIO(client.get("/console/dashboards/csv/funnel").text)))
        assert [r["stage"] for r in funnel] == ["lead", "prospect", "customer"]
        assert sum(int(r["now"]) for r in funnel) == 2  # Martina and Antonio
        parquet = client.get("/console/dashboards/events.parquet")
        assert parquet.status_code == 200
    path = tmp_path / "events.parquet"
    path.write_bytes(parquet.content)
    con = duckdb.connect()
    count, people = con.execute(f"SELECT count(*), count(DISTINCT person) FROM '{path}'").fetchone()  # type: ignore[misc]
    assert count == logged and people >= 2
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{path}'").fetchall()]
    assert "payload" not in columns  # analysts see behaviour, not who
    assert "martina" not in parquet.content.decode("latin-1").lower()


def test_csv_of_an_unknown_table_is_404(container: Container) -> None:
    make_user(container, "analyst", Role.ANALYST)
    with client_for(container) as client:
        login(client, "analyst")
        assert client.get("/console/dashboards/csv/nope").status_code == 404
