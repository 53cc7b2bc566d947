"""The channels and operators configuration of a bank (``channels.yaml``, ``operators.yaml``)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bestnext.calendar import WeeklyHours
from bestnext.errors import ConfigInvalid


class Dispatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch_size: int = Field(50, ge=1, le=1000)
    lease_seconds: float = Field(60, gt=0)
    max_attempts: int = Field(8, ge=1)
    backoff_base_seconds: float = Field(30, gt=0)
    backoff_cap_seconds: float = Field(3600, gt=0)
    poll_seconds: float = Field(1.0, gt=0)
    # HTTP providers (SMS, social, push webhooks) are sent this many at a time within a batch
    send_concurrency: int = Field(8, ge=1, le=64)
    # an action the gate keeps postponing is cancelled this long after its due time
    max_delay_hours: float = Field(168, gt=0)


class ProviderConfig(BaseModel):
    """One provider; ``kind`` picks the adapter, the other keys are its options."""

    model_config = ConfigDict(extra="allow")
    kind: str

    def option(self, name: str, default: Any = None) -> Any:
        return (self.model_extra or {}).get(name, default)

    def secret(self, name: str) -> str | None:
        """A secret given inline (tests) or, preferably, by the variable named ``<name>_env``."""
        inline = self.option(name)
        if inline:
            return str(inline)
        env = self.option(f"{name}_env")
        return os.environ.get(str(env)) if env else None


class ChannelsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    public_base_url: str = "http://127.0.0.1:8000"
    dispatch: Dispatch = Dispatch()
    providers: dict[str, ProviderConfig] = {}
    inbound_secret_env: str | None = None
    inbound_secret: str | None = None

    def inbound_key(self) -> str | None:
        if self.inbound_secret:
            return self.inbound_secret
        return os.environ.get(self.inbound_secret_env) if self.inbound_secret_env else None


class Person(BaseModel):
    id: str
    name: str


class CallCenter(BaseModel):
    queue: str = "call_center"
    hours: dict[str, str | list[str]] = {"mon-fri": "09:00-20:00"}
    escalate_after_minutes: int = 30
    operators: list[Person] = []

    def weekly_hours(self) -> WeeklyHours:
        return WeeklyHours.parse(self.hours)


class Branch(BaseModel):
    id: str
    name: str = ""
    hours: dict[str, str | list[str]] = {"mon-fri": "08:30-16:30"}
    advisors: list[Person] = []


class CaseType(BaseModel):
    team: str
    sla_hours: float


class OperatorsConfig(BaseModel):
    call_center: CallCenter = CallCenter()
    branches: list[Branch] = []
    case_types: dict[str, CaseType] = {}

    def branch(self, branch_id: str) -> Branch | None:
        return next((b for b in self.branches if b.id == branch_id), None)


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigInvalid(f"{path.name}: not valid YAML") from exc
    if not isinstance(data, dict):
        raise ConfigInvalid(f"{path.name}: expected a mapping")
    return data


@lru_cache(maxsize=16)
def channels_config(config_dir: Path) -> ChannelsConfig:
    """``channels.yaml`` of ``config_dir`` (defaults when absent)."""
    try:
        return ChannelsConfig.model_validate(_load(config_dir / "channels.yaml"))
    except ValidationError as exc:
        raise ConfigInvalid("channels.yaml is not valid", errors=_errors(exc)) from None


@lru_cache(maxsize=16)
def operators_config(config_dir: Path) -> OperatorsConfig:
    """``operators.yaml`` of ``config_dir`` (defaults when absent)."""
    try:
        return OperatorsConfig.model_validate(_load(config_dir / "operators.yaml"))
    except ValidationError as exc:
        raise ConfigInvalid("operators.yaml is not valid", errors=_errors(exc)) from None


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
