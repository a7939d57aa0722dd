"""The cases page in a real browser (headless Debian Chromium via Playwright) at desktop (1280) and
phone (390) widths, over a history with cases in every state (tests/ledger/case_history.py) on a
fresh CaseDesk of the session chain, served over real HTTP.

No console errors; no horizontal scroll of the page at either width (tables scroll inside their
wrapper); the overdue case's row is highlighted; the English switch works; screenshots are saved
under test-artifacts/screenshots/ (cases-desktop.png, cases-phone.png, case-phone.png).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from api.testing import LiveServer, make_settings
from ledger.testing import Deployment
from tests.e2e.conftest import SCREENSHOTS, no_overflow
from tests.e2e.test_portal import WIDTHS, Watched
from tests.ledger.case_history import CaseHistory, build_case_history

pytestmark = pytest.mark.ganache

HIGHLIGHT = "rgb(253, 236, 234)"  # tr.overdue's background (portal.css)


@dataclass
class Site:
    url: str
    history: CaseHistory


@pytest.fixture(scope="module")
def site(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp("portal-cases-e2e")
    history = build_case_history(deployment, directory)
    with LiveServer(make_settings(deployment, directory, manifest_path=history.manifest)) as server:
        server.app.state.service.catch_up()  # no follower thread: the index brought up to the head
        yield Site(server.url, history)


@pytest.fixture
def browser_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Watched]:
    width, height = WIDTHS[request.param]
    context = chromium.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    try:
        yield Watched(context.new_page())
    finally:
        context.close()


@pytest.mark.parametrize("browser_page", list(WIDTHS), indirect=True)
def test_the_cases_page_fits_and_highlights_the_overdue_case(
    browser_page: Watched, site: Site, request: pytest.FixtureRequest
) -> None:
    page, width = browser_page.page, request.node.callspec.params["browser_page"]
    response = page.goto(site.url + "/cases", wait_until="networkidle")
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") == "zh-CN" and page.locator("h1").count() == 1
    assert no_overflow(page), "horizontal overflow"
    overdue = site.history.cases["overdue"]
    row = page.locator(f"tr[data-overdue-case='{overdue}']")
    assert row.count() == 1 and row.is_visible()
    assert row.evaluate("el => getComputedStyle(el).backgroundColor") == HIGHLIGHT
    listed = page.locator(f"tr[data-case='{overdue}']")
    assert listed.evaluate("el => getComputedStyle(el).backgroundColor") == HIGHLIGHT
    assert page.locator(f"tr[data-case='{site.history.cases['fixed']}']").evaluate(
        "el => getComputedStyle(el).backgroundColor") != HIGHLIGHT
    for table in page.locator("table").all():  # each table scrolls inside its wrapper, never the page
        assert table.evaluate("el => el.parentElement.classList.contains('table-wrap')")
    assert page.locator("svg.rate-columns").count() == 1
    page.screenshot(path=str(SCREENSHOTS / f"cases-{width}.png"), full_page=True)
    # the case's own page, from its row
    row.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/cases/{overdue}") and no_overflow(page), "horizontal overflow"
    assert page.locator("table.timeline tbody tr").count() == 3  # raised, dispatched, acknowledged (assisting)
    page.screenshot(path=str(SCREENSHOTS / f"case-{width}.png"), full_page=True)
    assert browser_page.problems == []


@pytest.mark.parametrize("browser_page", ["phone"], indirect=True)
def test_the_english_switch(browser_page: Watched, site: Site) -> None:
    page = browser_page.page
    page.goto(site.url + "/cases", wait_until="networkidle")
    assert page.locator("h1").inner_text() == "街乡吹哨 · 部门报到"
    assert page.get_by_role("link", name="吹哨报到").get_attribute("aria-current") == "page"  # in the navigation
    page.get_by_test_id("lang-switch").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Cases: sub-districts summon, departments report in"
    assert page.locator("table.departments thead").inner_text().count("Response rate") == 1
    assert no_overflow(page), "horizontal overflow"
    page.get_by_test_id("lang-switch").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert browser_page.problems == []
