"""CoGovFund's decision rule: a motion is decided early only when no remaining vote can change
its outcome; otherwise at its deadline, derived by the views (no keeper) and recorded by the
next write on the project (or ``settle``). A project's beneficiary is an account of a member.

The fund of these tests has quorum 3 and four FundCommittee members (``FundEnv``).
"""

from __future__ import annotations

from typing import Any

from tests.contracts.conftest import (
    FUND_TIME_LOCK,
    FUND_VOTING_PERIOD,
    MOTION_KIND,
    MOTION_STATE,
    PROJECT_STATE,
    FundEnv,
    expect_revert,
    h,
)


def ev(e: FundEnv, receipt: Any, name: str) -> list[dict[str, Any]]:
    return e.chain.events(e.fund, receipt, name)


def names(e: FundEnv, receipt: Any) -> list[str]:
    """The fund's events of one transaction, in log order."""
    by_topic = {}
    from eth_utils import event_abi_to_log_topic

    for item in e.fund.abi:
        if item.get("type") == "event":
            by_topic[bytes(event_abi_to_log_topic(item))] = item["name"]
    return [by_topic[bytes(log["topics"][0])] for log in receipt["logs"] if log["address"] == e.fund.address]


def deadline(e: FundEnv, motion: int) -> int:
    m = e.fund.functions.getMotion(motion).call()
    assert m[6] == m[5] + FUND_VOTING_PERIOD  # MotionView: ..., createdAt, deadline, decidedAt, ...
    return int(m[6])


def at(e: FundEnv, timestamp: int) -> None:
    """Make ``timestamp`` the latest block's time (the time views are evaluated at)."""
    e.chain.tester.time_travel(timestamp)  # eth-tester: the latest block is then at timestamp - 1
    e.chain.tester.mine_blocks(1)
    assert e.chain.now() == timestamp


def views(e: FundEnv) -> list[Any]:
    """Every project and motion view: settling must not change any of them."""
    f = e.fund.functions
    out: list[Any] = [f.getProject(i).call() for i in range(1, f.projectCount().call() + 1)]
    out += [f.getMotion(i).call() for i in range(1, f.motionCount().call() + 1)]
    out += [f.available(i).call() for i in range(1, f.projectCount().call() + 1)]
    return out


def settle(e: FundEnv, project: int) -> Any:
    """``settle`` as a committee member, checking first that it changes no view."""
    before = views(e)
    r = e.chain.transact(e.fund.functions.settle(project), e.committee[0])
    assert views(e) == before
    return r


def pool_and_project(e: FundEnv) -> int:
    """500 in the general pool, and an approved, unlocked project of 300: its id."""
    e.contribute(e.gov, 500)
    pid = e.propose([300])
    e.approve_project(pid)
    return pid


def propose_motion(e: FundEnv, fn: Any) -> int:
    r = e.chain.transact(fn, e.committee[0])
    return int(ev(e, r, "MotionProposed")[0]["motionId"])


# ------------------------------------------------------------------ early decisions


def test_quorum_alone_does_not_decide(fund_env: FundEnv) -> None:
    """Issue 14, item 20: 2 approvals and 1 rejection reach quorum 3, but the fourth member can
    still tie it: the motion stays open, and the fourth vote (a rejection) makes it fail."""
    e = fund_env
    f = e.fund.functions
    pid = e.propose([100])
    motion = e.motion_of(pid)
    r = e.vote(motion, [True, True, False])
    assert ev(e, r, "MotionDecided") == []
    assert f.motionState(motion).call() == MOTION_STATE["Open"]
    assert e.state(pid) == PROJECT_STATE["Proposed"]
    r = e.chain.transact(f.vote(motion, False), e.committee[3])
    t = e.chain.w3.eth.get_block(r["blockNumber"])["timestamp"]
    assert ev(e, r, "MotionDecided") == [
        {"motionId": motion, "kind": MOTION_KIND["ApproveProject"], "projectId": pid, "passed": False,
         "approvals": 2, "rejections": 2, "decidedAt": t}
    ]
    assert ev(e, r, "ProjectRejected") == [{"projectId": pid}]
    assert e.state(pid) == PROJECT_STATE["Rejected"]


