"""Catalog activation: an edited catalog is validated and stored as a numbered version; one
version is *active* and the decisions use it (falling back to the bank's ``catalog.yaml`` while
none is). Each decision checks the active number (one indexed query on a tiny table), so every
process notices a new activation at its next decision.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, update

from bestnext.decisions.catalog import Catalog, parse_catalog, product_ids
from bestnext.decisions.catalog_tables import catalog_versions as t
from bestnext.errors import NotFound

_ACTIVE = select(t.c.number).where(t.c.active.is_(True)).order_by(t.c.number.desc()).limit(1)


def _row(row: Any) -> dict[str, Any]:
    return {"number": row["number"], "catalog_version": row["catalog_version"], "active": bool(row["active"]),
            "created_by": row["created_by"], "created_at": row["created_at"].isoformat(),
            "activated_by": row["activated_by"],
            "activated_at": row["activated_at"].isoformat() if row["activated_at"] else None}


def submit(conn: Connection, text: str, config_dir: Path, by: str, now: datetime) -> dict[str, Any]:
    """Validate catalog YAML (``ConfigInvalid`` with line and field of each error) and store it
    as the next version, not yet active."""
    catalog = parse_catalog(text, "catalog", product_ids(config_dir))
    number = int(conn.execute(select(func.coalesce(func.max(t.c.number), 0))).scalar_one()) + 1
    conn.execute(t.insert().values(number=number, yaml=text, catalog_version=catalog.version, created_by=by,
                                   created_at=now, active=False))
    return {**get(conn, number), "actions": len(catalog.actions), "offers": len(catalog.offers)}


def get(conn: Connection, number: int) -> dict[str, Any]:
    row = conn.execute(select(t).where(t.c.number == number)).mappings().first()
    if row is None:
        raise NotFound(f"No catalog version {number}.")
    return _row(row)


def activate(conn: Connection, number: int, by: str, now: datetime) -> dict[str, Any]:
    """Make version ``number`` the only active one (one statement over every row: concurrent
    activations serialise on the row locks, and the last one wins)."""
    get(conn, number)
    conn.execute(update(t).values(active=(t.c.number == number)))
    conn.execute(update(t).where(t.c.number == number).values(activated_by=by, activated_at=now))
    return get(conn, number)


def versions(conn: Connection) -> list[dict[str, Any]]:
    """Every stored version, newest first (without the YAML)."""
    return [_row(r) for r in conn.execute(select(t).order_by(t.c.number.desc())).mappings()]


def active_number(conn: Connection) -> int | None:
    """The number of the active version, ``None`` when the bank's ``catalog.yaml`` applies."""
    return conn.execute(_ACTIVE).scalar_one_or_none()


def active_text(conn: Connection) -> tuple[int, str] | None:
    """``(number, YAML)`` of the active version, if any."""
    row = conn.execute(select(t.c.number, t.c.yaml).where(t.c.active.is_(True))
                       .order_by(t.c.number.desc()).limit(1)).first()
    return (int(row[0]), str(row[1])) if row else None


def active_catalog(conn: Connection, config_dir: Path) -> tuple[int | None, Catalog]:
    """The catalog decisions use now: the active version, else the bank's ``catalog.yaml``."""
    from bestnext.decisions.catalog import load_catalog

    found = active_text(conn)
    if found is None:
        return None, load_catalog(config_dir / "catalog.yaml")
    return found[0], parse_catalog(found[1], f"catalog v{found[0]}", product_ids(config_dir))
