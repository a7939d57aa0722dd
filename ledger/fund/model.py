"""The fund's state folded from its events: one pure reducer that every reader shares.

:class:`FundModel` folds ``CoGovFund`` events (:class:`~ledger.events.Event`, in block and
log order) with :meth:`FundModel.apply`; :meth:`FundModel.state` gives the frozen
:class:`FundState` at a time: projects, milestones, motions, contributions, payouts,
refunds, votes and the general pool, as the contract's own views show them at that time.
The portal, the API's lists, the report and the auditor are views over it; the auditor
adds its rule checks on top (:mod:`ledger.audit.replay.fund`) and compares the state with
the contract's views, so a mistake here is caught against the chain.

The decision rule is the contract's (``ICoGovFund``): a motion is decided by a vote only
once the outcome is certain (recorded by ``MotionDecided``); otherwise at its deadline
(``createdAt + votingPeriod``) by quorum and approvals > rejections. A decision taken at a
deadline holds from then in every view, before any write records it, and so it does here:
states are derived from the clock (``now``) and what was recorded.

Money follows the tracing rule (:mod:`ledger.fund.trace`): a payout is drawn from the
project's earmarked contributions first, the rest from the general pool; within a queue,
oldest receipt first. The enums carry the contract's values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypedDict

from ledger.abi import bytes_of
from ledger.abi.records import record_from
from ledger.events import Event, Reducer
from ledger.fund import types
from ledger.fund.types import CLOSED_STATES, GENERAL_POOL, ContributorKind, MotionKind, MotionState, ProjectState


def _hash(value: object) -> bytes:
    """A hash argument as bytes (as events carry it; hex text from other sources)."""
    return value if type(value) is bytes else bytes_of(value)


_CONTRIBUTOR_KINDS = tuple(ContributorKind)  # by value (faster than the enum's constructor)
_MOTION_KINDS = tuple(MotionKind)

#: The events :class:`FundModel` folds (others are ignored).
MODEL_EVENTS = frozenset({
    "FundDeployed", "ProjectProposed", "MilestoneDefined", "MotionProposed", "VoteCast", "MotionDecided",
    "AllocationApproved", "ReservationReleased", "AllocationReleased", "ContributionReceived", "PayoutMade",
    "RefundClaimed",
})


# ------------------------------------------------------------------ the fold's records (mutated only by apply)


@dataclass(slots=True)
class MilestoneRecord:
    amount: int
    description_hash: bytes
    paid: int = 0


@dataclass(slots=True)
class ProjectRecord:
    id: int
    title_hash: bytes
    proposer: str
    proposer_id: int
    beneficiary: str
    budget: int
    approval_motion_id: int
    milestone_count: int
    milestones: list[MilestoneRecord] = field(default_factory=list)
    allocation_motion_id: int = 0  # the latest allocation motion
    cancel_motion_id: int = 0  # the latest cancellation motion
    paid: int = 0
    earmarked: int = 0
    earmarked_spent: int = 0
    allocated: int = 0
    allocated_spent: int = 0
    allocation_released: int = 0
    refunded: int = 0


@dataclass(slots=True)
class MotionRecord:
    id: int
    kind: MotionKind
    project_id: int
    amount: int
    proposer_id: int
    created_at: int
    decided_at: int = 0  # as recorded by MotionDecided; 0 until then
    passed: bool = False
    approvals: int = 0
    rejections: int = 0
    voters: set[int] = field(default_factory=set)


@dataclass(slots=True)
class ContributionRecord:
    id: int
    contributor: str
    member_id: int
    kind: ContributorKind
    project_id: int
    amount: int
    memo_hash: bytes
    contributed_at: int
    queued_before: int  # the queue's total before it: spent once the queue's spending passes it
    event: Event
    refunded: bool = False


class FundModel(Reducer):
    """The fold of the fund's events; queries at a time ``now`` derive what the clock decides."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.registry: str | None = None
        self.quorum = 0
        self.time_lock = 0
        self.voting_period = 0
        self.projects: dict[int, ProjectRecord] = {}
        self.motions: dict[int, MotionRecord] = {}
        self.contributions: dict[int, ContributionRecord] = {}
        self.payouts: list[types.Payout] = []
        self.refunds: list[types.Refund] = []
        self.votes: list[types.Vote] = []
        #: payout id -> (from earmarked, from general) as the tracing rule splits it when it is made
        self.splits: dict[int, tuple[int, int]] = {}
        self.general_total = 0
        self.general_spent = 0
        self.general_committed = 0
        self.total_contributed = 0
        self.total_paid = 0
        self.total_refunded = 0

    # ---------------------------------------------------------------- the fold

    def apply(self, e: Event) -> None:
        """Fold one event of the fund (in chain order); others are ignored."""
        a = e.args
        n = e.name
        if n == "FundDeployed":
            self.token, self.registry = str(a["token"]), str(a["registry"])
            self.quorum, self.time_lock = int(a["quorum"]), int(a["timeLock"])
            self.voting_period = int(a.get("votingPeriod", 0))
        elif n == "ContributionReceived":
            self._contribution(e)
        elif n == "ProjectProposed":
            pid = int(a["projectId"])
            self.projects[pid] = ProjectRecord(
                pid, _hash(a["titleHash"]), str(a["proposer"]), int(a["proposerId"]), str(a["beneficiary"]),
                int(a["budget"]), int(a["approvalMotionId"]), int(a["milestoneCount"]),
            )
        elif n == "MilestoneDefined":
            p = self.projects.get(int(a["projectId"]))
            if p is not None:
                p.milestones.append(MilestoneRecord(int(a["amount"]), _hash(a["descriptionHash"])))
        elif n == "MotionProposed":
            mid = int(a["motionId"])
            new = MotionRecord(mid, _MOTION_KINDS[int(a["kind"])], int(a["projectId"]), int(a["amount"]),
                               int(a["proposerId"]), e.block_time)
            self.motions[mid] = new
            p = self.projects.get(new.project_id)
            if p is not None and new.kind == MotionKind.ALLOCATE_FROM_POOL:
                self.general_committed += new.amount  # reserved until decided (released if it fails or lapses)
                p.allocation_motion_id = mid
            elif p is not None and new.kind == MotionKind.CANCEL_PROJECT:
                p.cancel_motion_id = mid
        elif n == "VoteCast":
            voted = self.motions.get(int(a["motionId"]))
            if voted is not None:
                voted.voters.add(int(a["memberId"]))
                was_passing = self.passes(voted)
                if a["support"]:
                    voted.approvals += 1
                else:
                    voted.rejections += 1
                if voted.kind == MotionKind.APPROVE_PROJECT and voted.amount and self.passes(voted) != was_passing:
                    # a proposal's pool allocation: held while its votes would pass the approval
                    self.general_committed += voted.amount if not was_passing else -voted.amount
            self.votes.append(vote_of(e))
        elif n == "MotionDecided":
            decided = self.motions.get(int(a["motionId"]))
            if decided is not None:
                decided.decided_at, decided.passed = int(a.get("decidedAt", e.block_time)), bool(a["passed"])
        elif n == "AllocationApproved":
            p = self.projects.get(int(a["projectId"]))
            if p is not None:
                p.allocated += int(a["amount"])  # reserved in the pool already (by the proposal or the votes)
        elif n == "ReservationReleased":
            self.general_committed -= int(a["amount"])
        elif n == "AllocationReleased":
            p = self.projects.get(int(a["projectId"]))
            if p is not None:
                p.allocation_released = int(a["amount"])
            self.general_committed -= int(a["amount"])
        elif n == "PayoutMade":
            self._payout(e)
        elif n == "RefundClaimed":
            rid, amount = int(a["receiptId"]), int(a["amount"])
            c = self.contributions.get(rid)
            if c is not None:
                c.refunded = True
                if c.project_id in self.projects:
                    self.projects[c.project_id].refunded += amount
            self.total_refunded += amount
            self.refunds.append(refund_of(e))

    def _contribution(self, e: Event) -> None:
        a = e.args
        rid, amount, pid = int(a["receiptId"]), int(a["amount"]), int(a["projectId"])
        if pid == GENERAL_POOL:
            queued = self.general_total
            self.general_total += amount
        else:
            p = self.projects.get(pid)
            queued = p.earmarked if p else 0
            if p is not None:
                p.earmarked += amount
        self.contributions[rid] = ContributionRecord(
            rid, str(a["contributor"]), int(a["memberId"]), _CONTRIBUTOR_KINDS[int(a["kind"])], pid, amount,
            _hash(a["memoHash"]), e.block_time, queued, e,
        )
        self.total_contributed += amount

    def split(self, project_id: int, amount: int) -> tuple[int, int]:
        """A payout of ``amount`` to the project now: (from earmarked, from general), earmarked first."""
        p = self.projects.get(project_id)
        from_earmarked = min(amount, p.earmarked - p.earmarked_spent) if p is not None else 0
        return from_earmarked, amount - from_earmarked

    def _payout(self, e: Event) -> None:
        a = e.args
        pid, index, amount = int(a["projectId"]), int(a["milestoneIndex"]), int(a["amount"])
        from_earmarked, from_general = self.split(pid, amount)
        self.splits[int(a["payoutId"])] = (from_earmarked, from_general)
        self.payouts.append(payout_of(e))
        p = self.projects.get(pid)
        if p is None:
            return
        if 0 <= index < len(p.milestones):
            p.milestones[index].paid += amount
        p.paid += amount
        p.earmarked_spent += from_earmarked
        p.allocated_spent += from_general
        self.general_spent += from_general
        self.general_committed -= from_general
        self.total_paid += amount

    # ---------------------------------------------------------------- derived at a time

    def deadline(self, m: MotionRecord) -> int:
        return m.created_at + self.voting_period

    def passes(self, m: MotionRecord) -> bool:
        """The deadline rule: quorum, and more approvals than rejections."""
        return m.approvals + m.rejections >= self.quorum and m.approvals > m.rejections

    def derive(self, m: MotionRecord, now: int) -> tuple[MotionState, int]:
        """The contract's motion state and decision time: as recorded, else from the clock."""
        if m.decided_at:
            return (MotionState.PASSED if m.passed else MotionState.FAILED), m.decided_at
        if self.lapsed(m, now):
            return MotionState.LAPSED, 0
        deadline = self.deadline(m)
        if now < deadline:
            return MotionState.OPEN, 0
        return (MotionState.PASSED if self.passes(m) else MotionState.FAILED), deadline

    def lapsed(self, m: MotionRecord, now: int) -> bool:
        """Not recorded, and its project closed before its deadline (the contract's ``_lapsed``)."""
        p = self.projects.get(m.project_id)
        if p is None:
            return False
        if m.kind != MotionKind.APPROVE_PROJECT and p.paid == p.budget:
            return True
        if m.kind == MotionKind.CANCEL_PROJECT:
            approval = self.motions.get(p.approval_motion_id)
            return approval is not None and self.derive(approval, now)[0] == MotionState.FAILED
        cm = self.motions.get(p.cancel_motion_id)
        if cm is None:
            return False
        if cm.decided_at:
            return cm.passed
        if m.kind == MotionKind.APPROVE_PROJECT or cm.id > m.id:
            return False
        return self.derive(cm, now)[0] == MotionState.PASSED

    def project_state(self, p: ProjectRecord, now: int) -> ProjectState:
        """The contract's ``projectState``: decisions taken at deadlines count from then."""
        cm = self.motions.get(p.cancel_motion_id)
        if cm is not None and self.derive(cm, now)[0] == MotionState.PASSED:
            return ProjectState.CANCELLED
        m = self.motions.get(p.approval_motion_id)
        approval, approved_at = self.derive(m, now) if m is not None else (MotionState.OPEN, 0)
        if approval == MotionState.OPEN:
            return ProjectState.PROPOSED
        if approval != MotionState.PASSED:
            return ProjectState.REJECTED
        if p.paid == p.budget:
            return ProjectState.COMPLETED
        if now < approved_at + self.time_lock:
            return ProjectState.TIME_LOCKED
        return ProjectState.ACTIVE

    def closing(self, p: ProjectRecord) -> bool:
        """Whether a cancellation of ``p`` was recorded as passed."""
        cm = self.motions.get(p.cancel_motion_id)
        return cm is not None and bool(cm.decided_at) and cm.passed

    def allocated(self, p: ProjectRecord, now: int) -> int:
        """Approved allocations, with one passed at its deadline and not recorded yet (the
        proposal's, asked of its approval motion, or a top-up)."""
        allocated = p.allocated
        for x in (self.motions.get(p.approval_motion_id), self.motions.get(p.allocation_motion_id)):
            if x is not None and x.amount and not x.decided_at and self.derive(x, now)[0] == MotionState.PASSED:
                allocated += x.amount
        return allocated

    def spent(self, c: ContributionRecord) -> int:
        pointer = self.general_spent if c.project_id == GENERAL_POOL else self.projects[c.project_id].earmarked_spent
        if pointer <= c.queued_before:
            return 0
        return min(pointer - c.queued_before, c.amount)

    def refundable(self, c: ContributionRecord, now: int) -> int:
        if c.project_id == GENERAL_POOL or c.refunded:
            return 0
        if self.project_state(self.projects[c.project_id], now) not in CLOSED_STATES:
            return 0
        return c.amount - self.spent(c)

    def pool_free(self) -> int:
        return self.general_total - self.general_spent - self.general_committed

    # ---------------------------------------------------------------- frozen views

    def project(self, p: ProjectRecord, now: int) -> types.Project:
        """``getProject`` at ``now``."""
        state = self.project_state(p, now)
        m = self.motions.get(p.approval_motion_id)
        approval, approved_at = self.derive(m, now) if m is not None else (MotionState.OPEN, 0)
        approved = approval == MotionState.PASSED
        allocated = self.allocated(p, now)
        released, cancelled_at = p.allocation_released, 0
        cm = self.motions.get(p.cancel_motion_id)
        if state == ProjectState.CANCELLED and cm is not None:
            cancelled_at = self.derive(cm, now)[1]
            if not cm.decided_at:  # cancelled at its deadline, not recorded yet
                released = allocated - p.allocated_spent
        available = (p.earmarked - p.earmarked_spent) + (allocated - p.allocated_spent)
        return record_from(
            types.Project, p,
            approved_at=approved_at if approved else 0,
            unlocks_at=approved_at + self.time_lock if approved else 0,
            cancelled_at=cancelled_at, milestone_count=len(p.milestones), allocated=allocated,
            allocation_released=released, available=0 if state in CLOSED_STATES else available, state=state,
        )

    @staticmethod
    def milestones(p: ProjectRecord) -> tuple[types.Milestone, ...]:
        return tuple(types.Milestone(i, m.amount, m.paid, m.description_hash) for i, m in enumerate(p.milestones))

    def motion(self, m: MotionRecord, now: int) -> types.Motion:
        """``getMotion`` at ``now``."""
        state, decided_at = self.derive(m, now)
        return record_from(types.Motion, m, deadline=self.deadline(m), decided_at=decided_at, state=state)

    def contribution(self, c: ContributionRecord, now: int) -> types.Contribution:
        """``getContribution`` at ``now``."""
        return record_from(
            types.Contribution, c, receipt_id=c.id, spent=self.spent(c), refundable=self.refundable(c, now)
        )

    def pool(self) -> types.Pool:
        """``generalPool``."""
        return types.Pool(self.general_total, self.general_spent, self.general_committed, self.pool_free())

    def state(self, now: int) -> types.FundState:
        """The whole fund at ``now``, frozen."""
        return types.FundState(
            at=now, quorum=self.quorum, time_lock=self.time_lock, voting_period=self.voting_period,
            projects={i: self.project(p, now) for i, p in self.projects.items()},
            milestones={i: self.milestones(p) for i, p in self.projects.items()},
            motions={i: self.motion(m, now) for i, m in self.motions.items()},
            contributions={i: self.contribution(c, now) for i, c in self.contributions.items()},
            payouts=tuple(self.payouts), refunds=tuple(self.refunds), votes=tuple(self.votes), pool=self.pool(),
            contributed=self.total_contributed, paid_out=self.total_paid, refunded=self.total_refunded,
        )


