"""The transparency portal in a real browser (headless Debian Chromium via Playwright) against the demo chain.

Every page loads without console errors at desktop (1280) and phone (390) widths, with a
screenshot of each saved under test-artifacts/screenshots/; the overview's figures equal
the public API's; the language switch works; the fund-flow trace of a demo receipt shows
the right projects; nothing private reaches the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ARTIFACTS, SCREENSHOTS, DemoChain

pytestmark = pytest.mark.ganache

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def pages(demo_chain: DemoChain, portal_url: str) -> dict[str, str]:
    """name → path of every page the portal has, with demo records in them."""
    with httpx.Client(base_url=portal_url, timeout=30) as http:
        latest = http.get("/api/v1/public/overview").json()["latest"]
    payout_tx = next(a["tx_hash"] for a in latest if a["event"] == "PayoutMade")
    receipt = demo_chain.facts["receipts"]["traced"]
    project = demo_chain.facts["projects"]["paid"]
    return {
        "overview": "/",
        "projects": "/projects",
        "project": f"/projects/{project}",
        "contributions": f"/contributions?q={receipt}",
        "data-sharing": "/data-sharing",
        "verify": "/verify",
        "tx": f"/tx/{payout_tx}",
        "activity": "/activity?event=ContributionReceived",
    }


class Watched:
    """A page whose console errors, uncaught exceptions and failed requests are collected."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"requestfailed: {r.url} {r.failure}"))
        page.on("response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)


@pytest.fixture
def browser_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Watched]:
    width, height = WIDTHS[getattr(request, "param", "desktop")]
    context = chromium.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    page = context.new_page()
    try:
        yield Watched(page)
    finally:
        context.close()


@pytest.mark.parametrize("browser_page", list(WIDTHS), indirect=True)
@pytest.mark.parametrize(
    "name", ["overview", "projects", "project", "contributions", "data-sharing", "verify", "tx", "activity"]
)
def test_page_loads_without_console_errors(
    browser_page: Watched, portal_url: str, pages: dict[str, str], name: str, request: pytest.FixtureRequest
) -> None:
    page = browser_page.page
    response = page.goto(portal_url + pages[name], wait_until="networkidle")
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").count() == 1 and page.locator("main#main").count() == 1
    assert page.locator("html").evaluate("el => el.scrollWidth <= window.innerWidth + 1"), "horizontal overflow"
    width = request.node.callspec.params["browser_page"]
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    assert browser_page.problems == []


def test_overview_figures_equal_the_api(browser_page: Watched, portal_url: str) -> None:
    api = httpx.get(portal_url + "/api/v1/public/overview", timeout=30).json()
    page = browser_page.page
    page.goto(portal_url + "/", wait_until="networkidle")
    shown = {
        el.get_attribute("data-figure"): (int(el.get_attribute("data-value")), el.inner_text())
        for el in page.locator("[data-figure]").all()
    }
    expected = {
        "balance": api["balance"],
        "accounted_balance": api["accounted_balance"],
        "outside_contribute": api["outside_contribute"],
        "total_contributed": api["total_contributed"],
        "total_paid_out": api["total_paid_out"],
        "total_refunded": api["total_refunded"],
        **{f"kind.{k}": v for k, v in api["contributed_by_kind"].items()},
    }
    assert {k: v for k, (v, _) in shown.items()} == expected
    for key, units in expected.items():  # the text a person reads is the same figure
        assert shown[key][1] == f"¥{units // 100:,}.{units % 100:02d}", key
    assert api["balance"] == api["total_contributed"] - api["total_paid_out"] - api["total_refunded"] > 0
    assert api["balance_source"] == "token" and api["outside_contribute"] == 0  # the demo sends nothing outside
    assert api["payout_count"] >= 2 and api["project_count"] >= 3
    # every figure links to its transactions; every latest-activity row links to one transaction
    assert all(el.get_attribute("href") for el in page.locator("a[data-figure]").all())
    hrefs = [el.get_attribute("href") for el in page.locator("table.activity a.tx").all()]
    assert hrefs == [f"/tx/{a['tx_hash']}" for a in api["latest"]]
    page.locator("a[data-figure=total_paid_out]").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/activity?event=PayoutMade")
    assert page.locator("tfoot .money").inner_text() == shown["total_paid_out"][1]
    assert browser_page.problems == []


def test_language_switch(browser_page: Watched, portal_url: str) -> None:
    page = browser_page.page
    page.goto(portal_url + "/projects", wait_until="networkidle")
    assert page.locator("h1").inner_text() == "项目"
    page.get_by_test_id("lang-switch").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Projects"
    assert "/projects" in page.url
    page.get_by_role("link", name="Data sharing").click()  # the choice sticks across pages
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Data sharing statistics"
    page.get_by_test_id("lang-switch").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text() == "数据共享统计"
    assert browser_page.problems == []


