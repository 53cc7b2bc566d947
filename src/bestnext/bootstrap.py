"""The one place that wires bestnext together: settings -> engine -> stores -> services.

Entry points (API, console, CLI, workers, replay, tests) call :func:`build` and receive a
:class:`Container`; nothing imports a global engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bestnext import logging as bn_logging
from bestnext.channels.processor import ChannelsProcessor
from bestnext.channels.wiring import cover_post_batches
from bestnext.clock import Clock, SystemClock
from bestnext.consent import processor as consent_processor
from bestnext.db import create_db_engine
from bestnext.decisions.contacts import ContactsProcessor
from bestnext.decisions.ignored import install_timer as install_ignored_timer
from bestnext.eventlog import Notifier, Pipeline, Processor
from bestnext.identity.processor import IdentityProcessor
from bestnext.ingest.services import Receiver as IngestReceiver
from bestnext.journeys.wiring import journeys_processor
from bestnext.privacy.sweep import install_timer as install_erasure_sweep
from bestnext.profiles.processor import ProfilesProcessor
from bestnext.settings import Settings
from bestnext.timers.service import TimerService


@dataclass
class Container:
    """Everything a request, command or worker needs, built once per process."""

    settings: Settings
    engine: Engine
    clock: Clock
    notifier: Notifier
    pipeline: Pipeline
    services: dict[str, Any] = field(default_factory=dict)

    def service(self, name: str) -> Any:
        return self.services[name]

    def dispose(self) -> None:
        self.engine.dispose()


def build(settings: Settings | None = None, clock: Clock | None = None, *,
          configure_logging: bool = True) -> Container:
    """Build the container for ``settings`` (read from the environment by default)."""
    settings = settings or Settings()
    if configure_logging:
        bn_logging.configure(settings.log_level, settings.log_file)
    engine = create_db_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
    clock = clock or SystemClock()
    notifier = Notifier()
    container = Container(settings, engine, clock, notifier, Pipeline(engine, []))
    container.services["timers"] = TimerService(engine, clock)
    container.services["ingest"] = IngestReceiver(container)
    container.pipeline.processors.extend(_processors(container))
    return container


def _processors(container: Container) -> list[Processor]:
    """The processors, in pipeline order: identity resolution first."""
    processors: list[Processor] = []
    processors.append(IdentityProcessor(container.clock))  # identity: first
    processors.append(ProfilesProcessor())  # profiles: after identity
    processors.append(consent_processor.install(container.clock))  # keep after identity and profiles
    processors.append(ChannelsProcessor())  # channels: after consent, before journeys
    cover_post_batches(container.settings)  # channels: post batch files under privacy erasure
    processors.append(ContactsProcessor(container.settings.config_dir))  # decisions: before journeys
    install_ignored_timer(container)  # decisions: impressions without a response become "ignored"
    install_erasure_sweep(container)  # privacy: an erasure's second pass, minutes later
    processors.append(journeys_processor(container))  # journeys: last
    return processors
