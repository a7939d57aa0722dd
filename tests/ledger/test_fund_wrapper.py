"""The CoGovFund / CommunityCredit wrappers against Ganache: every write and read round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import ContractReverted, ValidationFailed
from ledger.fund import (
    Credit,
    Fund,
    MotionKind,
    MotionState,
    ProjectState,
    format_amount,
    parse_amount,
)
from ledger.fund.docs import doc_hash
from ledger.fund.model import FundModel
from ledger.fund.report import contributor_trace, events_from_chain, export_rows, labels_for
from ledger.fund.trace import trace_fund
from ledger.keys import Signer
from ledger.logs import head_time
from tests.api.test_fund_support import in_one_block, ledger_for, mint, move_time, private_fund_manifest
from tests.conftest import MEMBER_IDS, Deployment

pytestmark = pytest.mark.ganache


def test_amounts() -> None:
    assert parse_amount("1234.5") == 123450 and parse_amount("0.01") == 1 and parse_amount(7) == 700
    assert format_amount(123450) == "1234.50" and format_amount(-5) == "-0.05" and format_amount(3, 0) == "3"
    for bad in ("0", "-1", "0.001", "abc"):
        with pytest.raises(ValidationFailed):
            parse_amount(bad)


def test_wrapper_round_trip(deployment: Deployment, tmp_path: Path) -> None:
    led = ledger_for(deployment, private_fund_manifest(deployment, tmp_path, quorum=2, timelock=5))
    fund = Fund(led)
    s = deployment.signers
    credit = Credit(led)
    assert isinstance(fund.token, Credit) and credit.decimals == 2 and fund.quorum() == 2 and fund.time_lock() == 5
    mint(led, s["treasurer"], s["resident"].address, 50_000)
    mint(led, s["treasurer"], s["enterprise"].address, 100_000)

    # refusals: an auditor cannot contribute, a resident cannot propose, nothing on chain
    with pytest.raises(ContractReverted) as exc:
        fund.contribute(s["auditor"], 1, approve=False)
    assert exc.value.error_name == "FundContributorKindRefused"
    with pytest.raises(ContractReverted) as exc:
        fund.propose_project(s["resident"], doc_hash("t"), s["dept_b"].address, [(100, doc_hash("m"))])
    assert exc.value.error_name == "FundNotProposer"
    assert fund.contribution_count() == 0 and fund.project_count() == 0

    pid, r = fund.propose_project(s["dept_a"], doc_hash("停车难"), s["dept_b"].address,
                                  [(30_000, doc_hash("m0")), (20_000, doc_hash("m1"))])
    p = fund.project(pid)
    assert p.state == ProjectState.PROPOSED and p.budget == 50_000 and p.milestone_count == 2
    assert p.proposer_id == MEMBER_IDS["dept_a"] and p.title_hash == doc_hash("停车难")
    assert [m.amount for m in fund.milestones(pid)] == [30_000, 20_000]
    assert fund.milestone(pid, 1).description_hash == doc_hash("m1")
    approval = p.approval_motion_id
    assert fund.motion(approval).kind == MotionKind.APPROVE_PROJECT and r.event("MotionProposed")

    rid, r = fund.contribute(s["resident"], 40_000, pid, doc_hash("memo"))
    c = fund.contribution(rid)
    assert (c.member_id, c.project_id, c.amount, c.memo_hash) == (MEMBER_IDS["resident"], pid, 40_000, doc_hash("memo"))
    assert credit.balance_of(fund.address) == 40_000 and credit.allowance(s["resident"].address, fund.address) == 0
    grid, _ = fund.contribute(s["enterprise"], 100_000)
    assert fund.pool().total == 100_000 and fund.pool().free == 100_000

    fund.vote(s["committee_a"], approval, True)
    assert fund.has_voted(approval, MEMBER_IDS["committee_a"])
    assert not fund.has_voted(approval, MEMBER_IDS["committee_b"])
    fund.vote(s["committee_b"], approval, True)
    assert fund.motion_state(approval) == MotionState.PASSED and fund.project_state(pid) == ProjectState.TIME_LOCKED
    with pytest.raises(ContractReverted) as exc:
        fund.pay_milestone(s["treasurer"], pid, 0, 1, doc_hash("inv"))
    assert exc.value.error_name == "FundTimeLocked"

    mid, _ = fund.propose_allocation(s["committee_c"], pid, 10_000)
    fund.vote(s["committee_a"], mid, True)
    fund.vote(s["committee_c"], mid, True)
    assert fund.motion(mid).state == MotionState.PASSED and fund.project(pid).allocated == 10_000
    move_time(led, 6)
    assert fund.project_state(pid) == ProjectState.ACTIVE and fund.available(pid) == 50_000

    pay1, r = fund.pay_milestone(s["treasurer"], pid, 0, 30_000, doc_hash("发票 1"))
    assert r.event("PayoutMade").args["fromEarmarked"] == 30_000
    pay2, r = fund.pay_milestone(s["treasurer"], pid, 1, 20_000, doc_hash("发票 2"))
    ev = r.event("PayoutMade").args
    assert (pay1, pay2) == (1, 2) and (ev["fromEarmarked"], ev["fromGeneral"]) == (10_000, 10_000)
    assert fund.project_state(pid) == ProjectState.COMPLETED and credit.balance_of(s["dept_b"].address) >= 50_000
    assert fund.spent_of(grid) == 10_000 and fund.spent_of(rid) == 40_000

    # cancellation and refund on a second project
    pid2, _ = fund.propose_project(s["committee_c"], doc_hash("绿化"), s["dept_b"].address, [(9_000, doc_hash("m"))])
    rid2, _ = fund.contribute(s["resident"], 5_000, pid2)
    with pytest.raises(ContractReverted) as exc:
        fund.vote(s["committee_c"], fund.project(pid2).approval_motion_id, True)
    assert exc.value.error_name == "FundProposerCannotVote"
    cid, _ = fund.propose_cancellation(s["committee_a"], pid2)
    fund.vote(s["committee_a"], cid, True)
    fund.vote(s["committee_b"], cid, True)
    assert fund.project_state(pid2) == ProjectState.CANCELLED and fund.refundable(rid2) == 5_000
    assert fund.motion_state(fund.project(pid2).approval_motion_id) == MotionState.LAPSED
    with pytest.raises(ContractReverted) as exc:
        fund.claim_refund(s["enterprise"], rid2)
    assert exc.value.error_name == "FundNotContributor"
    before = credit.balance_of(s["resident"].address)
    amount, _ = fund.claim_refund(s["resident"], rid2)
    assert amount == 5_000 and credit.balance_of(s["resident"].address) == before + 5_000
    t = fund.totals()
    assert (t.contributed, t.paid_out, t.refunded, t.balance) == (145_000, 50_000, 5_000, 90_000) and t.invariant_holds

    # the reports over the same events agree with the contract's own attribution
    events = events_from_chain(led)
    trace = trace_fund(events)
    for receipt in (rid, grid, rid2):
        assert trace.contributions[receipt].spent == fund.spent_of(receipt)
    labels = labels_for(led, {})
    model = FundModel.of(events)
    mine = contributor_trace(model, head_time(led), MEMBER_IDS["resident"], labels, "CCR", 2)
    assert [c.receipt_id for c in mine.contributions] == [rid, rid2]
    assert mine.total_contributed == 45_000 and mine.total_spent == 40_000 and mine.total_refunded == 5_000
    assert mine.projects_funded == [pid] and mine.member_name == "幸福里居民"
    rows = export_rows(model, labels, "CCR", 2)
    assert [r.type for r in rows] == ["contribution", "contribution", "payout", "payout", "contribution", "refund"]
    assert all(r.tx_hash.startswith("0x") and r.block_number > 0 for r in rows)
    assert rows[2].counterparty == "城管" and rows[2].amount == "300.00" and rows[2].net_amount == "-300.00"


def test_a_vote_made_deciding_after_its_pre_flight_runs_out_of_gas_is_named_and_sent_again(
    deployment: Deployment, tmp_path: Path
) -> None:
    """Two committee members vote on one motion (quorum 2) while the node mines nothing: each
    pre-flight sees one vote to go and passes with the cached limit of a vote that does not decide
    (it uses about 52,000 gas, its limit about 75,000; deciding uses about 97,000). In the block the
    second vote decides and runs out of gas: the wait names it (OutOfGas, not a bare revert) and
    ``transact`` sends that vote once more with a fresh estimate, so both votes count and the motion
    passes (found by the reads bench's seeding, where it failed with "reverted with TransactionReverted()")."""
    from ledger.errors import OutOfGas

    led = ledger_for(deployment, private_fund_manifest(deployment, tmp_path, quorum=2, timelock=5))
    fund = Fund(led)
    s = deployment.signers
    pid, _ = fund.propose_project(s["dept_a"], doc_hash("路灯"), s["dept_b"].address, [(100, doc_hash("m"))])
    motion = fund.project(pid).approval_motion_id
    voters = [s["committee_a"], s["committee_b"]]
    start = led.block_number()
    outcomes: dict[str, object] = {}

    def vote(signer: Signer) -> None:
        try:
            outcomes[signer.address] = led.transact(signer, led.prepare("CoGovFund", "vote", motion, True))
        except Exception as exc:  # the assertion below shows it
            outcomes[signer.address] = exc

    in_one_block(led, [v.address for v in voters], *(lambda v=v: vote(v) for v in voters))
    assert all(not isinstance(o, Exception) for o in outcomes.values()), outcomes
    assert fund.motion_state(motion) == MotionState.PASSED
    assert all(fund.has_voted(motion, MEMBER_IDS[k]) for k in ("committee_a", "committee_b"))
    failed = []
    for n in range(start + 1, led.block_number() + 1):
        for h in led.rpc("eth_getBlockByNumber", [hex(n), False])["transactions"]:
            receipt = led.rpc("eth_getTransactionReceipt", [h])
            if int(receipt["status"], 16) == 0:
                failed.append((h, receipt))
    assert len(failed) == 1  # the vote the other made deciding, and only it
    h, receipt = failed[0]
    with pytest.raises(OutOfGas) as exc:
        led.tx.receipts.wait(h)
    sent = led.rpc("eth_getTransactionByHash", [h])
    gas, used = int(sent["gas"], 16), int(receipt["gasUsed"], 16)
    assert exc.value.gas == gas < 96_000 and used * 64 >= gas * 63  # out of gas in the registry call it made
    assert exc.value.tx_hash == h and "ran out of its" in exc.value.message