def test_early_decisions_count_only_eligible_voters(fund_env: FundEnv) -> None:
    e = fund_env
    f = e.fund.functions
    # Proposed by committee member 1: three eligible voters (2, 3, 4).
    pid = e.propose([100], who=e.committee[0])
    motion = e.motion_of(pid)
    r = e.vote(motion, [True, True], voters=e.committee[1:3])
    assert ev(e, r, "MotionDecided") == []  # 2 votes: quorum not reached, the last voter may still vote
    r = e.vote(motion, [False], voters=[e.committee[3]])
    assert ev(e, r, "MotionDecided")[0]["passed"] is True  # 3 votes, 2 > 1 + 0 left
    # Proposed by member 1, paid to member 2: two eligible voters never reach quorum 3; no vote
    # decides below quorum, and the motion fails at its deadline.
    pid2 = e.propose([100], who=e.committee[0], beneficiary=e.committee[1], title="conflicted")
    r = e.vote(e.motion_of(pid2), [True, True], voters=e.committee[2:])
    assert ev(e, r, "MotionDecided") == []
    at(e, deadline(e, e.motion_of(pid2)))
    assert f.motionState(e.motion_of(pid2)).call() == MOTION_STATE["Failed"]
    assert e.state(pid2) == PROJECT_STATE["Rejected"]
    # Three rejections of four: approvals can no longer overtake them.
    pid4 = e.propose([100], title="refused")
    r = e.vote(e.motion_of(pid4), [False, True, False])
    assert ev(e, r, "MotionDecided")[0]["passed"] is False
    # Three approvals of four: the fourth cannot overtake them.
    pid3 = e.propose([100], title="clear")
    r = e.vote(e.motion_of(pid3), [True, True, True])
    assert ev(e, r, "MotionDecided")[0]["passed"] is True
    assert f.motionState(e.motion_of(pid3)).call() == MOTION_STATE["Passed"]


# ------------------------------------------------------------------ decided at the deadline


def test_undecided_motion_is_decided_at_its_deadline(fund_env: FundEnv) -> None:
    e = fund_env
    f = e.fund.functions
    pid = e.propose([100])
    e.contribute(e.enterprise, 100, pid)
    motion = e.motion_of(pid)
    end = deadline(e, motion)
    e.vote(motion, [True, True, False])
    at(e, end - 1)
    assert f.motionState(motion).call() == MOTION_STATE["Open"]
    assert e.state(pid) == PROJECT_STATE["Proposed"]
    at(e, end)
    # Derived: passed at the deadline (3 votes >= quorum, 2 > 1), effective in every view.
    assert f.motionState(motion).call() == MOTION_STATE["Passed"]
    m = f.getMotion(motion).call()
    assert (m[7], m[8], m[9], m[10]) == (end, 2, 1, MOTION_STATE["Passed"])  # decidedAt, tallies, state
    p = f.getProject(pid).call()
    assert (p[7], p[8], p[-1]) == (end, end + FUND_TIME_LOCK, PROJECT_STATE["TimeLocked"])
    with expect_revert("FundMotionNotOpen", motionId=motion, state=MOTION_STATE["Passed"]):
        e.vote(motion, [True], voters=[e.committee[3]])
    # Recorded by settle (committee), with the deadline as the decision time; once.
    r = settle(e, pid)
    assert names(e, r) == ["MotionDecided", "ProjectApproved"]
    assert ev(e, r, "MotionDecided") == [
        {"motionId": motion, "kind": MOTION_KIND["ApproveProject"], "projectId": pid, "passed": True,
         "approvals": 2, "rejections": 1, "decidedAt": end}
    ]
    assert ev(e, r, "ProjectApproved") == [{"projectId": pid, "unlocksAt": end + FUND_TIME_LOCK}]
    assert f.settle(pid).call({"from": e.committee[0]}) is False
    assert names(e, settle(e, pid)) == []
    # The time lock runs from the deadline.
    at(e, end + FUND_TIME_LOCK - 1)
    with expect_revert("FundTimeLocked", projectId=pid, unlocksAt=end + FUND_TIME_LOCK):
        e.pay(pid, 0, 100)
    at(e, end + FUND_TIME_LOCK)
    e.pay(pid, 0, 100)
    assert e.state(pid) == PROJECT_STATE["Completed"]


