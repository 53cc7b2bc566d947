"""Dashboards of the console: every figure is a :class:`DataTable`, shown as a table (and a
chart where it helps) and exported as CSV; the event log is exported as Parquet for DuckDB.

Reads only, through the owning contexts' services where they exist (channels, decisions) and
read-only named queries (``console.store``) where they do not.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection

from bestnext.access.pseudonym import pseudonym
from bestnext.channels import cases, outbox
from bestnext.channels.model import OutboxRow, Status
from bestnext.clock import to_rome
from bestnext.console import store
from bestnext.decisions import services as decisions
from bestnext.decisions.contact_policy import load_config
from bestnext.errors import NotFound

STAGES = ("lead", "prospect", "customer")


@dataclass(frozen=True, slots=True)
class DataTable:
    """A named table of figures."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]]

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [r[index] for r in self.rows]


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to 3 decimals, None when ``whole`` is 0.

    >>> rate(1, 3), rate(0, 0)
    (0.333, None)
    """
    return round(part / whole, 3) if whole else None


def funnel(stages: Iterable[str | None]) -> DataTable:
    """People at each stage now, and how many reached at least that stage.

    >>> funnel(["lead", "customer", "prospect", "lead", None]).rows
    [['lead', 2, 4, None], ['prospect', 1, 2, 0.5], ['customer', 1, 1, 0.5]]
    """
    counts = Counter(s for s in stages if s in STAGES)
    rows: list[list[Any]] = []
    for i, stage in enumerate(STAGES):
        reached = sum(counts[s] for s in STAGES[i:])
        previous = rows[-1][2] if rows else None
        rows.append([stage, counts[stage], reached, rate(reached, previous) if previous is not None else None])
    return DataTable("funnel", "Lifecycle funnel", ["stage", "now", "reached", "conversion"], rows)


def cohorts(people: Iterable[tuple[str | None, str | None]]) -> DataTable:
    """Conversion by month of first contact: (first seen ISO time, stage now) per person.

    >>> cohorts([("2025-02-21T10:35:00+00:00", "customer"), ("2025-02-03T10:00:00+00:00", "lead"),
    ...          ("2025-04-18T21:05:00+00:00", "prospect")]).rows
    [['2025-02', 2, 1, 1, 0.5, 1.0], ['2025-04', 1, 1, 0, 1.0, 0.0]]
    """
    by_month: dict[str, Counter[str]] = defaultdict(Counter)
    for first_seen, stage in people:
        if not first_seen or stage not in STAGES:
            continue
        month = to_rome(datetime.fromisoformat(first_seen)).strftime("%Y-%m")
        by_month[month][stage] += 1
    rows = []
    for month in sorted(by_month):
        c = by_month[month]
        leads = c["lead"] + c["prospect"] + c["customer"]
        prospects = c["prospect"] + c["customer"]
        rows.append([month, leads, prospects, c["customer"], rate(prospects, leads), rate(c["customer"], prospects)])
    return DataTable("cohorts", "Conversion by month of first contact",
                     ["month", "leads", "prospects", "customers", "lead_to_prospect", "prospect_to_customer"], rows)


def pressure_by_channel(sent: list[OutboxRow], now: datetime) -> DataTable:
    """Actions sent per channel and purpose: in all, and in the last 30 days."""
    rows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in sent:
        key = (row.action.channel, row.action.purpose)
        rows[key][0] += 1
        rows[key][1] += (row.sent_at or row.action.due_at) >= now - timedelta(days=30)
    return DataTable("pressure_channel", "Contact pressure per channel", ["channel", "purpose", "sent", "sent_30d"],
                     [[c, p, *v] for (c, p), v in sorted(rows.items())])


def peak_in_window(times: list[datetime], window: timedelta) -> int:
    """The most contacts that fell within any one window.

    >>> from datetime import UTC
    >>> d = [datetime(2025, 1, day, tzinfo=UTC) for day in (1, 2, 3, 20)]
    >>> peak_in_window(d, timedelta(days=7)), peak_in_window([], timedelta(days=7))
    (3, 0)
    """
    times, best, start = sorted(times), 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def pressure_by_person(sent: list[OutboxRow], window_days: int, budget: int, key: str) -> DataTable:
    """Per person, the peak of marketing contacts within the policy's window against its budget
    (people pseudonymised: this is about pressure, not about who)."""
    times: dict[str, list[datetime]] = defaultdict(list)
    for r in sent:
        if r.action.purpose == "marketing":
            times[r.action.person_id].append(r.sent_at or r.action.due_at)
    peaks = sorted(((peak_in_window(ts, timedelta(days=window_days)), pid) for pid, ts in times.items()), reverse=True)
    rows = [[pseudonym(pid, key), len(times[pid]), n, budget, rate(n, budget)] for n, pid in peaks[:50]]
    return DataTable("pressure_person", f"Marketing contacts per person (peak in {window_days} days)",
                     ["person", "contacts", "peak_in_window", "budget", "budget_use"], rows)


def case_sla(all_cases: list[cases.Case], now: datetime) -> DataTable:
    """Service cases per type: open, overdue, closed on time and late."""
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for c in all_cases:
        r = rows[c.type]
        if c.closed_at is None:
            r[0] += 1
            r[1] += c.sla_due_at < now
        else:
            r[2 if c.closed_at <= c.sla_due_at else 3] += 1
    return DataTable("case_sla", "SLA of service cases",
                     ["type", "open", "open_overdue", "closed_on_time", "closed_late", "on_time_rate"],
                     [[t, *v, rate(v[2], v[2] + v[3])] for t, v in sorted(rows.items())])


def requests_at_risk(conn: Connection, now: datetime) -> DataTable:
    rows = decisions.at_risk_of_abandonment(conn, now, timedelta(hours=24))
    return DataTable("requests", "People's requests due within 24 hours (SLA)", ["kind", "channel", "due"],
                     [[r.get("kind"), r.get("channel"), r.get("due_at")] for r in rows])


def models(conn: Connection) -> DataTable:
    report = decisions.models_report(conn)
    keys = sorted({k for v in report.values() for k in v if not isinstance(v[k], dict | list)})
    return DataTable("models", "Model performance (response rates, AUC, calibration)", ["arm", *keys],
                     [[arm, *(v.get(k) for k in keys)] for arm, v in sorted(report.items())])


def uplift(groups: dict[bool, tuple[int, int]]) -> DataTable:
    """Response rate of treated and control decisions, and the uplift.

    >>> uplift({False: (100, 12), True: (20, 1)}).rows
    [['treated', 100, 12, 0.12, 0.07], ['control', 20, 1, 0.05, None]]
    """
    treated, control = groups.get(False, (0, 0)), groups.get(True, (0, 0))
    t_rate, c_rate = rate(treated[1], treated[0]), rate(control[1], control[0])
    lift = round(t_rate - c_rate, 3) if t_rate is not None and c_rate is not None else None
    return DataTable("uplift", "Control-group uplift", ["group", "decisions", "responded", "response_rate", "uplift"],
                     [["treated", *treated, t_rate, lift], ["control", *control, c_rate, None]])


def outbox_health(conn: Connection, now: datetime) -> DataTable:
    """Actions per channel and delivery state, the queue depth and the age of the oldest pending."""
    status = outbox.status(conn)
    states = [s.value for s in Status]
    rows: list[list[Any]] = [[ch, *(per.get(s, 0) for s in states)] for ch, per in sorted(status.by_channel.items())]
    rows.append(["(all)", *(sum(r[i + 1] for r in rows) for i in range(len(states)))])
    oldest = status.oldest_pending_due_at
    late = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    return DataTable("outbox", f"Outbox health: depth {status.depth}, oldest pending overdue by {late:.0f} s",
                     ["channel", *states], rows)


def dashboards(conn: Connection, now: datetime, config_dir: Path, key: str) -> list[DataTable]:
    """Every table of the dashboards page."""
    people = store.profile_stages(conn)
    sent = outbox.sent_actions(conn)
    policy = load_config(config_dir)
    return [
        funnel(stage for _, stage in people), cohorts(people),
        pressure_by_channel(sent, now),
        pressure_by_person(sent, policy.marketing_window_days, policy.marketing_max_contacts, key),
        case_sla(cases.list_cases(conn, limit=100_000), now), requests_at_risk(conn, now),
        models(conn), uplift(store.decision_responses(conn)), outbox_health(conn, now),
    ]


def find(tables: list[DataTable], name: str) -> DataTable:
    for table in tables:
        if table.name == name:
            return table
    raise NotFound(f"No table '{name}'.")


def to_csv(table: DataTable) -> str:
    """The table as CSV with a header row.

    >>> to_csv(DataTable("t", "T", ["a", "b"], [[1, None]]))
    'a,b\\r\\n1,\\r\\n'
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.columns)
    writer.writerows([["" if v is None else v for v in row] for row in table.rows])
    return out.getvalue()


