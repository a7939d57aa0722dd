"""The auditors' console page in Chromium, at 1280 and 390 px: the auditor's home, an audit run
started from its button and followed live to done (blocks scanned of the total), the report it
wrote shown with its verdict and rules and downloadable as JSON and HTML; no console errors, no
serious axe-core violations. A start without the CSRF token is refused; another role's key does
not see the page."""

from __future__ import annotations

import json

import pytest

from api.services.audit_runs import AuditRuns
from tests.e2e.conftest import WIDTHS, Console, DemoChain, shot


@pytest.mark.parametrize("width", WIDTHS)
def test_an_audit_run_from_the_button_to_its_reports(console: Console, width: int) -> None:
    page = console.page("shenjiju", width)
    assert page.url.endswith("/console/audit")  # the auditor's home
    console.check(page)
    console.click(page, "[data-testid=start-audit]")
    page.wait_for_url("**/console/audit?run=*")
    page.wait_for_selector("[data-testid=run-state][data-state=done]", timeout=120_000)  # followed live
    blocks = page.locator("[data-field=blocks]").inner_text()
    scanned, total = (int(x) for x in blocks.split(" / "))
    assert scanned == total > 0, blocks
    console.click(page, "[data-testid=run-report]")
    page.wait_for_selector("[data-testid=verdict]")
    assert page.locator("[data-testid=rules] tr[data-rule]").count() > 0
    console.check(page)
    shot(page, "console-auditor")
    console.reach(page, "[data-testid=report-json]")
    console.reach(page, "[data-testid=report-html]")

    answer = page.request.get(console.url + page.get_attribute("[data-testid=report-json]", "href"))
    assert answer.ok and "attachment" in answer.headers["content-disposition"]
    report = json.loads(answer.text())
    shown = page.get_attribute("[data-testid=verdict]", "data-ok")
    assert shown == str(report["ok"]).lower() and total == report["scan"]["blocks"]
    html = page.request.get(console.url + page.get_attribute("[data-testid=report-html]", "href"))
    assert html.ok and html.headers["content-type"].startswith("text/html") and report["head_hash"] in html.text()


def test_only_the_auditor_starts_an_audit_with_its_token(console: Console, console_chain: DemoChain) -> None:
    page = console.page("shenjiju")
    runs = AuditRuns(console_chain.settings.audit_report_path)
    before = sorted(runs.dir.glob("*.json"))
    refused = page.request.post(console.url + "/console/audit/runs", form={"idem": "audit-csrf-1"})  # no CSRF token
    assert refused.status == 403 and runs.running_id() is None and sorted(runs.dir.glob("*.json")) == before
    other = console.page("weijianwei")  # a department's key
    answer = other.goto(console.url + "/console/audit")
    assert answer is not None and answer.status == 403
    assert other.locator("[data-testid=start-audit]").count() == 0
    assert other.request.get(console.url + "/console/audit/report.json").status == 403
