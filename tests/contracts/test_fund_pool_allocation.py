"""A project's proposal asks for its general-pool allocation; its one approval motion decides
both (issue 18, item 7). The pool is checked and reserved by the vote after which the votes
would pass the approval (FundInsufficientPool otherwise), returned by one after which they
would not, and when the approval lapses; a proposal alone holds nothing.

The fund of these tests has quorum 3 and four FundCommittee members (``FundEnv``).
"""

from __future__ import annotations

from tests.contracts.conftest import FUND_TIME_LOCK, MOTION_KIND, MOTION_STATE, PROJECT_STATE, FundEnv, expect_revert
from tests.contracts.test_fund_motions import at, deadline, ev, names, propose_motion


def test_one_motion_approves_the_project_and_its_pool_allocation(fund_env: FundEnv) -> None:
    e, f = fund_env, fund_env.fund.functions
    e.contribute(e.gov, 500)
    pid = e.propose([200], pool=200)
    motion = e.motion_of(pid)
    assert f.getMotion(motion).call()[3] == 200  # MotionView.amount: the allocation asked
    assert f.generalPool().call() == [500, 0, 0, 500]  # a proposal alone holds no pool money
    assert f.getProject(pid).call()[14] == 0  # allocated: nothing until approved
    e.vote(motion, [True, True])
    assert f.generalPool().call() == [500, 0, 0, 500]  # below quorum: the votes pass nothing yet
    r = e.chain.transact(f.vote(motion, True), e.committee[2])
    assert names(e, r) == ["VoteCast", "MotionDecided", "ProjectApproved", "AllocationApproved"]
    assert ev(e, r, "AllocationApproved") == [{"motionId": motion, "projectId": pid, "amount": 200}]
    assert f.generalPool().call() == [500, 0, 200, 300]
    assert f.getProject(pid).call()[14] == 200
    e.chain.time_travel(FUND_TIME_LOCK + 1)
    r = e.pay(pid, 0, 200)
    assert ev(e, r, "PayoutMade")[0]["fromGeneral"] == 200
    assert f.generalPool().call() == [500, 200, 0, 300]
    assert list(f.getMilestone(pid, 0).call())[:2] == [200, 200]  # a one-milestone project: its own sums
    assert e.state(pid) == PROJECT_STATE["Completed"]
    e.assert_invariant()


def test_allocation_above_the_pool_is_refused_by_the_vote_that_would_pass_it(fund_env: FundEnv) -> None:
    e, f = fund_env, fund_env.fund.functions
    e.contribute(e.gov, 100)
    pid = e.propose([300], pool=300)  # the proposal is not checked against the pool
    motion = e.motion_of(pid)
    e.vote(motion, [True, True])
    with expect_revert("FundInsufficientPool", requested=300, free=100):
        e.chain.transact(f.vote(motion, True), e.committee[2])
    e.contribute(e.enterprise, 200)
    r = e.chain.transact(f.vote(motion, True), e.committee[2])
    assert ev(e, r, "AllocationApproved") == [{"motionId": motion, "projectId": pid, "amount": 300}]
    assert f.generalPool().call() == [300, 0, 300, 0]


def test_a_proposal_asks_at_most_its_budget(fund_env: FundEnv) -> None:
    e = fund_env
    with expect_revert("FundAllocationExceedsBudget", poolAllocation=301, budget=300):
        e.propose([100, 200], pool=301)


def test_conflicted_members_never_vote_on_a_pool_allocation(fund_env: FundEnv) -> None:
    e, f = fund_env, fund_env.fund.functions
    e.contribute(e.gov, 500)
    pid = e.propose([100], who=e.committee[0], pool=100)
    with expect_revert("FundProposerCannotVote", projectId=pid, memberId=e.committee_ids[0]):
        e.chain.transact(f.vote(e.motion_of(pid), True), e.committee[0])
    with expect_revert("FundNotCommittee", account=e.treasurer):
        e.chain.transact(f.vote(e.motion_of(pid), True), e.treasurer)
    assert f.generalPool().call() == [500, 0, 0, 500]


def test_the_reservation_follows_the_votes_and_a_deadline_decision_is_honoured(fund_env: FundEnv) -> None:
    e, f = fund_env, fund_env.fund.functions
    e.contribute(e.gov, 500)
    pid = e.propose([200], pool=200)
    motion = e.motion_of(pid)
    e.vote(motion, [True, True, False])  # 2-1 at quorum 3: would pass at the deadline; one may still tie
    assert f.motionState(motion).call() == MOTION_STATE["Open"]
    assert f.generalPool().call() == [500, 0, 200, 300]  # held by the votes
    r = e.chain.transact(f.vote(motion, False), e.committee[3])  # 2-2: fails, the pool money returns
    assert ev(e, r, "ProjectRejected") == [{"projectId": pid}]
    assert f.generalPool().call() == [500, 0, 0, 500]

    pid = e.propose([200], pool=200)
    motion = e.motion_of(pid)
    e.vote(motion, [True, True, False])
    at(e, deadline(e, motion))
    assert f.getProject(pid).call()[14] == 200  # derived: allocated from the deadline
    e.chain.time_travel(FUND_TIME_LOCK + 1)
    r = e.pay(pid, 0, 200)
    assert names(e, r) == ["MotionDecided", "ProjectApproved", "AllocationApproved", "PayoutMade",
                           "ProjectCompleted"]
    assert f.generalPool().call() == [500, 200, 0, 300]
    e.assert_invariant()


def test_cancelling_a_proposed_project_returns_what_its_votes_held(fund_env: FundEnv) -> None:
    e, f = fund_env, fund_env.fund.functions
    e.contribute(e.gov, 500)
    pid = e.propose([200], pool=200)
    approval = e.motion_of(pid)
    e.vote(approval, [True, True, False])
    cancel = propose_motion(e, f.proposeCancellation(pid))
    r = e.vote(cancel, [True, True, True])
    assert ev(e, r, "ReservationReleased") == [{"motionId": approval, "projectId": pid, "amount": 200}]
    assert f.motionState(approval).call() == MOTION_STATE["Lapsed"]
    assert f.getMotion(approval).call()[1] == MOTION_KIND["ApproveProject"]
    assert f.generalPool().call() == [500, 0, 0, 500]
    assert e.state(pid) == PROJECT_STATE["Cancelled"]


def test_a_top_up_adds_to_the_allocation_the_proposal_asked(fund_env: FundEnv) -> None:
    e, f = fund_env, fund_env.fund.functions
    e.contribute(e.gov, 500)
    pid = e.propose([300], pool=200)
    approval = e.motion_of(pid)
    e.approve_project(pid)
    e.allocate(pid, 100)
    assert f.getProject(pid).call()[14] == 300
    assert f.getMotion(approval).call()[3] == 200  # the approval's amount stays what the proposal asked
    assert f.generalPool().call() == [500, 0, 300, 200]
    r = e.pay(pid, 0, 300)
    assert ev(e, r, "PayoutMade")[0]["fromGeneral"] == 300
    e.assert_invariant()
