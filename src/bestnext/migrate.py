"""Schema migrations (Alembic), callable from the CLI, the server and the tests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic is imported where it is used: ~0.3 s that CLI commands other than `db upgrade` skip.


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision of every context branch."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def new_revision(engine: Engine, message: str, branch: str) -> None:
    """Autogenerate a revision on ``branch`` (a context's name) against an up-to-date database.

    A context's first revision starts its own branch; review the file and keep only the
    operations that belong to that context.
    """
    from alembic import command
    from alembic.script import ScriptDirectory

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    script = ScriptDirectory.from_config(cfg)
    labels = {label for rev in script.walk_revisions() for label in (rev.branch_labels or ())}
    upgrade(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if branch in labels:
            command.revision(cfg, message, autogenerate=True, head=f"{branch}@head")
        else:
            command.revision(cfg, message, autogenerate=True, head="base", branch_label=branch)
