"""WeakFund (contracts/test): a deliberately broken fund that pays without quorum.

It exists so the auditor's tests can show the violation is caught from events; this
test only proves the weakness is real (and absent from CoGovFund).
"""

from __future__ import annotations

from tests.contracts.conftest import (
    FUND_QUORUM,
    FUND_TIME_LOCK,
    FUND_VOTING_PERIOD,
    PROJECT_STATE,
    FundEnv,
    expect_revert,
    h,
)


def test_weak_fund_pays_without_quorum_or_time_lock(fund_env: FundEnv) -> None:
    e = fund_env
    weak = e.chain.deploy(
        "WeakFund", e.registry.address, e.credit.address, FUND_QUORUM, FUND_TIME_LOCK, FUND_VOTING_PERIOD
    )
    e.chain.transact(e.credit.functions.approve(weak.address, 2**256 - 1), e.enterprise)
    for fund in (e.fund, weak):
        e.chain.transact(fund.functions.proposeProject(h("t"), e.beneficiary, 100, [(100, h("m"))], 0), e.proposer)
        e.chain.transact(fund.functions.contribute(100, 1, h("memo")), e.enterprise)

    with expect_revert("FundProjectNotActive", projectId=1, state=PROJECT_STATE["Proposed"]):
        e.chain.transact(e.fund.functions.payMilestone(1, 0, 100, h("inv")), e.treasurer)

    before = e.balance(e.beneficiary)
    r = e.chain.transact(weak.functions.payMilestone(1, 0, 100, h("inv")), e.treasurer)
    assert e.chain.events(weak, r, "PayoutMade")[0]["amount"] == 100
    assert e.balance(e.beneficiary) == before + 100
    # No vote was ever cast: the approval motion is still open.
    assert weak.functions.getMotion(1).call()[8:10] == (0, 0)  # approvals, rejections
    assert weak.functions.totalPaidOut().call() == 100