def events_parquet(conn: Connection, identified: bool, key: str) -> bytes:
    """The event log as Parquet. Without ``identified`` the payload is left out and the person
    and message ids are pseudonymised (analysts see behaviour, not who)."""
    rows = store.event_rows(conn)
    columns: dict[str, list[Any]] = {name: [] for name in (
        "seq", "source_id", "message_id", "type", "event", "touchpoint", "occurred_at", "received_at", "person")}
    payloads: list[str] = []
    for r in rows:
        for name in ("seq", "source_id", "type", "event", "touchpoint", "occurred_at", "received_at"):
            columns[name].append(getattr(r, name))
        columns["message_id"].append(r.message_id if identified else pseudonym(r.message_id, key))
        columns["person"].append(r.person_id if identified or r.person_id is None else pseudonym(r.person_id, key))
        if identified:
            payloads.append(orjson.dumps(r.payload).decode())
    table = pa.table({**columns, **({"payload": payloads} if identified else {})}, schema=_schema(identified))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _schema(identified: bool) -> pa.Schema:
    ts = pa.timestamp("us", tz="UTC")
    fields = [("seq", pa.int64()), ("source_id", pa.string()), ("message_id", pa.string()), ("type", pa.string()),
              ("event", pa.string()), ("touchpoint", pa.string()), ("occurred_at", ts), ("received_at", ts),
              ("person", pa.string())]
    return pa.schema(fields + ([("payload", pa.string())] if identified else []))
