"""The fund's state types: the enums (values as the contract's, ``ICoGovFund``) and the
frozen records the contract's views return and the reducer (:mod:`ledger.fund.model`) derives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum


class ProjectState(IntEnum):
    PROPOSED, TIME_LOCKED, ACTIVE, COMPLETED, REJECTED, CANCELLED = range(6)


class MotionKind(IntEnum):
    APPROVE_PROJECT, ALLOCATE_FROM_POOL, CANCEL_PROJECT = range(3)


class MotionState(IntEnum):
    OPEN, PASSED, FAILED, LAPSED = range(4)


class ContributorKind(IntEnum):
    GOVERNMENT, ENTERPRISE, RESIDENT = range(3)


CLOSED_STATES = (ProjectState.COMPLETED, ProjectState.REJECTED, ProjectState.CANCELLED)
GENERAL_POOL = 0
# ------------------------------------------------------------------ the state, frozen (as the contract's views)


@dataclass(frozen=True)
class Milestone:
    index: int
    amount: int
    paid: int
    description_hash: bytes


@dataclass(frozen=True)
class Project:
    id: int
    title_hash: bytes
    proposer: str
    proposer_id: int
    beneficiary: str
    budget: int
    approval_motion_id: int
    approved_at: int
    unlocks_at: int
    cancelled_at: int
    milestone_count: int
    paid: int
    earmarked: int
    earmarked_spent: int
    allocated: int
    allocated_spent: int
    allocation_released: int
    refunded: int
    available: int
    state: ProjectState


@dataclass(frozen=True)
class Contribution:
    receipt_id: int
    contributor: str
    member_id: int
    kind: ContributorKind
    project_id: int
    amount: int
    memo_hash: bytes
    contributed_at: int
    spent: int
    refunded: bool
    refundable: int


@dataclass(frozen=True)
class Motion:
    id: int
    kind: MotionKind
    project_id: int
    amount: int
    proposer_id: int
    created_at: int
    deadline: int  # votes until just before; undecided by then, decided at the deadline
    decided_at: int  # when decided (by a vote, or the deadline); 0 while open or lapsed
    approvals: int
    rejections: int
    state: MotionState


@dataclass(frozen=True)
class Pool:
    """The general pool: contributed, spent by payouts, committed to open projects, free."""

    total: int
    spent: int
    committed: int
    free: int


@dataclass(frozen=True)
class Totals:
    contributed: int
    paid_out: int
    refunded: int
    balance: int  # the fund's token balance
    contributions: int
    projects: int
    motions: int
    payouts: int

    @property
    def invariant_holds(self) -> bool:
        """token balance == contributions - payouts - refunds (tokens sent outside contribute only add)."""
        return self.balance >= self.contributed - self.paid_out - self.refunded



@dataclass(frozen=True, kw_only=True)
class Landed:
    """Where the event that made a record landed (keyword fields, after the record's own)."""

    block_number: int
    tx_hash: str
    block_time: int
    log_index: int = 0


@dataclass(frozen=True)
class Payout(Landed):
    payout_id: int
    project_id: int
    milestone_index: int
    amount: int
    from_earmarked: int
    from_general: int
    beneficiary: str
    treasurer_id: int
    invoice_hash: bytes


@dataclass(frozen=True)
class Refund(Landed):
    receipt_id: int
    project_id: int
    member_id: int
    to: str
    amount: int


@dataclass(frozen=True)
class Vote(Landed):
    motion_id: int
    member_id: int
    voter: str
    support: bool
    approvals: int  # the tallies after this vote
    rejections: int


@dataclass(frozen=True)
class FundState:
    """The fund at time :attr:`at`: what the contract's views say at that time."""

    at: int
    quorum: int
    time_lock: int
    voting_period: int
    projects: Mapping[int, Project]
    milestones: Mapping[int, tuple[Milestone, ...]]
    motions: Mapping[int, Motion]
    contributions: Mapping[int, Contribution]
    payouts: tuple[Payout, ...]
    refunds: tuple[Refund, ...]
    votes: tuple[Vote, ...]
    pool: Pool
    contributed: int
    paid_out: int
    refunded: int
