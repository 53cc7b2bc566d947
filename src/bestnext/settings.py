"""One settings class for the whole application (``BESTNEXT_`` environment prefix)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_CONFIG_DIR = Path(__file__).parent / "demo_bank"


class Settings(BaseSettings):
    """Runtime settings.

    Examples
    --------
    >>> Settings(database_url="sqlite:///:memory:").is_sqlite
    True
    """

    model_config = SettingsConfigDict(env_prefix="BESTNEXT_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///var/bestnext.db"
    config_dir: Path = DEMO_CONFIG_DIR
    var_dir: Path = Path("var")
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    log_level: str = "INFO"
    log_file: Path | None = None
    # Channels leave nothing from the machine unless this is turned off explicitly.
    sandbox: bool = True
    # Secret used to sign console sessions and unsubscribe links.
    secret_key: str = "development-only-secret-change-me"
    # Segment's documented limits.
    max_message_bytes: int = 32 * 1024
    max_batch_bytes: int = 500 * 1024
    # Web origins whose browsers may send events (analytics.js); "*" allows any. JSON list in env.
    cors_origins: list[str] = []
    # Processors run inside `serve` (laptop mode); production runs `bestnext worker`.
    run_workers: bool = True
    timezone: str = "Europe/Rome"

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.environment == "production" and self.secret_key.startswith("development-only"):
            raise ValueError("BESTNEXT_SECRET_KEY must be set in production")
        return self

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
