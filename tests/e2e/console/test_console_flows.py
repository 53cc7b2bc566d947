"""The console in Chromium against a real server: every role logs in, the main flows work, no
JavaScript errors, screenshots under var/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.console.conftest import Watched, login
from tests.support.server import Server

SCREENS = {
    "luigi": ["/console/search", "/console/queue", "/console/branch"],
    "verdi": ["/console/search", "/console/queue", "/console/branch"],
    "marketing": ["/console/journeys", "/console/catalog", "/console/dashboards"],
    "analyst": ["/console/dashboards"],
    "compliance": ["/console/search", "/console/dashboards", "/console/privacy"],
    "admin": ["/console/search", "/console/queue", "/console/branch", "/console/journeys", "/console/catalog",
              "/console/dashboards", "/console/privacy", "/console/users"],
}


@pytest.mark.parametrize("username", list(SCREENS))
def test_each_role_logs_in_and_sees_its_screens(demo_server: Server, watched: Watched, username: str) -> None:
    base, page = demo_server.base_url, watched.page
    login(watched, base, username)
    links = page.locator("header nav a")
    expect(links).to_have_count(len(SCREENS[username]))
    assert sorted(links.evaluate_all("els => els.map(e => e.getAttribute('href'))")) == sorted(SCREENS[username])
    watched.shot(f"home-{username}")
    for href in SCREENS[username]:
        page.goto(base + href)
        expect(page.locator("h1")).to_be_visible()
        watched.shot(f"{username}{href.replace('/console', '').replace('/', '-')}")
    page.get_by_role("button", name="Esci").click()
    page.wait_for_url(re.compile(r".*/login$"))


def test_keyboard_skip_link_and_language(demo_server: Server, watched: Watched) -> None:
    base, page = demo_server.base_url, watched.page
    login(watched, base, "luigi")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.goto(base + "/console/search")
    expect(page.get_by_role("button", name="Search")).to_be_visible()
    page.get_by_role("link", name="IT", exact=True).click()
    expect(page.get_by_role("button", name="Cerca")).to_be_visible()


def test_agent_finds_martina_accepts_an_action_and_works_a_call_task(demo_server: Server, watched: Watched) -> None:
    base, page = demo_server.base_url, watched.page
    login(watched, base, "luigi")
    page.goto(base + "/console/search")
    page.fill("#q", "Martina Bianki")  # a typo: live results by htmx
    results = page.get_by_test_id("search-results")
    expect(results).to_contain_text("Martina Bianchi")
    watched.shot("agent-search-martina")
    results.get_by_role("link", name="Martina Bianchi").first.click()
    expect(page.locator("h1")).to_contain_text("Martina Bianchi")
    expect(page.get_by_test_id("identities")).to_contain_text("martina.bianchi@example.org")
    expect(page.get_by_test_id("timeline")).to_contain_text("prepaid card")
    first = page.get_by_test_id("nba-action").first
    expect(first).to_be_visible()
    watched.shot("agent-360-martina")
    page.select_option("#touchpoint", "social")
    expect(page.get_by_test_id("timeline")).not_to_contain_text("Competitor Site Visited")
    expect(page.get_by_test_id("timeline")).to_contain_text("Social Message Posted")
    first.get_by_role("button", name="Accetta").click()
    expect(page.get_by_test_id("nba-recorded")).to_contain_text("accepted")
    watched.shot("agent-nba-accepted")
    page.goto(base + "/console/queue")
    queue = page.get_by_test_id("queue")
    expect(queue).to_contain_text("Martina Bianchi")
    watched.shot("agent-queue")
    claim = queue.get_by_role("button", name=re.compile("Prendi in carico")).first
    claim.focus()
    with page.expect_response(lambda r: "/console/queue/list?v=" in r.url and r.status == 204, timeout=12_000):
        pass  # a poll while nothing changed keeps the operator's focus
    assert page.evaluate("document.activeElement.textContent.trim()") == "Prendi in carico"
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("task-status")).to_have_text("claimed")
    expect(page.get_by_test_id("script")).to_be_visible()
    watched.shot("agent-task-claimed")
    page.select_option("#outcome", "reached")
    page.get_by_role("button", name="Salva").click()
    expect(page.get_by_test_id("task-status")).to_have_text("done")
    expect(page.get_by_role("status")).to_be_visible()
    watched.shot("agent-task-done")


def test_branch_advisor_sees_the_briefings_of_the_day(demo_server: Server, watched: Watched) -> None:
    base, page = demo_server.base_url, watched.page
    login(watched, base, "verdi")
    page.goto(base + "/console/branch")
    expect(page.locator("h1")).to_contain_text("MI02")
    watched.shot("branch-verdi")


def test_marketer_validates_a_journey_and_the_catalog(demo_server: Server, watched: Watched) -> None:
    base, page = demo_server.base_url, watched.page
    login(watched, base, "marketing")
    page.goto(base + "/console/journeys")
    page.get_by_role("link", name="lead", exact=True).click()
    expect(page.get_by_test_id("diagram")).to_contain_text("wait_reply")
    page.get_by_role("button", name="Valida").click()
    expect(page.get_by_test_id("validation-ok")).to_be_visible()
    text = page.input_value("#yaml")
    page.fill("#yaml", text.replace("on_timeout: attempt", "on_timeout: nowhere"))
    page.get_by_role("button", name="Valida").click()
    expect(page.get_by_test_id("validation-errors")).to_contain_text("nowhere")
    watched.shot("marketing-journey-invalid")
    page.goto(base + "/console/catalog")
    expect(page.get_by_test_id("catalog-offers")).to_contain_text("first_year_free")
    page.get_by_role("button", name="Valida").click()
    expect(page.get_by_test_id("validation-ok")).to_contain_text("actions")
    watched.shot("marketing-catalog")


def test_analyst_dashboards_draw_charts(demo_server: Server, watched: Watched) -> None:
    base, page = demo_server.base_url, watched.page
    login(watched, base, "analyst")
    page.goto(base + "/console/dashboards")
    expect(page.locator("canvas[data-drawn='1']")).to_have_count(3)
    expect(page.get_by_test_id("table-funnel")).to_contain_text("customer")
    watched.shot("analyst-dashboards")


def test_compliance_erases_a_person(demo_server: Server, watched: Watched) -> None:
    base, page = demo_server.base_url, watched.page
    login(watched, base, "compliance")
    page.goto(base + "/console/privacy?q=antonio")
    page.get_by_test_id("privacy-results").get_by_role("link").first.click()
    expect(page.get_by_test_id("consent-history")).to_contain_text("own_marketing")
    code = page.locator("label[for=confirm] code").inner_text()
    watched.shot("compliance-person")
    page.fill("#confirm", code)
    page.get_by_role("button", name="Cancella").click()
    expect(page.get_by_test_id("erased")).to_be_visible()
    watched.shot("compliance-erased")
    page.goto(base + "/console/privacy?q=antonio")
    expect(page.get_by_test_id("privacy-results")).not_to_contain_text("Antonio")
    page.goto(base + "/console/privacy?action=privacy.erase")
    expect(page.get_by_test_id("audit")).to_contain_text("compliance")


def test_marketer_pauses_a_journey_sees_a_persons_instances_and_activates_the_catalog(
        demo_server: Server, watched: Watched) -> None:
    base, page = demo_server.base_url, watched.page
    login(watched, base, "marketing")
    page.goto(base + "/console/journeys")
    expect(page.get_by_test_id("state-lead")).to_have_text("In corso")
    page.get_by_test_id("toggle-lead").click()
    expect(page.get_by_test_id("state-lead")).to_have_text("Sospeso")
    page.fill("#person", "email:martina.bianchi@example.org")
    page.get_by_role("button", name="Mostra").click()
    expect(page.get_by_test_id("person-instances")).to_contain_text("product_interest")
    watched.shot("marketing-journeys-paused")
    page.get_by_test_id("toggle-lead").click()
    expect(page.get_by_test_id("state-lead")).to_have_text("In corso")
    page.goto(base + "/console/catalog")
    expect(page.get_by_test_id("catalog-in-use")).to_contain_text("catalog.yaml")
    text = page.input_value("#yaml")
    version = next(line for line in text.splitlines() if line.startswith("version:"))
    page.fill("#yaml", text.replace(version, "version: console-e2e", 1))
    page.get_by_role("button", name="Valida").click()
    page.get_by_test_id("activate").click()
    expect(page.get_by_test_id("activated")).to_contain_text("console-e2e")
    page.goto(base + "/console/catalog")
    expect(page.get_by_test_id("catalog-in-use")).to_contain_text("console-e2e")
    expect(page.get_by_test_id("catalog-versions")).to_contain_text("active")
    watched.shot("marketing-catalog-activated")
    page.fill("#yaml", text.replace(version, "version: console-e2e-2", 1))
    page.get_by_role("button", name="Valida").click()
    page.get_by_test_id("activate").click()
    expect(page.get_by_test_id("activated")).to_contain_text("console-e2e-2")
    page.goto(base + "/console/catalog")
    page.get_by_test_id("activate-1").click()  # back to the first version
    expect(page.get_by_test_id("catalog-in-use")).to_contain_text("console-e2e · #1")
