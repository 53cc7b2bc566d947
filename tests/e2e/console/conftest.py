"""A real `bestnext serve` with the demo bank and its seed histories, and Chromium (Debian's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from bestnext.bootstrap import build
from bestnext.settings import Settings
from tests.support.server import Server, run_cli

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo bank loaded (users for every role), the seed histories replayed, then served."""
    from bestnext.demo.service import replay_seeds

    folder = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{folder / 'bestnext.db'}"
    run_cli(url, "demo", "load")
    container = build(Settings(database_url=url, environment="test", var_dir=folder), configure_logging=False)
    try:
        replay_seeds(container)
    finally:
        container.dispose()
    server = Server(url, folder / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


class Watched:
    """A page whose JavaScript errors fail the test."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def check(self) -> None:
        assert not self.errors, self.errors


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="it-IT")
    page = Watched(context.new_page())
    yield page
    context.close()
    page.check()


def login(w: Watched, base: str, username: str) -> None:
    """Log in with the keyboard only, as a demo user."""
    page = w.page
    page.goto(f"{base}/login")
    page.keyboard.press("Tab")  # the skip link comes first
    page.fill("#username", username)
    page.fill("#password", f"{username}-demo-2025")
    page.press("#password", "Enter")
    page.wait_for_url(f"{base}/console")
    assert page.get_by_test_id("current-user").is_visible()
