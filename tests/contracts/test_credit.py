"""CommunityCredit: treasurer-only issuance against recorded fiat deposits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.contracts.conftest import FundEnv, expect_revert, h

# Who may call each state-changing function of CommunityCredit.
CREDIT_ROLES: dict[str, str] = {
    "mint": "Treasurer",
    "burn": "Treasurer",
    "approve": "anyone (ERC-20)",
    "transfer": "anyone (ERC-20)",
    "transferFrom": "anyone with an allowance (ERC-20)",
}


def _treasurer_only_calls(e: FundEnv) -> dict[str, Callable[[], Any]]:
    f = e.credit.functions
    return {
        "mint": lambda: f.mint(e.enterprise, 100, h("dep-x")),
        "burn": lambda: f.burn(e.enterprise, 100, h("red-x")),
    }


@pytest.mark.parametrize("caller", ["outsider", "enterprise", "proposer", "committee", "auditor"])
def test_unauthorised_callers_refused(fund_env: FundEnv, caller: str) -> None:
    e = fund_env
    account = e.committee[0] if caller == "committee" else getattr(e, caller)
    calls = _treasurer_only_calls(e)
    assert {n for n, role in CREDIT_ROLES.items() if role == "Treasurer"} == set(calls)
    for fn in calls.values():
        with expect_revert("CreditNotTreasurer", account=account):
            e.chain.transact(fn(), account)


def test_erc20_functions_open_to_anyone(fund_env: FundEnv) -> None:
    e, c = fund_env, fund_env.credit
    e.mint(e.outsider, 500, "dep-outsider")
    e.chain.transact(c.functions.transfer(e.enterprise, 100), e.outsider)
    e.chain.transact(c.functions.approve(e.resident, 50), e.outsider)
    e.chain.transact(c.functions.transferFrom(e.outsider, e.resident, 50), e.resident)
    assert e.balance(e.outsider) == 350


def test_mint_records_deposit(fund_env: FundEnv) -> None:
    e, c = fund_env, fund_env.credit
    supply = c.functions.totalSupply().call()
    r = e.mint(e.outsider, 12_345, "bank-slip-0001")
    assert e.chain.events(c, r, "CreditMinted") == [
        {"to": e.outsider, "amount": 12_345, "depositRef": h("bank-slip-0001"), "treasurerId": e.treasurer_id}
    ]
    assert c.functions.totalSupply().call() == supply + 12_345
    assert c.functions.depositRecorded(h("bank-slip-0001")).call()
    assert c.functions.totalMinted().call() == supply + 12_345
    assert c.functions.decimals().call() == 2
    assert c.functions.registry().call() == e.registry.address


def _refuses_zeros(e: FundEnv, op: Any, ref: str) -> None:
    """``op`` (mint or burn) refuses a zero amount and a zero reference."""
    with expect_revert("CreditZeroAmount"):
        e.chain.transact(op(e.outsider, 0, h(ref)), e.treasurer)
    with expect_revert("CreditZeroReference"):
        e.chain.transact(op(e.outsider, 1, b"\x00" * 32), e.treasurer)


def test_mint_refusals(fund_env: FundEnv) -> None:
    e, f = fund_env, fund_env.credit.functions
    e.mint(e.outsider, 1, "slip-1")
    with expect_revert("CreditDepositAlreadyRecorded", depositRef=h("slip-1")):
        e.chain.transact(f.mint(e.outsider, 1, h("slip-1")), e.treasurer)
    _refuses_zeros(e, f.mint, "slip-2")
    with expect_revert("ERC20InvalidReceiver"):
        e.chain.transact(f.mint("0x" + "00" * 20, 1, h("slip-3")), e.treasurer)


def test_burn_needs_holder_consent_and_records_redemption(fund_env: FundEnv) -> None:
    e, c = fund_env, fund_env.credit
    f = c.functions
    e.mint(e.outsider, 1_000, "slip-r")
    with expect_revert("ERC20InsufficientAllowance", spender=e.treasurer, allowance=0, needed=400):
        e.chain.transact(f.burn(e.outsider, 400, h("redeem-1")), e.treasurer)
    e.chain.transact(f.approve(e.treasurer, 400), e.outsider)
    r = e.chain.transact(f.burn(e.outsider, 400, h("redeem-1")), e.treasurer)
    assert e.chain.events(c, r, "CreditBurned") == [
        {"holder": e.outsider, "amount": 400, "redemptionRef": h("redeem-1"), "treasurerId": e.treasurer_id}
    ]
    assert e.balance(e.outsider) == 600
    assert f.redemptionRecorded(h("redeem-1")).call()
    assert f.totalBurned().call() == 400
    assert f.totalMinted().call() - f.totalBurned().call() == f.totalSupply().call()
    e.chain.transact(f.approve(e.treasurer, 400), e.outsider)
    with expect_revert("CreditRedemptionAlreadyRecorded", redemptionRef=h("redeem-1")):
        e.chain.transact(f.burn(e.outsider, 100, h("redeem-1")), e.treasurer)
    _refuses_zeros(e, f.burn, "redeem-2")


def test_treasurer_burns_own_credits_without_allowance(fund_env: FundEnv) -> None:
    e, f = fund_env, fund_env.credit.functions
    e.mint(e.treasurer, 300, "slip-own")
    e.chain.transact(f.burn(e.treasurer, 300, h("redeem-own")), e.treasurer)
    assert e.balance(e.treasurer) == 0


def test_removed_treasurer_loses_the_power(fund_env: FundEnv) -> None:
    e = fund_env
    e.council.enact("RevokeRole", e.treasurer_id, 4)
    with expect_revert("CreditNotTreasurer", account=e.treasurer):
        e.chain.transact(e.credit.functions.mint(e.outsider, 1, h("late")), e.treasurer)
