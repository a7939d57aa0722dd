"""The fund committee's console page in Chromium: the demo's open motion (green space) with its
project, budget and milestones; its proposer (社工代表) may not vote and is shown so; a member who has
not voted votes yes from the page, followed live to confirmed, and the motion passes (quorum 2);
at 1280 and 390 px, no console errors, no serious axe-core violations."""

from __future__ import annotations

from ledger.fund import Fund, MotionState
from tests.e2e.conftest import REPO, Console, DemoChain

SHOTS = REPO / "docs" / "screenshots"


def _open_motion(fund: Fund) -> int:
    return next(i for i in range(1, fund.motion_count() + 1) if fund.motion(i).state == MotionState.OPEN)


def test_the_proposer_may_not_vote(console: Console, console_chain: DemoChain) -> None:
    mid = _open_motion(Fund(console_chain.ledger))
    page = console.page("committee-3", 390)
    assert page.url.endswith("/console/committee")  # the committee's home
    row = page.locator(f"[data-testid=open] tr[data-motion='{mid}']")
    assert "社工代表" in row.inner_text() and "您须回避" in row.inner_text()
    assert page.locator(f"[data-testid=yes-{mid}]").count() == 0
    console.check(page)


def test_a_committee_vote(console: Console, console_chain: DemoChain) -> None:
    fund = Fund(console_chain.ledger)
    mid = _open_motion(fund)
    before = fund.motion(mid).approvals
    pages = [console.page(label) for label in ("committee-1", "committee-2")]
    page = next(p for p in pages if p.locator(f"[data-testid=yes-{mid}]").count() == 1)
    row = page.locator(f"[data-testid=open] tr[data-motion='{mid}']").inner_text()
    assert "绿化维护" in row and "预算" in row  # the project, its budget and milestones
    page.screenshot(path=str(SHOTS / "console-committee.png"), full_page=True)
    console.check(page)
    page.click(f"[data-testid=yes-{mid}]")
    page.wait_for_url("**/console/tx/**")
    page.wait_for_selector("[data-testid=tx-state][data-state=confirmed]", timeout=30_000)
    m = fund.motion(mid)
    assert m.approvals == before + 1 and m.state == MotionState.PASSED
    page.goto(console.url + "/console/committee")
    assert page.locator(f"[data-testid=results] tr[data-motion='{mid}']").count() == 1
    console.check(page)
