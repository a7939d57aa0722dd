"""The fund committee's console page in Chromium: the demo's open motion (green space) with its
project, budget and milestones; its proposer (社工代表) may not vote and is shown so; on a motion of
its own at each width (1280 and 390 px), a member who has not voted votes yes from the page,
followed live to confirmed, and the motion passes (quorum 2); no console errors, no serious
axe-core violations."""

from __future__ import annotations

import pytest

from ledger.fund import Fund, MotionState
from tests.e2e.conftest import WIDTHS, Console, DemoChain, confirmed, proposed_project, shot


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


@pytest.mark.parametrize("width", WIDTHS)
def test_a_committee_vote(console: Console, console_chain: DemoChain, width: int) -> None:
    fund = Fund(console_chain.ledger)
    title = f"楼道照明改造（表决测试 {width}）"
    mid = fund.project(proposed_project(console_chain, title)).approval_motion_id
    fund.vote(console_chain.signers["committee-1"], mid, True)  # the first of the two votes it needs

    page = console.page("committee-2", width)
    row = page.locator(f"[data-testid=open] tr[data-motion='{mid}']").inner_text()
    assert title in row and "预算" in row and "灯具采购与安装" in row  # the project, its budget and milestones
    shot(page, "console-committee")
    console.check(page)
    console.click(page, f"[data-testid=yes-{mid}]")
    confirmed(page)
    m = fund.motion(mid)
    assert m.approvals == 2 and m.state == MotionState.PASSED
    page.goto(console.url + "/console/committee")
    assert page.locator(f"[data-testid=results] tr[data-motion='{mid}']").count() == 1
    console.check(page)
