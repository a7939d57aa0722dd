"""The fund's reducer (ledger.fund.model) against the contract's own views on a real chain:
a motion decided early by a vote and one decided at its deadline (before any write records
it), a cancelled project's refunds, a milestone payout."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.client import Ledger
from ledger.fund import Fund, FundModel, FundState, MotionState, ProjectState
from ledger.fund.docs import doc_hash
from ledger.fund.model import MODEL_EVENTS
from ledger.fund.report import events_from_chain
from ledger.logs import header
from tests.api.test_fund_support import ledger_for, mint, move_time, private_fund_manifest
from tests.conftest import Deployment

pytestmark = pytest.mark.ganache

VOTING_PERIOD = 60


def folded(led: Ledger) -> FundState:
    """The reducer over the fund's events from the chain, at the latest block's time."""
    head = header(led)
    assert head is not None
    return FundModel.of(events_from_chain(led, MODEL_EVENTS)).state(head.time)


def assert_equals_contract(fund: Fund, state: FundState) -> None:
    """Every project, milestone, motion and contribution, the pool and the totals, as the views say."""
    assert len(state.projects) == fund.project_count() and len(state.motions) == fund.motion_count()
    assert len(state.contributions) == fund.contribution_count() and len(state.payouts) == fund.payout_count()
    for pid, p in state.projects.items():
        assert p == fund.project(pid), f"project {pid}"
        assert list(state.milestones[pid]) == fund.milestones(pid), f"milestones of {pid}"
    for mid, m in state.motions.items():
        assert m == fund.motion(mid), f"motion {mid}"
    for rid, c in state.contributions.items():
        assert c == fund.contribution(rid), f"contribution {rid}"
    assert state.pool == fund.pool()
    t = fund.totals()
    assert (state.contributed, state.paid_out, state.refunded) == (t.contributed, t.paid_out, t.refunded)


def test_model_equals_the_contract(deployment: Deployment, tmp_path: Path) -> None:
    led = ledger_for(deployment, private_fund_manifest(deployment, tmp_path, quorum=2, timelock=5,
                                                       voting_period=VOTING_PERIOD))
    fund, s = Fund(led), deployment.signers
    mint(led, s["treasurer"], s["resident"].address, 100_000)
    assert_equals_contract(fund, folded(led))

    # Decided early: two approvals of three eligible voters make the outcome certain.
    early, _ = fund.propose_project(s["dept_a"], doc_hash("early"), s["dept_b"].address,
                                    [(30_000, doc_hash("e0")), (20_000, doc_hash("e1"))])
    approval = fund.project(early).approval_motion_id
    fund.vote(s["committee_a"], approval, True)
    assert_equals_contract(fund, folded(led))  # open, one vote
    fund.vote(s["committee_b"], approval, True)
    m = fund.motion(approval)
    assert m.state == MotionState.PASSED and 0 < m.decided_at < m.deadline
    assert_equals_contract(fund, folded(led))

    # Decided at its deadline: one for, one against is never certain; at the deadline it fails,
    # and every view says so before any write records it.
    late, _ = fund.propose_project(s["dept_a"], doc_hash("late"), s["dept_b"].address, [(10_000, doc_hash("l0"))])
    late_motion = fund.project(late).approval_motion_id
    fund.vote(s["committee_a"], late_motion, True)
    fund.vote(s["committee_b"], late_motion, False)
    assert fund.motion_state(late_motion) == MotionState.OPEN
    assert_equals_contract(fund, folded(led))
    move_time(led, VOTING_PERIOD + 1)
    m = fund.motion(late_motion)
    assert m.state == MotionState.FAILED and m.decided_at == m.deadline
    assert fund.project_state(late) == ProjectState.REJECTED
    state = folded(led)
    assert state.motions[late_motion].decided_at == m.deadline
    assert_equals_contract(fund, state)

    # A milestone payout (the early project's time lock is over).
    rid, _ = fund.contribute(s["resident"], 30_000, early)
    payout_id, _ = fund.pay_milestone(s["treasurer"], early, 0, 30_000, doc_hash("invoice"))
    state = folded(led)
    assert state.payouts[-1].payout_id == payout_id and state.payouts[-1].from_earmarked == 30_000
    assert state.milestones[early][0].paid == 30_000 and state.contributions[rid].spent == 30_000
    assert_equals_contract(fund, state)

    # A cancelled project's refunds.
    doomed, _ = fund.propose_project(s["dept_a"], doc_hash("doomed"), s["dept_b"].address, [(40_000, doc_hash("d0"))])
    doomed_approval = fund.project(doomed).approval_motion_id
    fund.vote(s["committee_a"], doomed_approval, True)
    fund.vote(s["committee_b"], doomed_approval, True)
    refund_rid, _ = fund.contribute(s["resident"], 25_000, doomed)
    cancel, _ = fund.propose_cancellation(s["committee_c"], doomed)
    fund.vote(s["committee_a"], cancel, True)
    fund.vote(s["committee_b"], cancel, True)
    assert fund.project_state(doomed) == ProjectState.CANCELLED
    state = folded(led)
    assert state.contributions[refund_rid].refundable == 25_000
    assert_equals_contract(fund, state)
    amount, _ = fund.claim_refund(s["resident"], refund_rid)
    assert amount == 25_000
    state = folded(led)
    assert state.contributions[refund_rid].refunded and state.refunds[-1].amount == 25_000
    assert state.projects[doomed].refunded == 25_000
    assert_equals_contract(fund, state)
