"""Catalog versions on SQLite and PostgreSQL: validate, store, activate; decisions follow."""

from __future__ import annotations

from pathlib import Path

import pytest

from bestnext.bootstrap import Container
from bestnext.db import read
from bestnext.decisions import catalog_versions, services
from bestnext.errors import ConfigInvalid, NotFound


def _text(c: Container, version: str) -> str:
    text = (c.settings.config_dir / "catalog.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    (index,) = [i for i, line in enumerate(lines) if line.startswith("version:")]
    lines[index] = f"version: {version}"
    return "\n".join(lines) + "\n"


def test_an_activated_version_is_used_by_the_next_decision(container: Container) -> None:
    c = container
    with read(c.engine) as conn:
        before = services.runtime(conn).catalog.version
        assert catalog_versions.active_number(conn) is None
    with c.engine.begin() as conn:
        stored = catalog_versions.submit(conn, _text(c, "edited-1"), c.settings.config_dir, "ada", c.clock.now())
    assert stored["number"] == 1 and stored["active"] is False and stored["actions"] > 0
    with read(c.engine) as conn:
        assert services.runtime(conn).catalog.version == before  # stored, not active yet
    with c.engine.begin() as conn:
        done = catalog_versions.activate(conn, 1, "bob", c.clock.now())
    assert done["active"] is True and done["activated_by"] == "bob"
    with read(c.engine) as conn:
        assert services.runtime(conn).catalog.version == "edited-1"
    with c.engine.begin() as conn:
        catalog_versions.submit(conn, _text(c, "edited-2"), c.settings.config_dir, "ada", c.clock.now())
        catalog_versions.activate(conn, 2, "bob", c.clock.now())
    with read(c.engine) as conn:
        listed = catalog_versions.versions(conn)
        assert services.runtime(conn).catalog.version == "edited-2"
    assert [(v["number"], v["active"]) for v in listed] == [(2, True), (1, False)]
    with c.engine.begin() as conn:
        catalog_versions.activate(conn, 1, "bob", c.clock.now())  # roll back to an earlier version
    with read(c.engine) as conn:
        assert services.runtime(conn).catalog.version == "edited-1"


def test_an_invalid_catalog_is_refused_with_line_and_field(container: Container) -> None:
    c = container
    bad = _text(c, "bad").replace("purpose: marketing", "purpose: nonsense", 1)
    with c.engine.begin() as conn, pytest.raises(ConfigInvalid) as raised:
        catalog_versions.submit(conn, bad, c.settings.config_dir, "ada", c.clock.now())
    assert raised.value.errors and raised.value.errors[0]["line"]
    with c.engine.begin() as conn:
        assert catalog_versions.versions(conn) == []
        with pytest.raises(NotFound):
            catalog_versions.activate(conn, 7, "bob", c.clock.now())


def test_the_bank_catalog_applies_without_versions(container: Container, tmp_path: Path) -> None:
    with read(container.engine) as conn:
        number, catalog = catalog_versions.active_catalog(conn, container.settings.config_dir)
    assert number is None and catalog.actions