def test_deadline_without_quorum_rejects_and_the_refund_records_it(fund_env: FundEnv) -> None:
    e = fund_env
    f = e.fund.functions
    pid = e.propose([100])
    e.contribute(e.enterprise, 70, pid)  # receipt 1
    motion = e.motion_of(pid)
    e.vote(motion, [True])  # 1 vote of quorum 3; 3 voters left: open
    assert f.motionState(motion).call() == MOTION_STATE["Open"]
    at(e, deadline(e, motion))
    assert f.motionState(motion).call() == MOTION_STATE["Failed"]
    assert e.state(pid) == PROJECT_STATE["Rejected"]
    assert f.refundable(1).call() == 70
    with expect_revert("FundProjectNotOpenForFunding", projectId=pid, state=PROJECT_STATE["Rejected"]):
        e.contribute(e.enterprise, 1, pid)
    # The refund records the rejection first: its events precede the refund's.
    r = e.chain.transact(f.claimRefund(1), e.enterprise)
    assert names(e, r) == ["MotionDecided", "ProjectRejected", "RefundClaimed"]
    assert ev(e, r, "MotionDecided")[0]["decidedAt"] == deadline(e, motion)


def test_allocation_passed_at_its_deadline_is_paid(fund_env: FundEnv) -> None:
    e = fund_env
    f = e.fund.functions
    e.contribute(e.gov, 500)
    pid = e.propose([300])
    e.contribute(e.enterprise, 100, pid)
    e.approve_project(pid)
    alloc = propose_motion(e, f.proposeAllocation(pid, 200))
    e.vote(alloc, [True, True, False])
    assert f.available(pid).call() == 100
    end = deadline(e, alloc)
    at(e, end)
    assert f.motionState(alloc).call() == MOTION_STATE["Passed"]
    assert f.available(pid).call() == 300  # derived: the allocation holds from the deadline
    assert f.getProject(pid).call()[14] == 200  # allocated
    assert f.generalPool().call() == [500, 0, 200, 300]  # reserved since the proposal
    r = e.pay(pid, 0, 300)
    assert names(e, r) == ["MotionDecided", "AllocationApproved", "PayoutMade", "ProjectCompleted"]
    assert ev(e, r, "MotionDecided")[0]["decidedAt"] == end
    assert ev(e, r, "PayoutMade")[0]["fromGeneral"] == 200
    assert f.generalPool().call() == [500, 200, 0, 300]
    e.assert_invariant()


def test_allocation_failed_at_its_deadline_releases_its_reservation(fund_env: FundEnv) -> None:
    e, f = fund_env, fund_env.fund.functions
    pid = pool_and_project(e)
    alloc = propose_motion(e, f.proposeAllocation(pid, 200))
    e.vote(alloc, [True, False])
    at(e, deadline(e, alloc))
    assert f.motionState(alloc).call() == MOTION_STATE["Failed"]
    assert f.available(pid).call() == 0
    # Until recorded, the reservation still counts as committed (never more free money than there is).
    assert f.generalPool().call() == [500, 0, 200, 300]
    r = settle(e, pid)
    assert ev(e, r, "ReservationReleased") == [{"motionId": alloc, "projectId": pid, "amount": 200}]
    assert f.generalPool().call() == [500, 0, 0, 500]
    # The next allocation motion may open.
    propose_motion(e, f.proposeAllocation(pid, 300))


def test_cancellation_passed_at_its_deadline(fund_env: FundEnv) -> None:
    e = fund_env
    f = e.fund.functions
    e.contribute(e.gov, 500)  # receipt 1
    pid = e.propose([300, 300])
    e.contribute(e.resident, 100, pid)  # receipt 2
    e.approve_project(pid)
    e.allocate(pid, 150)
    e.pay(pid, 0, 120)  # 100 earmarked + 20 allocated
    cancel = propose_motion(e, f.proposeCancellation(pid))
    with expect_revert("FundMotionPending", projectId=pid, motionId=cancel):
        e.chain.transact(f.proposeCancellation(pid), e.committee[1])
    e.vote(cancel, [True, True, False])
    end = deadline(e, cancel)
    at(e, end)
    p = f.getProject(pid).call()
    assert p[-1] == PROJECT_STATE["Cancelled"] and p[9] == end  # cancelledAt: the deadline
    assert p[16] == 130 and p[-2] == 0  # allocationReleased (derived), available
    with expect_revert("FundProjectNotActive", projectId=pid, state=PROJECT_STATE["Cancelled"]):
        e.pay(pid, 1, 1)
    with expect_revert("FundProjectClosed", projectId=pid, state=PROJECT_STATE["Cancelled"]):
        e.chain.transact(f.proposeCancellation(pid), e.committee[1])
    assert f.generalPool().call() == [500, 20, 130, 350]  # released when recorded
    r = settle(e, pid)
    assert names(e, r) == ["MotionDecided", "ProjectCancelled", "AllocationReleased"]
    assert ev(e, r, "AllocationReleased") == [{"projectId": pid, "amount": 130}]
    assert f.generalPool().call() == [500, 20, 0, 480]
    e.assert_invariant()