def test_trace_search_shows_the_right_projects(browser_page: Watched, portal_url: str, demo_chain: DemoChain) -> None:
    page = browser_page.page
    page.goto(portal_url + "/contributions", wait_until="networkidle")
    for receipt, projects in demo_chain.facts["funded"].items():
        page.get_by_test_id("trace-input").fill(f" {receipt} ")
        page.get_by_test_id("trace-submit").click()
        page.wait_for_load_state("networkidle")
        card = page.locator(f"article.contribution[data-receipt='{receipt}']")
        assert card.count() == 1
        funded = {int(x.get_attribute("data-funded-project")) for x in card.locator("[data-funded-project]").all()}
        assert funded == set(projects), receipt
        if projects:
            assert page.locator("svg.flow").count() == 1
    # by contributor account: the page names the organisation, never echoes other accounts
    account = demo_chain.signers["resident-1"].address
    page.get_by_test_id("trace-input").fill(account)
    page.get_by_test_id("trace-submit").click()
    page.wait_for_load_state("networkidle")
    cards = page.locator("article.contribution").all()
    assert cards and all("幸福里小区居民" in card.inner_text() for card in cards)
    page.get_by_test_id("trace-input").fill("not a receipt")
    page.locator("form.search").evaluate("f => f.noValidate = true")
    page.get_by_test_id("trace-submit").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[role=alert]").count() == 1
    assert browser_page.problems == []


def test_nothing_private_reaches_the_pages(portal_url: str, pages: dict[str, str], demo_chain: DemoChain) -> None:
    resident_accounts = [s.address for label, s in demo_chain.signers.items() if label.startswith("resident")]
    private = [
        "为高龄独居老人安排上门探访", "优化清运路线", "评估社区就诊压力",  # request purposes
        "虚构居民", "BIN-0", "幸福里卫生服务站",  # dataset contents
        "高龄独居老人登记册",  # a sensitive dataset's title
    ]
    led = demo_chain.ledger
    ours = [led.manifest.address("DataSharing"), led.manifest.address("CoGovFund")]
    logs = led.rpc("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": ours}])
    tx_hashes = sorted({log["transactionHash"] for log in logs})
    assert len(tx_hashes) > 20
    with httpx.Client(base_url=portal_url, timeout=30) as http:
        for path in [*pages.values(), *(f"/tx/{h}" for h in tx_hashes)]:
            r = http.get(path)
            assert r.status_code == 200, path
            for needle in private:
                assert needle not in r.text, (path, needle)
            for account in resident_accounts:
                assert account[2:].lower() not in r.text.lower(), (path, account)


def test_data_sharing_statistics(browser_page: Watched, portal_url: str) -> None:
    page = browser_page.page
    page.goto(portal_url + "/data-sharing", wait_until="networkidle")
    totals = page.get_by_test_id("data-totals").inner_text()
    numbers = [int(n) for n in re.findall(r"\d+", totals)]
    # datasets, requests, denied, grants, accesses and refusals on chain, access-log entries anchored
    assert numbers[:7] == [4, 4, 1, 3, 2, 2, 1], totals
    tables = page.locator("table").all()
    assert "民政局" in tables[0].inner_text() and "敏感" in tables[0].inner_text()
    assert browser_page.problems == []


def test_time_to_first_render(chromium: Any, portal_url: str, pages: dict[str, str]) -> None:
    """First contentful paint of each page, measured in the browser (written to test-artifacts/)."""
    timings: dict[str, dict[str, float]] = {}
    for name, path in pages.items():
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(portal_url + path, wait_until="load")
        timing = page.evaluate(
            """() => new Promise(resolve => {
              const report = fcp => {
                const nav = performance.getEntriesByType('navigation')[0];
                resolve({ttfb_ms: nav.responseStart, first_contentful_paint_ms: fcp,
                         dom_content_loaded_ms: nav.domContentLoadedEventEnd, load_ms: nav.loadEventEnd});
              };
              new PerformanceObserver(list => {
                const e = list.getEntriesByName('first-contentful-paint')[0];
                if (e) report(e.startTime);
              }).observe({type: 'paint', buffered: true});
              setTimeout(() => report(-1), 5000);
            })"""
        )
        context.close()
        timings[name] = {k: round(v, 1) for k, v in timing.items()}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "portal-timings.json").write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
    print("\nportal first render (ms):", json.dumps(timings, ensure_ascii=False))
    for name, t in timings.items():
        assert 0 < t["first_contentful_paint_ms"] < 10_000, (name, t)
