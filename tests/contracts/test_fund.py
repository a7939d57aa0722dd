"""CoGovFund: contributions, projects, committee motions, payouts, cancellation, refunds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger import artifacts
from ledger.abi import decode_revert, revert_data_from_exception
from ledger.fund.trace import trace_fund
from tests.contracts.conftest import (
    CONTRIBUTOR_KIND,
    FUND_QUORUM,
    FUND_TIME_LOCK,
    FUND_VOTING_PERIOD,
    GAS,
    MOTION_KIND,
    MOTION_STATE,
    PROJECT_STATE,
    FundEnv,
    expect_revert,
    h,
)

ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20


def ev(e: FundEnv, receipt: Any, name: str) -> list[dict[str, Any]]:
    return e.chain.events(e.fund, receipt, name)


def block_time(e: FundEnv, receipt: Any) -> int:
    return int(e.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


def assert_trace_matches(e: FundEnv) -> None:
    """The Python tracing rule over the events agrees with every contract view."""
    trace = trace_fund(e.fund_events(), e.chain.now())
    f = e.fund.functions
    assert f.contributionCount().call() == len(trace.contributions)
    assert f.payoutCount().call() == len(trace.payouts)
    for rid, t in trace.contributions.items():
        view = f.getContribution(rid).call()
        # ContributionView: receiptId, contributor, memberId, kind, projectId, amount, memoHash,
        # contributedAt, spent, refunded, refundable
        assert view[8] == t.spent == f.spentOf(rid).call(), rid
        assert view[9] == (t.refunded > 0), rid
        assert view[10] == t.refundable == f.refundable(rid).call(), rid
        assert t.amount == t.spent + t.refunded + t.unspent
    assert (trace.total_contributed, trace.total_paid, trace.total_refunded) == e.sums()
    assert trace.balance == e.balance(e.fund.address)


# ------------------------------------------------------------------ deployment


def _deploy_revert(e: FundEnv, *args: Any) -> Any:
    art = artifacts.load("CoGovFund")
    factory = e.chain.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    tx = factory.constructor(*args).build_transaction({"from": e.proposer, "gas": GAS, "nonce": 0})
    try:
        e.chain.w3.eth.call({"from": e.proposer, "data": tx["data"], "gas": GAS})
    except Exception as exc:
        raise decode_revert(revert_data_from_exception(exc)) from exc


def test_deployment_parameters(fund_env: FundEnv) -> None:
    e, f = fund_env, fund_env.fund.functions
    assert f.quorum().call() == FUND_QUORUM
    assert f.timeLock().call() == FUND_TIME_LOCK
    assert f.token().call() == e.credit.address
    assert f.registry().call() == e.registry.address
    deployed = [x for x in e.all_events() if x["event"] == "FundDeployed"]
    assert f.votingPeriod().call() == FUND_VOTING_PERIOD
    assert [x["args"] for x in deployed] == [
        {"token": e.credit.address, "registry": e.registry.address, "quorum": FUND_QUORUM, "timeLock": FUND_TIME_LOCK,
         "votingPeriod": FUND_VOTING_PERIOD}
    ]
    with expect_revert("FundInvalidQuorum", quorum=0):
        _deploy_revert(e, e.registry.address, e.credit.address, 0, 10, 60)
    with expect_revert("FundZeroAddress"):
        _deploy_revert(e, e.registry.address, ZERO_ADDRESS, 1, 10, 60)
    for period in (0, 365 * 24 * 3600 + 1):
        with expect_revert("FundInvalidVotingPeriod", votingPeriod=period):
            _deploy_revert(e, e.registry.address, e.credit.address, 1, 10, period)


# ------------------------------------------------------------------ role matrix

FUND_ROLES: dict[str, str] = {
    "contribute": "active account of a Department, Enterprise or ResidentGroup member",
    "proposeProject": "Department or FundCommittee",
    "proposeAllocation": "FundCommittee",
    "proposeCancellation": "FundCommittee",
    "vote": "FundCommittee",
    "settle": "FundCommittee",
    "payMilestone": "Treasurer",
    "claimRefund": "an active account of the contributing member",
}


def _unauthorised_cases(e: FundEnv) -> dict[str, list[tuple[str, Callable[[], Any], str, dict[str, Any]]]]:
    """Per function: (caller, call, expected error, expected args)."""
    f = e.fund.functions
    ms = [(100, h("m"))]
    cases: dict[str, list[tuple[str, Callable[[], Any], str, dict[str, Any]]]] = {
        "contribute": [
            (e.outsider, lambda: f.contribute(10, 0, ZERO32), "FundNotMember", {"account": e.outsider}),
            (e.auditor, lambda: f.contribute(10, 0, ZERO32), "FundContributorKindRefused",
             {"account": e.auditor, "kind": 3}),
        ],
        "proposeProject": [],
        "proposeAllocation": [],
        "proposeCancellation": [],
        "vote": [],
        "settle": [],
        "payMilestone": [],
        "claimRefund": [],
    }
    for who in (e.outsider, e.resident, e.treasurer, e.auditor):
        cases["proposeProject"].append(
            (who, lambda: f.proposeProject(h("t"), e.beneficiary, 100, ms, 0), "FundNotProposer", {"account": who})
        )
    for who in (e.outsider, e.proposer, e.treasurer, e.enterprise):
        cases["proposeAllocation"].append(
            (who, lambda: f.proposeAllocation(1, 10), "FundNotCommittee", {"account": who})
        )
        cases["proposeCancellation"].append(
            (who, lambda: f.proposeCancellation(1), "FundNotCommittee", {"account": who})
        )
        cases["vote"].append((who, lambda: f.vote(1, True), "FundNotCommittee", {"account": who}))
        cases["settle"].append((who, lambda: f.settle(1), "FundNotCommittee", {"account": who}))
    for who in (e.outsider, e.proposer, e.committee[0], e.beneficiary):
        cases["payMilestone"].append(
            (who, lambda: f.payMilestone(1, 0, 10, h("inv")), "FundNotTreasurer", {"account": who})
        )
    for who in (e.outsider, e.resident, e.treasurer):
        cases["claimRefund"].append(
            (who, lambda: f.claimRefund(1), "FundNotContributor", {"receiptId": 1, "account": who})
        )
    return cases


def test_every_unauthorised_caller_is_refused(fund_env: FundEnv) -> None:
    e = fund_env
    pid = e.propose([100])
    e.contribute(e.enterprise, 50, pid)  # receipt 1, so claimRefund reaches its role check
    cases = _unauthorised_cases(e)
    assert set(cases) == set(FUND_ROLES)
    for name, rows in cases.items():
        assert rows, name
        for caller, call, error, args in rows:
            with expect_revert(error, **args):
                e.chain.transact(call(), caller)


def test_removed_member_cannot_contribute(fund_env: FundEnv) -> None:
    e = fund_env
    e.council.enact("RemoveMember", e.enterprise_id)
    with expect_revert("FundNotMember", account=e.enterprise):
        e.contribute(e.enterprise, 10)


# ------------------------------------------------------------------ contributions


def test_contribution_events_and_kinds(fund_env: FundEnv) -> None:
    e = fund_env
    pid = e.propose([1000])
    cases = [
        (e.gov, 2, "Government", 0),
        (e.enterprise, e.enterprise_id, "Enterprise", pid),
        (e.resident, e.resident_id, "Resident", pid),  # only the Contributor role
        (e.proposer, 1, "Government", 0),
    ]
    for rid, (who, member_id, kind, project) in enumerate(cases, start=1):
        before = e.balance(who)
        r = e.contribute(who, 100 * rid, project, memo=f"memo-{rid}")
        assert ev(e, r, "ContributionReceived") == [
            {
                "receiptId": rid,
                "memberId": member_id,
                "contributor": who,
                "kind": CONTRIBUTOR_KIND[kind],
                "projectId": project,
                "amount": 100 * rid,
                "memoHash": h(f"memo-{rid}"),
            }
        ]
        assert e.balance(who) == before - 100 * rid
        e.assert_invariant()
    assert e.sums() == (1000, 0, 0)
    assert e.fund.functions.generalPool().call() == [500, 0, 0, 500]
    view = e.fund.functions.getProject(pid).call()
    assert view[12] == 500  # earmarked
    assert e.fund.functions.available(pid).call() == 500


def test_contribution_refusals(fund_env: FundEnv) -> None:
    e = fund_env
    with expect_revert("FundZeroAmount"):
        e.contribute(e.enterprise, 0)
    with expect_revert("FundUnknownProject", projectId=7):
        e.contribute(e.enterprise, 10, 7)
    pid = e.propose([100])
    e.vote(e.motion_of(pid), [False] * FUND_QUORUM)
    with expect_revert("FundProjectNotOpenForFunding", projectId=pid, state=PROJECT_STATE["Rejected"]):
        e.contribute(e.enterprise, 10, pid)
    poor = e.chain.new_account()
    e.council.admit("新居民", "ResidentGroup", 0, poor)
    with expect_revert("ERC20InsufficientAllowance"):
        e.contribute(poor, 10)


# ------------------------------------------------------------------ proposals


def test_proposal_events(fund_env: FundEnv) -> None:
    e = fund_env
    specs = [(600, h("m0")), (400, h("m1"))]
    r = e.chain.transact(
        e.fund.functions.proposeProject(h("篮球场翻新"), e.beneficiary, 1000, specs, 0), e.proposer
    )
    assert ev(e, r, "ProjectProposed") == [
        {
            "projectId": 1,
            "proposerId": 1,
            "proposer": e.proposer,
            "beneficiary": e.beneficiary,
            "titleHash": h("篮球场翻新"),
            "budget": 1000,
            "milestoneCount": 2,
            "approvalMotionId": 1,
        }
    ]
    assert ev(e, r, "MilestoneDefined") == [
        {"projectId": 1, "index": 0, "amount": 600, "descriptionHash": h("m0")},
        {"projectId": 1, "index": 1, "amount": 400, "descriptionHash": h("m1")},
    ]
    assert ev(e, r, "MotionProposed") == [
        {"motionId": 1, "kind": MOTION_KIND["ApproveProject"], "projectId": 1, "proposerId": 1,
         "proposer": e.proposer, "amount": 0}
    ]
    assert e.state(1) == PROJECT_STATE["Proposed"]
    assert tuple(e.fund.functions.getMilestone(1, 1).call()) == (400, 0, h("m1"))
    assert e.fund.functions.motionState(1).call() == MOTION_STATE["Open"]
    # A FundCommittee member may propose too.
    assert e.propose([5], who=e.committee[3]) == 2


def test_proposal_validation(fund_env: FundEnv) -> None:
    e = fund_env
    f = e.fund.functions

    def propose(title: bytes, beneficiary: str, budget: int, ms: list[tuple[int, bytes]]) -> Any:
        return e.chain.transact(f.proposeProject(title, beneficiary, budget, ms, 0), e.proposer)

    with expect_revert("FundBudgetMismatch", budget=900, milestoneSum=1000):
        propose(h("t"), e.beneficiary, 900, [(600, h("a")), (400, h("b"))])
    with expect_revert("FundZeroMilestone", index=1):
        propose(h("t"), e.beneficiary, 600, [(600, h("a")), (0, h("b"))])
    with expect_revert("FundInvalidMilestoneCount", count=0, max=32):
        propose(h("t"), e.beneficiary, 0, [])
    with expect_revert("FundInvalidMilestoneCount", count=33, max=32):
        propose(h("t"), e.beneficiary, 33, [(1, h("x"))] * 33)
    with expect_revert("FundZeroBeneficiary"):
        propose(h("t"), ZERO_ADDRESS, 1, [(1, h("a"))])
    with expect_revert("FundZeroReference"):
        propose(ZERO32, e.beneficiary, 1, [(1, h("a"))])


def test_amounts_are_kept_in_128_bits(fund_env: FundEnv) -> None:
    """Amounts are stored in 128 bits: the largest fits exactly; one more is an arithmetic
    overflow (Panic 0x11), as a 256-bit sum past 2**256 always was, never a silent wrap."""
    e = fund_env
    f = e.fund.functions
    top = 2**128 - 1
    pid = e.propose([top])
    assert tuple(f.getMilestone(pid, 0).call()) == (top, 0, h("t-m0"))
    assert e.fund.functions.getProject(pid).call()[5] == top  # budget
    with expect_revert("Panic", code=0x11):
        e.chain.transact(f.proposeProject(h("t"), e.beneficiary, top + 1, [(top + 1, h("a"))], 0), e.proposer)
    with expect_revert("Panic", code=0x11):
        e.contribute(e.enterprise, top + 1)


# ------------------------------------------------------------------ the whole lifecycle


def test_full_lifecycle(fund_env: FundEnv) -> None:
    e = fund_env
    f = e.fund.functions
    beneficiary_start = e.balance(e.beneficiary)

    e.contribute(e.gov, 1000)  # receipt 1: general pool
    pid = e.propose([600, 400], title="社区食堂")
    motion = e.motion_of(pid)
    e.contribute(e.enterprise, 300, pid)  # receipt 2: earmarked
    e.contribute(e.resident, 200, pid)  # receipt 3: earmarked
    with expect_revert("FundProjectNotActive", projectId=pid, state=PROJECT_STATE["Proposed"]):
        e.pay(pid, 0, 100)

    # Committee vote: 2 approvals, 1 rejection reach quorum 3 but do not decide (the fourth
    # member could still tie it); the fourth approval does: 3 approvals, 1 rejection.
    r = e.chain.transact(f.vote(motion, True), e.committee[0])
    assert ev(e, r, "VoteCast") == [
        {"motionId": motion, "memberId": e.committee_ids[0], "voter": e.committee[0], "support": True,
         "approvals": 1, "rejections": 0}
    ]
    assert ev(e, r, "MotionDecided") == []
    e.chain.transact(f.vote(motion, False), e.committee[1])
    r = e.chain.transact(f.vote(motion, True), e.committee[2])
    assert ev(e, r, "MotionDecided") == []
    r = e.chain.transact(f.vote(motion, True), e.committee[3])
    approved_at = block_time(e, r)
    unlocks_at = approved_at + FUND_TIME_LOCK
    assert ev(e, r, "MotionDecided") == [
        {"motionId": motion, "kind": MOTION_KIND["ApproveProject"], "projectId": pid, "passed": True,
         "approvals": 3, "rejections": 1, "decidedAt": approved_at}
    ]
    assert ev(e, r, "ProjectApproved") == [{"projectId": pid, "unlocksAt": unlocks_at}]
    assert e.state(pid) == PROJECT_STATE["TimeLocked"]
    assert f.motionState(motion).call() == MOTION_STATE["Passed"]
    with expect_revert("FundMotionNotOpen", motionId=motion, state=MOTION_STATE["Passed"]):
        e.chain.transact(f.vote(motion, True), e.committee[3])

    # Time lock: refused until it has passed.
    with expect_revert("FundTimeLocked", projectId=pid, unlocksAt=unlocks_at) as got:
        e.pay(pid, 0, 100)
    assert got["nowAt"] < unlocks_at
    e.chain.time_travel(FUND_TIME_LOCK - 100)
    with expect_revert("FundTimeLocked", projectId=pid, unlocksAt=unlocks_at):
        e.pay(pid, 0, 100)
    e.chain.time_travel(200)
    assert e.state(pid) == PROJECT_STATE["Active"]

    # Bounds: the milestone, then the money available (earmarked 500, no allocation yet).
    with expect_revert("FundExceedsMilestone", projectId=pid, index=0, amount=700, remaining=600):
        e.pay(pid, 0, 700)
    with expect_revert("FundExceedsAvailable", projectId=pid, amount=600, available=500):
        e.pay(pid, 0, 600)
    with expect_revert("FundUnknownMilestone", projectId=pid, index=2):
        e.pay(pid, 2, 1)
    with expect_revert("FundZeroAmount"):
        e.pay(pid, 0, 0)
    with expect_revert("FundZeroReference"):
        e.chain.transact(f.payMilestone(pid, 0, 1, ZERO32), e.treasurer)

    # General-pool allocation: its own motion and quorum.
    with expect_revert("FundInsufficientPool", requested=1001, free=1000):
        e.chain.transact(f.proposeAllocation(pid, 1001), e.committee[0])
    r = e.chain.transact(f.proposeAllocation(pid, 500), e.committee[0])
    alloc = ev(e, r, "MotionProposed")[0]["motionId"]
    r = e.vote(alloc, [True] * FUND_QUORUM)
    assert ev(e, r, "AllocationApproved") == [{"motionId": alloc, "projectId": pid, "amount": 500}]
    assert f.generalPool().call() == [1000, 0, 500, 500]
    assert f.available(pid).call() == 1000

    # Payouts: earmarked first, then general.
    r = e.pay(pid, 0, 600, invoice="发票-001")
    assert ev(e, r, "PayoutMade") == [
        {"payoutId": 1, "projectId": pid, "milestoneIndex": 0, "beneficiary": e.beneficiary, "amount": 600,
         "invoiceHash": h("发票-001"), "treasurerId": e.treasurer_id, "fromEarmarked": 500, "fromGeneral": 100}
    ]
    with expect_revert("FundExceedsMilestone", projectId=pid, index=0, amount=1, remaining=0):
        e.pay(pid, 0, 1)
    r = e.pay(pid, 1, 300, invoice="发票-002")
    assert ev(e, r, "PayoutMade")[0]["fromGeneral"] == 300
    assert f.available(pid).call() == 100  # what is left of the allocation
    e.contribute(e.gov, 150, pid)  # receipt 4: earmarked, arrives late
    r = e.pay(pid, 1, 100, invoice="发票-003")
    assert ev(e, r, "PayoutMade")[0]["fromEarmarked"] == 100
    assert ev(e, r, "ProjectCompleted") == [{"projectId": pid, "earmarkedUnspent": 50}]
    assert ev(e, r, "AllocationReleased") == [{"projectId": pid, "amount": 100}]
    assert e.state(pid) == PROJECT_STATE["Completed"]
    assert e.balance(e.beneficiary) == beneficiary_start + 1000
    assert f.generalPool().call() == [1000, 400, 0, 600]
    assert f.available(pid).call() == 0
    with expect_revert("FundProjectNotOpenForFunding", projectId=pid, state=PROJECT_STATE["Completed"]):
        e.contribute(e.gov, 1, pid)
    with expect_revert("FundProjectNotActive", projectId=pid, state=PROJECT_STATE["Completed"]):
        e.pay(pid, 1, 1)

    # Attribution (FIFO): receipt 1 paid 400 of general money; 2 and 3 fully spent; 4 spent 100.
    assert [f.spentOf(i).call() for i in (1, 2, 3, 4)] == [400, 300, 200, 100]
    assert [f.refundable(i).call() for i in (1, 2, 3, 4)] == [0, 0, 0, 50]
    assert_trace_matches(e)

    # The leftover of the completed project is refundable, once.
    r = e.chain.transact(f.claimRefund(4), e.gov)
    assert ev(e, r, "RefundClaimed") == [
        {"receiptId": 4, "projectId": pid, "memberId": 2, "to": e.gov, "amount": 50}
    ]
    with expect_revert("FundAlreadyRefunded", receiptId=4):
        e.chain.transact(f.claimRefund(4), e.gov)
    with expect_revert("FundNothingToRefund", receiptId=2):
        e.chain.transact(f.claimRefund(2), e.enterprise)
    with expect_revert("FundNotRefundable", receiptId=1):
        e.chain.transact(f.claimRefund(1), e.gov)
    with expect_revert("FundUnknownReceipt", receiptId=99):
        e.chain.transact(f.claimRefund(99), e.gov)
    assert e.sums() == (1650, 1000, 50)
    e.assert_invariant()
    assert e.balance(e.fund.address) == 600
    assert_trace_matches(e)
    view = f.getProject(pid).call()
    assert view[-1] == PROJECT_STATE["Completed"]
    assert view[11] == 1000 and view[16] == 100 and view[17] == 50  # paid, released, refunded


# ------------------------------------------------------------------ separation of duties


def test_proposer_member_never_votes(fund_env: FundEnv) -> None:
    e = fund_env
    pid = e.propose([100], who=e.committee[0])
    with expect_revert("FundProposerCannotVote", projectId=pid, memberId=e.committee_ids[0]):
        e.vote(e.motion_of(pid), [True], voters=[e.committee[0]])
    e.vote(e.motion_of(pid), [True] * 3, voters=e.committee[1:])
    e.contribute(e.gov, 500)
    r = e.chain.transact(e.fund.functions.proposeAllocation(pid, 100), e.committee[0])  # may propose
    alloc = ev(e, r, "MotionProposed")[0]["motionId"]
    with expect_revert("FundProposerCannotVote", projectId=pid, memberId=e.committee_ids[0]):
        e.vote(alloc, [True], voters=[e.committee[0]])
    r = e.chain.transact(e.fund.functions.proposeCancellation(pid), e.committee[1])
    cancel = ev(e, r, "MotionProposed")[0]["motionId"]
    with expect_revert("FundProposerCannotVote", projectId=pid, memberId=e.committee_ids[0]):
        e.vote(cancel, [True], voters=[e.committee[0]])


def test_beneficiary_member_never_votes(fund_env: FundEnv) -> None:
    e = fund_env
    pid = e.propose([100], beneficiary=e.committee[1])
    with expect_revert("FundBeneficiaryCannotVote", projectId=pid, memberId=e.committee_ids[1]):
        e.vote(e.motion_of(pid), [True], voters=[e.committee[1]])
    # Another account of the beneficiary's member is refused too: one member, one conflict.
    second = e.chain.new_account()
    e.council.enact("AddAccount", e.committee_ids[1], second)
    with expect_revert("FundBeneficiaryCannotVote", projectId=pid, memberId=e.committee_ids[1]):
        e.vote(e.motion_of(pid), [True], voters=[second])


def test_one_vote_per_member_not_per_account(fund_env: FundEnv) -> None:
    e = fund_env
    pid = e.propose([100])
    motion = e.motion_of(pid)
    second = e.chain.new_account()
    e.council.enact("AddAccount", e.committee_ids[2], second)
    e.vote(motion, [True], voters=[e.committee[2]])
    assert e.fund.functions.hasVoted(motion, e.committee_ids[2]).call()
    with expect_revert("FundAlreadyVoted", motionId=motion, memberId=e.committee_ids[2]):
        e.vote(motion, [True], voters=[second])
    with expect_revert("FundAlreadyVoted", motionId=motion, memberId=e.committee_ids[2]):
        e.vote(motion, [False], voters=[e.committee[2]])
    with expect_revert("FundUnknownMotion", motionId=99):
        e.vote(99, [True])


def test_treasurer_cannot_pay_own_member(fund_env: FundEnv) -> None:
    e = fund_env
    pid = e.propose([100], beneficiary=e.treasurer)
    e.contribute(e.enterprise, 100, pid)
    e.approve_project(pid)
    with expect_revert("FundTreasurerIsBeneficiary", projectId=pid, memberId=e.treasurer_id):
        e.pay(pid, 0, 100)


def test_tie_or_majority_rejection_rejects(fund_env: FundEnv) -> None:
    e = fund_env
    f = e.fund.functions
    pid = e.propose([300])
    e.contribute(e.enterprise, 120, pid)  # receipt 1
    e.contribute(e.resident, 80, pid)  # receipt 2
    r = e.vote(e.motion_of(pid), [False, True, False])
    assert ev(e, r, "MotionDecided")[0]["passed"] is False
    assert ev(e, r, "ProjectRejected") == [{"projectId": pid}]
    assert e.state(pid) == PROJECT_STATE["Rejected"]
    assert f.motionState(e.motion_of(pid)).call() == MOTION_STATE["Failed"]
    e.contribute(e.gov, 10)
    with expect_revert("FundProjectNotApproved", projectId=pid, state=PROJECT_STATE["Rejected"]):
        e.chain.transact(f.proposeAllocation(pid, 10), e.committee[0])
    with expect_revert("FundProjectClosed", projectId=pid, state=PROJECT_STATE["Rejected"]):
        e.chain.transact(f.proposeCancellation(pid), e.committee[0])
    before = e.balance(e.resident)
    e.chain.transact(f.claimRefund(2), e.resident)
    e.chain.transact(f.claimRefund(1), e.enterprise)
    assert e.balance(e.resident) == before + 80
    assert e.sums() == (210, 0, 200)
    e.assert_invariant()
    assert_trace_matches(e)


# ------------------------------------------------------------------ cancellation and refunds


def test_cancellation_refunds_unspent_fifo(fund_env: FundEnv) -> None:
    e = fund_env
    f = e.fund.functions
    e.contribute(e.gov, 1000)  # receipt 1: general
    pid = e.propose([500, 500])
    e.contribute(e.enterprise, 100, pid)  # receipt 2
    e.contribute(e.resident, 50, pid)  # receipt 3
    e.approve_project(pid)
    e.allocate(pid, 80)
    e.contribute(e.proposer, 70, pid)  # receipt 4 (街道办's own account)
    with expect_revert("FundProjectStillOpen", projectId=pid, state=PROJECT_STATE["Active"]):
        e.chain.transact(f.claimRefund(2), e.enterprise)
    e.pay(pid, 0, 120)  # earmarked: receipt 2 100, receipt 3 20
    r = e.chain.transact(f.proposeAllocation(pid, 100), e.committee[0])
    pending_alloc = ev(e, r, "MotionProposed")[0]["motionId"]

    # A cancellation motion that fails changes nothing.
    r = e.chain.transact(f.proposeCancellation(pid), e.committee[0])
    failed = ev(e, r, "MotionProposed")[0]["motionId"]
    e.vote(failed, [False, False, True])
    assert e.state(pid) == PROJECT_STATE["Active"]

    r = e.cancel(pid)
    assert ev(e, r, "ProjectCancelled") == [{"projectId": pid, "earmarkedUnspent": 100}]
    assert ev(e, r, "AllocationReleased") == [{"projectId": pid, "amount": 80}]
    # The allocation motion still open lapses: its reservation returns to the pool.
    assert ev(e, r, "ReservationReleased") == [{"motionId": pending_alloc, "projectId": pid, "amount": 100}]
    assert e.state(pid) == PROJECT_STATE["Cancelled"]
    assert f.getProject(pid).call()[9] == block_time(e, r)  # cancelledAt
    assert f.generalPool().call() == [1000, 0, 0, 1000]
    assert f.motionState(pending_alloc).call() == MOTION_STATE["Lapsed"]
    with expect_revert("FundMotionNotOpen", motionId=pending_alloc, state=MOTION_STATE["Lapsed"]):
        e.vote(pending_alloc, [True])
    with expect_revert("FundProjectNotActive", projectId=pid, state=PROJECT_STATE["Cancelled"]):
        e.pay(pid, 0, 1)
    with expect_revert("FundProjectNotOpenForFunding", projectId=pid, state=PROJECT_STATE["Cancelled"]):
        e.contribute(e.gov, 1, pid)

    assert [f.refundable(i).call() for i in (1, 2, 3, 4)] == [0, 0, 30, 70]
    assert_trace_matches(e)
    with expect_revert("FundNothingToRefund", receiptId=2):
        e.chain.transact(f.claimRefund(2), e.enterprise)
    with expect_revert("FundNotContributor", receiptId=3, account=e.enterprise):
        e.chain.transact(f.claimRefund(3), e.enterprise)

    # Key rotation: another account of the contributing member claims, and is paid.
    new_key = e.chain.new_account()
    e.council.enact("AddAccount", e.resident_id, new_key)
    r = e.chain.transact(f.claimRefund(3), new_key)
    assert ev(e, r, "RefundClaimed") == [
        {"receiptId": 3, "projectId": pid, "memberId": e.resident_id, "to": new_key, "amount": 30}
    ]
    assert e.balance(new_key) == 30
    with expect_revert("FundAlreadyRefunded", receiptId=3):
        e.chain.transact(f.claimRefund(3), e.resident)
    e.chain.transact(f.claimRefund(4), e.proposer)
    assert e.sums() == (1220, 120, 100)
    e.assert_invariant()
    assert_trace_matches(e)


def test_cancel_a_proposed_project(fund_env: FundEnv) -> None:
    e = fund_env
    pid = e.propose([100])
    e.contribute(e.enterprise, 40, pid)
    e.cancel(pid)
    assert e.state(pid) == PROJECT_STATE["Cancelled"]
    # Its approval motion lapsed with it: no approving a cancelled project.
    with expect_revert("FundMotionNotOpen", motionId=e.motion_of(pid), state=MOTION_STATE["Lapsed"]):
        e.vote(e.motion_of(pid), [True])
    e.chain.transact(e.fund.functions.claimRefund(1), e.enterprise)
    assert e.sums() == (40, 0, 40)
    e.assert_invariant()


def test_allocation_reserves_the_pool_when_proposed(fund_env: FundEnv) -> None:
    """An allocation motion reserves its amount when proposed, so that a motion decided at its
    deadline (no voter there to refuse it) can always be honoured; one open per project."""
    e = fund_env
    f = e.fund.functions
    e.contribute(e.gov, 100)
    a, b = e.propose([100], title="a"), e.propose([100], title="b")
    e.approve_project(a, unlock=False)
    e.approve_project(b, unlock=False)
    r1 = e.chain.transact(f.proposeAllocation(a, 60), e.committee[0])
    m1 = ev(e, r1, "MotionProposed")[0]["motionId"]
    assert f.generalPool().call() == [100, 0, 60, 40]  # reserved
    with expect_revert("FundMotionPending", projectId=a, motionId=m1):
        e.chain.transact(f.proposeAllocation(a, 10), e.committee[1])
    with expect_revert("FundInsufficientPool", requested=100, free=40):
        e.chain.transact(f.proposeAllocation(b, 100), e.committee[0])
    r2 = e.chain.transact(f.proposeAllocation(b, 40), e.committee[0])
    m2 = ev(e, r2, "MotionProposed")[0]["motionId"]
    assert f.generalPool().call() == [100, 0, 100, 0]
    r = e.vote(m1, [True] * 3)
    assert ev(e, r, "AllocationApproved") == [{"motionId": m1, "projectId": a, "amount": 60}]
    assert f.generalPool().call() == [100, 0, 100, 0]  # the reservation became the allocation
    r = e.vote(m2, [False, False, False])  # quorum; 0 approvals + 1 left <= 3 rejections: failed
    assert ev(e, r, "ReservationReleased") == [{"motionId": m2, "projectId": b, "amount": 40}]
    assert f.generalPool().call() == [100, 0, 60, 40]
    motion = f.getMotion(m1).call()
    assert (motion[1], motion[3], motion[-1]) == (MOTION_KIND["AllocateFromPool"], 60, MOTION_STATE["Passed"])
    # Once decided, a new allocation motion on the project may open.
    e.chain.transact(f.proposeAllocation(a, 40), e.committee[1])