def test_allocation_after_a_cancellation_decided_first_lapses(fund_env: FundEnv) -> None:
    e, f = fund_env, fund_env.fund.functions
    pid = pool_and_project(e)
    cancel = propose_motion(e, f.proposeCancellation(pid))
    alloc = propose_motion(e, f.proposeAllocation(pid, 200))  # a later motion: a later deadline
    e.vote(cancel, [True, True, False])
    e.vote(alloc, [True, True, False])
    at(e, deadline(e, alloc))
    assert f.motionState(cancel).call() == MOTION_STATE["Passed"]
    assert f.motionState(alloc).call() == MOTION_STATE["Lapsed"]  # its project closed first
    assert e.state(pid) == PROJECT_STATE["Cancelled"]
    assert f.getProject(pid).call()[14] == 0  # nothing allocated
    r = settle(e, pid)
    assert names(e, r) == ["MotionDecided", "ProjectCancelled", "ReservationReleased"]
    assert f.generalPool().call() == [500, 0, 0, 500]
    assert f.motionState(alloc).call() == MOTION_STATE["Lapsed"]


def test_allocation_decided_before_a_later_cancellation_is_released_by_it(fund_env: FundEnv) -> None:
    e, f = fund_env, fund_env.fund.functions
    pid = pool_and_project(e)
    alloc = propose_motion(e, f.proposeAllocation(pid, 200))
    cancel = propose_motion(e, f.proposeCancellation(pid))
    e.vote(alloc, [True, True, False])
    e.vote(cancel, [True, True, False])
    at(e, deadline(e, cancel))
    assert f.motionState(alloc).call() == MOTION_STATE["Passed"]
    p = f.getProject(pid).call()
    assert (p[14], p[16], p[-1]) == (200, 200, PROJECT_STATE["Cancelled"])  # allocated, released
    r = settle(e, pid)
    assert names(e, r) == ["MotionDecided", "AllocationApproved", "MotionDecided", "ProjectCancelled",
                           "AllocationReleased"]
    assert f.generalPool().call() == [500, 0, 0, 500]


def test_a_cancellation_decided_by_vote_records_a_deadline_approval_first(fund_env: FundEnv) -> None:
    e = fund_env
    f = e.fund.functions
    pid = e.propose([300])
    approval = e.motion_of(pid)
    e.chain.time_travel(24 * 3600)
    cancel = propose_motion(e, f.proposeCancellation(pid))  # its deadline a day after the approval's
    e.vote(approval, [True, True, False])
    at(e, deadline(e, approval))
    assert e.state(pid) == PROJECT_STATE["TimeLocked"]
    r = e.vote(cancel, [True])  # the first write on the project after the deadline records the approval
    assert names(e, r) == ["MotionDecided", "ProjectApproved", "VoteCast"]
    r = e.vote(cancel, [True, True], voters=e.committee[1:3])
    assert names(e, r) == ["VoteCast", "MotionDecided", "ProjectCancelled"]
    assert f.motionState(approval).call() == MOTION_STATE["Passed"]
    assert e.state(pid) == PROJECT_STATE["Cancelled"]


# ------------------------------------------------------------------ beneficiary


def test_beneficiary_must_be_an_active_member_account(fund_env: FundEnv) -> None:
    e = fund_env
    f = e.fund.functions

    def propose(beneficiary: str) -> Any:
        return e.chain.transact(f.proposeProject(h("t"), beneficiary, 1, [(1, h("a"))], 0), e.proposer)

    with expect_revert("FundBeneficiaryNotMember", beneficiary=e.outsider):
        propose(e.outsider)
    e.council.enact("RemoveMember", e.enterprise_id)
    with expect_revert("FundBeneficiaryNotMember", beneficiary=e.enterprise):
        propose(e.enterprise)
    r = propose(e.beneficiary)
    assert ev(e, r, "ProjectProposed")[0]["beneficiary"] == e.beneficiary