class LandedFields(TypedDict):
    block_number: int
    tx_hash: str
    block_time: int
    log_index: int


def landed(e: Event) -> LandedFields:
    """The :class:`~ledger.fund.types.Landed` fields of a record made by the event ``e``."""
    return {"block_number": e.block_number, "tx_hash": e.tx_hash, "block_time": e.block_time, "log_index": e.log_index}


def payout_of(e: Event) -> types.Payout:
    """A ``PayoutMade`` event as its record."""
    a = e.args
    return types.Payout(
        int(a["payoutId"]), int(a["projectId"]), int(a["milestoneIndex"]), int(a["amount"]), int(a["fromEarmarked"]),
        int(a["fromGeneral"]), str(a["beneficiary"]), int(a["treasurerId"]), _hash(a["invoiceHash"]), **landed(e),
    )


def refund_of(e: Event) -> types.Refund:
    """A ``RefundClaimed`` event as its record."""
    a = e.args
    return types.Refund(int(a["receiptId"]), int(a["projectId"]), int(a["memberId"]), str(a["to"]), int(a["amount"]),
                        **landed(e))


def vote_of(e: Event) -> types.Vote:
    """A ``VoteCast`` event as its record."""
    a = e.args
    return types.Vote(int(a["motionId"]), int(a["memberId"]), str(a["voter"]), bool(a["support"]), int(a["approvals"]),
                      int(a["rejections"]), **landed(e))


def fund_state(events: Iterable[Event], now: int) -> types.FundState:
    """The fold of ``events`` (chain order) at time ``now``."""
    return FundModel.of(events).state(now)
