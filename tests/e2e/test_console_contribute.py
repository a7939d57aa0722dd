"""A contributor's console page in Chromium: the balance held, a contribution refused in words while
the balance is short (nothing sent), then made once the treasurer minted, followed live to
confirmed; the receipts with where each one's money went (the demo's receipt that paid a milestone);
at 1280 and 390 px, no console errors, no serious axe-core violations."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

from ledger.fund import Credit, Fund
from tests.e2e.conftest import WIDTHS, Console, DemoChain, confirmed, shot


def _give(console: Console, page: Any, amount: str) -> None:
    console.select(page, "#c-project", "2")
    console.fill(page, "#c-amount", amount)
    console.click(page, "[data-testid=contribute-submit]")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_contribution_refused_then_made_and_traced(console: Console, console_chain: DemoChain, width: int) -> None:
    label = "resident-1" if width == 1280 else "enterprise-1"
    fund, credit = Fund(console_chain.ledger), Credit(console_chain.ledger)
    account = console_chain.signers[label].address
    held = credit.balance_of(account)

    page = console.page(label, width)
    assert page.url.endswith("/console/contribute")  # a contributor's home
    console.check(page)
    if width == 1280:
        shot(page, "console-contributor")
        traced = page.locator("[data-testid=receipts] tr[data-receipt='5']").inner_text()
        assert "#1" in traced and "停车难" in traced  # receipt 5 paid payout 1 of project 1 (parking)
    receipts = fund.contribution_count()
    _give(console, page, f"{held // 100 + 1000}")
    refusal = page.locator("[data-testid=refusal]")
    assert refusal.get_attribute("data-error") == "ERC20InsufficientBalance"
    assert "余额不足" in refusal.inner_text() and "元" in refusal.inner_text()
    assert fund.contribution_count() == receipts  # nothing sent
    page.errors.clear()  # the refusal's page answers 409, as the API would: the browser logs that status
    console.check(page)

    credit.mint(console_chain.signers["caizhengju"], account, 100_000, keccak(text=f"console-test-{width}"))
    page.goto(console.url + "/console/contribute")
    _give(console, page, "300")
    confirmed(page)
    assert fund.contribution_count() == receipts + 1
    page.goto(console.url + "/console/contribute")
    assert page.locator(f"[data-testid=receipts] tr[data-receipt='{receipts + 1}']").count() == 1
    console.check(page)
