"""The treasurer's and the cases console pages in Chromium, at 1280 and 390 px: a project approved
by the committee and past its time lock is due; the treasurer pays its milestone with an invoice
file from the page, the transaction followed live to confirmed, and the payout lists the file's
keccak256 as its invoice hash. A case raised on chain by 街道办 waits for 城管's 报到 with the time
left; 城管 checks in and answers from its page, and 街道办 (a sub-district key) evaluates the
answer: closed, fixed. No console errors, no serious axe-core violations."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.cases import CaseDesk, CaseState
from ledger.fund import Credit, Fund, ProjectState
from ledger.fund.texts import file_hash
from tests.e2e.conftest import (
    WIDTHS,
    Console,
    DemoChain,
    _time_travel,
    confirmed,
    proposed_project,
    shot,
    written,
)

#: 垃圾满溢 (a category with a service level in the demo) and the demo's community.
BINS, AREA = 5, 110105001001


def _active_project(chain: DemoChain, title: str) -> int:
    """A one-milestone project (1.00 元, to 城管) the committee approved, past the fund's time lock."""
    fund = Fund(chain.ledger)
    pid = proposed_project(chain, title)
    for voter in ("committee-1", "committee-2"):
        fund.vote(chain.signers[voter], fund.project(pid).approval_motion_id, True)
    _time_travel(chain.ledger, fund.project(pid).unlocks_at - chain.ledger.rpc_client.latest_time() + 1)
    assert fund.project_state(pid) == ProjectState.ACTIVE
    return pid


@pytest.mark.parametrize("width", WIDTHS)
def test_a_deposit_minted_then_a_payout_with_its_invoice(console: Console, console_chain: DemoChain,
                                                          tmp_path: Path, width: int) -> None:
    pid = _active_project(console_chain, f"楼道照明改造（控制台测试 {width}）")  # a project of its own each
    resident = console_chain.signers["resident-1"]
    credit, fund = Credit(console_chain.ledger), Fund(console_chain.ledger)
    before = credit.balance_of(resident.address)
    page = console.page("caizhengju", width)
    assert page.url.endswith("/console/treasurer")  # the treasurer's home
    console.select(page, "#mi-to", resident.address)
    console.fill(page, "#mi-amount", "1.00")
    console.fill(page, "#mi-ref", f"TEST-DEP-{pid} 银行入账回单")
    console.click(page, "[data-testid=mint-submit]")
    confirmed(page)
    assert credit.balance_of(resident.address) == before + 100
    fund.contribute(resident, 100, pid)  # the milestone's money, earmarked to the project

    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(b"%PDF-1.4 invoice 2026-001: 1.00 yuan to chengguan\n")
    page.goto(console.url + "/console/treasurer")
    row = page.locator(f"[data-testid=due] tr[data-milestone='{pid}-0']")
    assert "楼道照明改造" in row.inner_text() and "1.00" in row.inner_text()  # the project, what is unpaid
    shot(page, "console-treasurer")
    console.check(page)
    console.upload(page, f"[data-testid=invoice-{pid}-0]", invoice)
    console.click(page, f"[data-testid=pay-{pid}-0]")
    page.wait_for_load_state()
    assert "/console/tx/" in page.url, page.inner_text("main")
    confirmed(page)
    console.check(page)
    assert fund.milestone(pid, 0).paid == 100 and fund.project_state(pid) == ProjectState.COMPLETED

    page.goto(console.url + "/console/treasurer")
    assert page.locator(f"[data-testid=due] tr[data-milestone='{pid}-0']").count() == 0
    assert "0x" + file_hash(invoice.read_bytes()).hex() in page.locator("[data-testid=payouts]").inner_text()


def test_the_treasurers_page_is_the_treasurers(console: Console) -> None:
    page = console.page("chengguan")  # a department's key: its cases, not the treasury
    assert page.goto(console.url + "/console/treasurer").status == 403
    assert page.locator("[data-testid=mint-form]").count() == 0
    page = console.page("caizhengju")
    assert page.goto(console.url + "/console/cases").status == 403


@pytest.mark.parametrize("width", WIDTHS)
def test_a_case_checked_in_answered_and_evaluated(console: Console, console_chain: DemoChain, width: int) -> None:
    """城管 checks in (报到) and answers from its page; 街道办, with a sub-district key, accepts the
    answer. A case of its own at each width."""
    from api.apikeys import ApiKeyStore, engine_for

    desk, ids = CaseDesk(console_chain.ledger), console_chain.member_ids
    r = written(console_chain, "jiedaoban", lambda text: desk.raise_call(BINS, AREA, text, ids["chengguan"]),
                 ("case_public", f"幸福里 3 号楼垃圾桶满溢（控制台测试 {width}）"))
    case_id = int(r.event("CaseRaised").args["caseId"])
    page = console.page("chengguan", width)
    page.goto(console.url + "/console/cases")
    assert "3 号楼垃圾桶满溢" in page.locator(f"[data-testid=to-ack] tr[data-case='{case_id}']").inner_text()
    assert "还剩" in page.locator(f"[data-testid=ack-left-{case_id}]").inner_text()  # the time left to 报到
    shot(page, "console-cases")
    console.check(page)
    console.click(page, f"[data-testid=ack-{case_id}]")
    confirmed(page)
    assert desk.assignment(case_id, ids["chengguan"]).acknowledged
    page.goto(console.url + "/console/cases")
    console.fill(page, f"#ev-{case_id}", "已清运，现场照片见附件。")
    console.click(page, f"[data-testid=answer-{case_id}]")
    confirmed(page)
    assert desk.case_state(case_id) == CaseState.AWAITING_EVALUATION

    if "sub:jiedaoban" not in console.keys:
        store = ApiKeyStore(engine_for(console_chain.settings.service_db_url))
        console.keys["sub:jiedaoban"] = store.create("console:sub:jiedaoban", "sub_district",
                                                     console_chain.signers["jiedaoban"].address, "jiedaoban")[0]
    page = console.page("sub:jiedaoban", width)
    assert page.url.endswith("/console/cases")  # a sub-district's home
    console.select(page, f"#out-{case_id}", "fixed")
    console.click(page, f"[data-testid=evaluate-{case_id}]")
    confirmed(page)
    assert desk.case_state(case_id) == CaseState.CLOSED_FIXED
    page.goto(console.url + "/console/cases")
    assert page.locator(f"[data-testid=raised] tr[data-case='{case_id}']").count() == 1
    console.check(page)
