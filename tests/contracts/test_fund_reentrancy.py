"""A malicious token that re-enters the fund from its transfer hook is refused."""

from __future__ import annotations

from typing import Any

from tests.contracts.conftest import FUND_TIME_LOCK, FUND_VOTING_PERIOD, FundEnv, expect_revert, h

ZERO32 = b"\x00" * 32


def _setup(e: FundEnv) -> tuple[Any, Any]:
    evil = e.chain.deploy("ReentrantToken")
    fund = e.chain.deploy("CoGovFund", e.registry.address, evil.address, 3, FUND_TIME_LOCK, FUND_VOTING_PERIOD)
    for acct in (e.enterprise, e.resident):
        e.chain.transact(evil.functions.mint(acct, 10_000), acct)
        e.chain.transact(evil.functions.approve(fund.address, 2**256 - 1), acct)
    return evil, fund


def _arm(e: FundEnv, evil: Any, fund: Any, fn: str, *args: Any) -> None:
    payload = fund.encode_abi(fn, args=list(args))
    e.chain.transact(evil.functions.arm(fund.address, payload), e.outsider)


def _invariant(e: FundEnv, evil: Any, fund: Any) -> None:
    f = fund.functions
    expected = f.totalContributed().call() - f.totalPaidOut().call() - f.totalRefunded().call()
    assert evil.functions.balanceOf(fund.address).call() == expected


def test_reentry_during_contribute_is_refused(fund_env: FundEnv) -> None:
    e = fund_env
    evil, fund = _setup(e)
    _arm(e, evil, fund, "contribute", 1, 0, ZERO32)
    with expect_revert("ReentrancyGuardReentrantCall"):
        e.chain.transact(fund.functions.contribute(100, 0, ZERO32), e.enterprise)
    assert fund.functions.totalContributed().call() == 0
    _invariant(e, evil, fund)


def test_reentry_during_payout_and_refund_is_refused(fund_env: FundEnv) -> None:
    e = fund_env
    evil, fund = _setup(e)
    f = fund.functions
    ms = [(100, h("m0")), (100, h("m1"))]
    e.chain.transact(f.proposeProject(h("t"), e.beneficiary, 200, ms, 0), e.proposer)
    e.chain.transact(f.contribute(150, 1, ZERO32), e.enterprise)  # receipt 1
    for acct in e.committee[:3]:
        e.chain.transact(f.vote(1, True), acct)
    e.chain.time_travel(FUND_TIME_LOCK + 1)

    # The beneficiary's token transfer tries to get paid a second time.
    _arm(e, evil, fund, "payMilestone", 1, 0, 100, h("again"))
    with expect_revert("ReentrancyGuardReentrantCall"):
        e.chain.transact(f.payMilestone(1, 0, 100, h("inv")), e.treasurer)
    _arm(e, evil, fund, "claimRefund", 1)
    with expect_revert("ReentrancyGuardReentrantCall"):
        e.chain.transact(f.payMilestone(1, 0, 100, h("inv")), e.treasurer)
    assert f.totalPaidOut().call() == 0

    # Harmless hook: pays once.
    _arm(e, evil, fund, "totalContributed")
    e.chain.transact(f.payMilestone(1, 0, 100, h("inv")), e.treasurer)
    _invariant(e, evil, fund)

    # Cancel; the refund transfer tries to claim the refund again.
    e.chain.transact(f.proposeCancellation(1), e.committee[0])
    for acct in e.committee[:3]:
        e.chain.transact(f.vote(2, True), acct)
    _arm(e, evil, fund, "claimRefund", 1)
    with expect_revert("ReentrancyGuardReentrantCall"):
        e.chain.transact(f.claimRefund(1), e.enterprise)
    _arm(e, evil, fund, "totalContributed")
    e.chain.transact(f.claimRefund(1), e.enterprise)
    assert f.totalRefunded().call() == 50
    with expect_revert("FundAlreadyRefunded", receiptId=1):
        e.chain.transact(f.claimRefund(1), e.enterprise)
    _invariant(e, evil, fund)
