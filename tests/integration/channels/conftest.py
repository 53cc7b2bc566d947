"""Fixtures of the channels tests: a container on a virtual clock (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from bestnext.bootstrap import Container, build
from bestnext.clock import ROME, VirtualClock
from tests.conftest import test_settings

# A Tuesday morning in Rome: every channel is open.
T0 = datetime(2025, 2, 18, 10, 0, tzinfo=ROME)


@pytest.fixture
def vcontainer(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    built = build(test_settings(db_url, tmp_path_factory), clock=VirtualClock(T0), configure_logging=False)
    yield built
    built.dispose()


def clock_of(container: Container) -> VirtualClock:
    clock = container.clock
    assert isinstance(clock, VirtualClock)
    return clock
