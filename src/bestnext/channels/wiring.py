"""Building the dispatcher and its providers from a container (sandbox unless told otherwise)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import Connection

from bestnext.calendar import WeeklyHours
from bestnext.channels import ports, post_privacy
from bestnext.channels.config import ChannelsConfig, ProviderConfig, channels_config, operators_config
from bestnext.channels.dispatcher import Dispatcher
from bestnext.channels.providers import (
    BatchFileProvider,
    MetaProvider,
    Provider,
    SandboxProvider,
    SmtpProvider,
    TwilioProvider,
    WebhookProvider,
)
from bestnext.errors import ConfigInvalid
from bestnext.settings import Settings

if TYPE_CHECKING:
    from bestnext.bootstrap import Container


def _need(cfg: ProviderConfig, name: str, secret: bool = False) -> str:
    value = cfg.secret(name) if secret else cfg.option(name)
    if not value:
        env = cfg.option(f"{name}_env") if secret else None
        hint = f" (environment variable {env} is not set)" if env else (f" (or '{name}_env')" if secret else "")
        raise ConfigInvalid(f"channels.yaml: provider '{cfg.kind}' needs '{name}'{hint}")
    return str(value)


def provider(cfg: ProviderConfig, settings: Settings, channels: ChannelsConfig, client: httpx.Client) -> Provider:
    """The real adapter for one configured provider."""
    if cfg.kind == "smtp":
        return SmtpProvider(_need(cfg, "host"), int(cfg.option("port", 25)), _need(cfg, "sender"),
                            starttls=bool(cfg.option("starttls", False)), username=cfg.option("username"),
                            password=cfg.secret("password"))
    if cfg.kind == "twilio":
        callback = f"{channels.public_base_url.rstrip('/')}/v1/webhooks/twilio/status"
        return TwilioProvider(client, _need(cfg, "base_url"), _need(cfg, "account_sid"),
                              _need(cfg, "auth_token", secret=True), _need(cfg, "sender"), callback)
    if cfg.kind == "meta":
        return MetaProvider(client, _need(cfg, "base_url"), _need(cfg, "page_token", secret=True))
    if cfg.kind == "webhook":
        return WebhookProvider(client, _need(cfg, "url"), _need(cfg, "secret", secret=True))
    if cfg.kind == "batch_file":
        return BatchFileProvider(settings.var_dir / str(cfg.option("directory", "post")))
    if cfg.kind == "sandbox":
        return SandboxProvider()
    raise ConfigInvalid(f"channels.yaml: unknown provider kind '{cfg.kind}'")


def providers(settings: Settings, client: httpx.Client | None = None) -> dict[str, Provider]:
    """Every configured channel's provider; all sandbox when ``settings.sandbox``."""
    channels = channels_config(settings.config_dir)
    if settings.sandbox:
        sandbox = SandboxProvider()
        return {name: sandbox for name in ("email", "sms", "social", "push", "app", "web", "post")}
    http = client or httpx.Client(timeout=httpx.Timeout(15.0, connect=5.0))
    return {name: provider(cfg, settings, channels, http) for name, cfg in channels.providers.items()}


def dispatcher(container: Container, *, chosen: dict[str, Provider] | None = None,
               gate: ports.Gate | None = None, resolver: ports.Resolver | None = None,
               channels: ChannelsConfig | None = None) -> Dispatcher:
    """A dispatcher for ``container``: real gate, identity's addresses and configured providers."""
    settings = container.settings
    resolve = resolver or ports.identity_resolver
    if settings.sandbox:  # nothing leaves the machine: an unknown address is not an error there
        real = resolve

        def resolve(conn: Connection, person_id: str, channel: str) -> str | None:
            return real(conn, person_id, channel) or f"unknown:{person_id}"

    return Dispatcher(
        engine=container.engine, clock=container.clock,
        providers=chosen if chosen is not None else providers(settings),
        gate=gate or ports.gate_for(settings.config_dir), resolver=resolve,
        config=channels or channels_config(settings.config_dir),
        operators=operators_config(settings.config_dir), secret_key=settings.secret_key)


def cover_post_batches(settings: Settings) -> None:
    """Put the configured post batch directories under privacy export and erasure."""
    try:
        channels = channels_config(settings.config_dir)
    except ConfigInvalid:  # reported by ``bestnext channels check``; nothing to cover yet
        return
    for cfg in channels.providers.values():
        if cfg.kind == "batch_file":
            post_privacy.install(settings.var_dir / str(cfg.option("directory", "post")))


def check(config_dir: Path) -> list[str]:
    """Problems of ``channels.yaml`` and ``operators.yaml`` in ``config_dir`` (empty: fine).

    Every provider must be buildable for real (its options present, its secrets' variables
    set), every opening-hours spec must parse, every branch needs an advisor.
    """
    problems: list[str] = []
    try:
        channels = channels_config.__wrapped__(config_dir)
        ops = operators_config.__wrapped__(config_dir)
    except ConfigInvalid as exc:
        return [exc.detail, *(f"  {e['field']}: {e['message']}" for e in exc.errors)]
    settings = Settings(config_dir=config_dir, sandbox=False)
    with httpx.Client() as client:
        for name, cfg in channels.providers.items():
            try:
                provider(cfg, settings, channels, client)
            except ConfigInvalid as exc:
                problems.append(f"providers.{name}: {exc.detail}")
    try:
        ops.call_center.weekly_hours()
        for b in ops.branches:
            WeeklyHours.parse(b.hours)
    except (ValueError, IndexError) as exc:
        problems.append(f"operators.yaml: opening hours: {exc}")
    problems += [f"operators.yaml: branch {b.id} has no advisor" for b in ops.branches if not b.advisors]
    return problems
