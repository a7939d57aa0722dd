"""Typed wrappers of the co-governance fund (``CoGovFund``) and its token (``CommunityCredit``).

Reads return frozen dataclasses, writes return :class:`~ledger.client.TxReceipt` (with the
new record's id where there is one). Amounts are integers in the token's smallest unit
(CommunityCredit has 2 decimals: 1 unit = 1 分); :func:`parse_amount` and
:func:`format_amount` convert from and to decimal text for people.

Hashes on chain (title, milestone description, memo, invoice, deposit reference) are
keccak256 of the UTF-8 text or of a file's bytes; the texts live in the document store
(:mod:`ledger.fund_docs`). Where the money went is :mod:`ledger.fund.report` (built on
:mod:`ledger.fund_trace`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from functools import cached_property
from typing import Any

from eth_utils import to_checksum_address

from ledger.client import Ledger, TxReceipt
from ledger.errors import ContractReverted, NotDeployed, ValidationFailed
from ledger.keys import Signer

NAME = "CoGovFund"
CREDIT = "CommunityCredit"
GENERAL_POOL = 0
ZERO32 = b"\x00" * 32
UINT256_MAX = 2**256 - 1

BeforeSend = Callable[[str, bytes], None] | None


class ProjectState(IntEnum):
    PROPOSED = 0
    TIME_LOCKED = 1
    ACTIVE = 2
    COMPLETED = 3
    REJECTED = 4
    CANCELLED = 5


class MotionKind(IntEnum):
    APPROVE_PROJECT = 0
    ALLOCATE_FROM_POOL = 1
    CANCEL_PROJECT = 2


class MotionState(IntEnum):
    OPEN = 0
    PASSED = 1
    FAILED = 2
    LAPSED = 3


class ContributorKind(IntEnum):
    GOVERNMENT = 0
    ENTERPRISE = 1
    RESIDENT = 2


CLOSED_STATES = (ProjectState.COMPLETED, ProjectState.REJECTED, ProjectState.CANCELLED)


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


# ------------------------------------------------------------------ amounts


def parse_amount(text: str | int | Decimal, decimals: int = 2) -> int:
    """Decimal text (``"1234.5"`` 元) to integer units (``123450`` 分). Refuses more precision than the token has."""
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation as exc:
        raise ValidationFailed("amount", f"{text!r} is not a number") from exc
    units = value.scaleb(decimals)
    if units != units.to_integral_value():
        raise ValidationFailed("amount", f"{text} has more than {decimals} decimal places")
    if units <= 0:
        raise ValidationFailed("amount", "must be positive")
    if units > UINT256_MAX:
        raise ValidationFailed("amount", "too large")
    return int(units)


def format_amount(units: int, decimals: int = 2) -> str:
    """Integer units to decimal text with exactly ``decimals`` places (``123450`` → ``"1234.50"``)."""
    sign = "-" if units < 0 else ""
    q, r = divmod(abs(int(units)), 10**decimals)
    return f"{sign}{q}.{r:0{decimals}d}" if decimals else f"{sign}{q}"


# ------------------------------------------------------------------ token

#: ERC-20 views fixed for a token's life (read once per ledger and token address).
_TOKEN_CONSTANTS = frozenset({"decimals", "symbol", "name"})
_token_constants: weakref.WeakKeyDictionary[Ledger, dict[tuple[str, str], Any]] = weakref.WeakKeyDictionary()


class Token:
    """An ERC-20 at ``address`` (the fund's token: CommunityCredit in development, any ERC-20)."""

    def __init__(self, ledger: Ledger, address: str) -> None:
        self.ledger = ledger
        self.address = to_checksum_address(address)
        self._c = ledger.contract(CREDIT, self.address)  # the ERC-20 part of its ABI is standard

    def _call(self, fn: str, *args: Any) -> Any:
        # Encoded with eth_abi and sent as one view call (web3's contract call asked the node
        # for its chain id twice and cost milliseconds of Python per call).
        if fn in _TOKEN_CONSTANTS and not args:
            known = _token_constants.setdefault(self.ledger, {})
            key = (self.address, fn)
            if key not in known:
                known[key] = self.ledger.views([(CREDIT, fn, (), self.address)])[0]
            return known[key]
        return self.ledger.views([(CREDIT, fn, args, self.address)])[0]

    def _tx(self, signer: Signer, fn: str, *args: Any, before_send: BeforeSend = None) -> TxReceipt:
        data = self._c.encode_abi(fn, args=list(args))
        return self.ledger.send(signer, to=self.address, data=data, before_send=before_send)

    @cached_property
    def symbol(self) -> str:
        return str(self._call("symbol"))

    @cached_property
    def name(self) -> str:
        return str(self._call("name"))

    @cached_property
    def decimals(self) -> int:
        return int(self._call("decimals"))

    def balance_of(self, account: str) -> int:
        return int(self._call("balanceOf", to_checksum_address(account)))

    def allowance(self, owner: str, spender: str) -> int:
        return int(self._call("allowance", to_checksum_address(owner), to_checksum_address(spender)))

    def total_supply(self) -> int:
        return int(self._call("totalSupply"))

    def approve(self, signer: Signer, spender: str, amount: int) -> TxReceipt:
        return self._tx(signer, "approve", to_checksum_address(spender), amount)

    def transfer(self, signer: Signer, to: str, amount: int) -> TxReceipt:
        return self._tx(signer, "transfer", to_checksum_address(to), amount)


class Credit(Token):
    """The deployment's CommunityCredit: minted by the treasurer against fiat deposits, burned on redemption."""

    def __init__(self, ledger: Ledger) -> None:
        if ledger.manifest is None:
            raise NotDeployed("no deployment manifest: run `cogov deploy`")
        super().__init__(ledger, ledger.manifest.address(CREDIT))

    def deposit_recorded(self, deposit_ref: bytes) -> bool:
        return bool(self.ledger.call(CREDIT, "depositRecorded", deposit_ref))

    def redemption_recorded(self, redemption_ref: bytes) -> bool:
        return bool(self.ledger.call(CREDIT, "redemptionRecorded", redemption_ref))

    def total_minted(self) -> int:
        return int(self.ledger.call(CREDIT, "totalMinted"))

    def total_burned(self) -> int:
        return int(self.ledger.call(CREDIT, "totalBurned"))

    def mint(
        self, signer: Signer, to: str, amount: int, deposit_ref: bytes, *, before_send: BeforeSend = None
    ) -> TxReceipt:
        """Mint against a fiat deposit (treasurer). ``deposit_ref``: keccak256 of the bank reference, used once."""
        return self.ledger.transact(signer, CREDIT, "mint", to_checksum_address(to), amount, deposit_ref,
                                    before_send=before_send)

    def burn(self, signer: Signer, holder: str, amount: int, redemption_ref: bytes, *,
             before_send: BeforeSend = None) -> TxReceipt:
        """Burn on redemption (treasurer); the holder must have approved the treasurer unless it is the treasurer."""
        return self.ledger.transact(signer, CREDIT, "burn", to_checksum_address(holder), amount, redemption_ref,
                                    before_send=before_send)


# ------------------------------------------------------------------ fund

_approve_locks: dict[str, threading.Lock] = {}
_approve_guard = threading.Lock()


def _account_lock(address: str) -> threading.Lock:
    with _approve_guard:
        return _approve_locks.setdefault(address.lower(), threading.Lock())


class Fund:
    """The CoGovFund contract of one deployment."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @property
    def address(self) -> str:
        if self.ledger.manifest is None:
            raise NotDeployed("no deployment manifest: run `cogov deploy`")
        return self.ledger.manifest.address(NAME)

    @cached_property
    def token(self) -> Token:
        address = str(self._call("token"))
        m = self.ledger.manifest
        if m is not None and CREDIT in m.contracts and m.address(CREDIT).lower() == address.lower():
            return Credit(self.ledger)
        return Token(self.ledger, address)

    # ---------------------------------------------------------------- reads

    def _call(self, fn: str, *args: Any) -> Any:
        return self.ledger.call(NAME, fn, *args)

    def quorum(self) -> int:
        return int(self._call("quorum"))

    def time_lock(self) -> int:
        return int(self._call("timeLock"))

    def voting_period(self) -> int:
        return int(self._call("votingPeriod"))

    def project_count(self) -> int:
        return int(self._call("projectCount"))

    def contribution_count(self) -> int:
        return int(self._call("contributionCount"))

    def motion_count(self) -> int:
        return int(self._call("motionCount"))

    def payout_count(self) -> int:
        return int(self._call("payoutCount"))

    def project(self, project_id: int) -> Project:
        return _project(self._call("getProject", project_id))

    def projects(self) -> list[Project]:
        return [self.project(i) for i in range(1, self.project_count() + 1)]

    def project_state(self, project_id: int) -> ProjectState:
        return ProjectState(int(self._call("projectState", project_id)))

    def milestone(self, project_id: int, index: int) -> Milestone:
        raw = self._call("getMilestone", project_id, index)
        return Milestone(index, int(raw["amount"]), int(raw["paid"]), bytes(raw["descriptionHash"]))

    def milestones(self, project_id: int, count: int | None = None) -> list[Milestone]:
        n = self.project(project_id).milestone_count if count is None else count
        return [self.milestone(project_id, i) for i in range(n)]

    def available(self, project_id: int) -> int:
        return int(self._call("available", project_id))

    def contribution(self, receipt_id: int) -> Contribution:
        return _contribution(self._call("getContribution", receipt_id))

    def spent_of(self, receipt_id: int) -> int:
        return int(self._call("spentOf", receipt_id))

    def refundable(self, receipt_id: int) -> int:
        return int(self._call("refundable", receipt_id))

    def motion(self, motion_id: int) -> Motion:
        return _motion(self._call("getMotion", motion_id))

    def motion_state(self, motion_id: int) -> MotionState:
        return MotionState(int(self._call("motionState", motion_id)))

    def has_voted(self, motion_id: int, member_id: int) -> bool:
        return bool(self._call("hasVoted", motion_id, member_id))

    def pool(self) -> Pool:
        total, spent, committed, free = self._call("generalPool")
        return Pool(int(total), int(spent), int(committed), int(free))

    def totals(self) -> Totals:
        return Totals(
            contributed=int(self._call("totalContributed")),
            paid_out=int(self._call("totalPaidOut")),
            refunded=int(self._call("totalRefunded")),
            balance=self.token.balance_of(self.address),
            contributions=self.contribution_count(),
            projects=self.project_count(),
            motions=self.motion_count(),
            payouts=self.payout_count(),
        )

    # ---------------------------------------------------------------- writes

    def _tx(self, signer: Signer, fn: str, *args: Any, before_send: BeforeSend = None) -> TxReceipt:
        return self.ledger.transact(signer, NAME, fn, *args, before_send=before_send)

    def ensure_allowance(self, signer: Signer, amount: int) -> TxReceipt | None:
        """Approve the fund for exactly ``amount`` (never unlimited) unless the allowance already covers it."""
        if self.token.allowance(signer.address, self.address) >= amount:
            return None
        return self.token.approve(signer, self.address, amount)

    def contribute(
        self,
        signer: Signer,
        amount: int,
        project_id: int = GENERAL_POOL,
        memo_hash: bytes = ZERO32,
        *,
        approve: bool = True,
        before_send: BeforeSend = None,
    ) -> tuple[int, TxReceipt]:
        """Contribute ``amount`` to a project (or the general pool, 0). Returns (receipt id, receipt).

        With ``approve`` the fund is first approved for ``amount`` if the allowance is short (a
        separate transaction, not covered by ``before_send``: re-approving is harmless, and the
        contribution itself is the one write that must never happen twice). Contributions of
        one account are serialised in this process so concurrent ones cannot steal each
        other's allowance.
        """
        if amount <= 0:
            raise ValidationFailed("amount", "must be positive")
        with _account_lock(signer.address):
            if approve and not self.ledger.preflight:
                self.ensure_allowance(signer, amount)
            try:
                r = self._tx(signer, "contribute", amount, project_id, memo_hash, before_send=before_send)
            except ContractReverted as exc:
                # With the pre-flight, the allowance is not read up front: the simulation pulls
                # the tokens and refuses a short allowance before anything is signed. Only a
                # refusal costs the read; approve then if it is short, and contribute again.
                if not approve or exc.tx_hash is not None or self.ensure_allowance(signer, amount) is None:
                    raise
                r = self._tx(signer, "contribute", amount, project_id, memo_hash, before_send=before_send)
        return int(r.event("ContributionReceived").args["receiptId"]), r

    def propose_project(
        self,
        signer: Signer,
        title_hash: bytes,
        beneficiary: str,
        milestones: Sequence[tuple[int, bytes]],
        *,
        budget: int | None = None,
        before_send: BeforeSend = None,
    ) -> tuple[int, TxReceipt]:
        """Propose a project with ``milestones`` as (amount, description hash); the budget is their sum."""
        specs = [(int(a), bytes(h)) for a, h in milestones]
        total = sum(a for a, _ in specs) if budget is None else budget
        r = self._tx(signer, "proposeProject", title_hash, to_checksum_address(beneficiary), total, specs,
                     before_send=before_send)
        return int(r.event("ProjectProposed").args["projectId"]), r

    def propose_allocation(
        self, signer: Signer, project_id: int, amount: int, *, before_send: BeforeSend = None
    ) -> tuple[int, TxReceipt]:
        r = self._tx(signer, "proposeAllocation", project_id, amount, before_send=before_send)
        return int(r.event("MotionProposed").args["motionId"]), r

    def propose_cancellation(
        self, signer: Signer, project_id: int, *, before_send: BeforeSend = None
    ) -> tuple[int, TxReceipt]:
        r = self._tx(signer, "proposeCancellation", project_id, before_send=before_send)
        return int(r.event("MotionProposed").args["motionId"]), r

    def vote(self, signer: Signer, motion_id: int, support: bool, *, before_send: BeforeSend = None) -> TxReceipt:
        return self._tx(signer, "vote", motion_id, support, before_send=before_send)

    def settle(self, signer: Signer, project_id: int, *, before_send: BeforeSend = None) -> TxReceipt:
        """Record the decisions the deadlines took on the project's motions (FundCommittee).

        Every view shows them already; this writes their events (``MotionDecided`` with the
        deadline as ``decidedAt``, and their effects) and returns reservations of failed
        allocations to the pool. The next write on the project does the same.
        """
        return self._tx(signer, "settle", project_id, before_send=before_send)

    def pay_milestone(
        self,
        signer: Signer,
        project_id: int,
        milestone_index: int,
        amount: int,
        invoice_hash: bytes,
        *,
        before_send: BeforeSend = None,
    ) -> tuple[int, TxReceipt]:
        r = self._tx(signer, "payMilestone", project_id, milestone_index, amount, invoice_hash,
                     before_send=before_send)
        return int(r.event("PayoutMade").args["payoutId"]), r

    def claim_refund(self, signer: Signer, receipt_id: int, *, before_send: BeforeSend = None) -> tuple[int, TxReceipt]:
        r = self._tx(signer, "claimRefund", receipt_id, before_send=before_send)
        return int(r.event("RefundClaimed").args["amount"]), r


# ------------------------------------------------------------------ decoding


def _project(raw: dict[str, Any]) -> Project:
    return Project(
        id=int(raw["id"]),
        title_hash=bytes(raw["titleHash"]),
        proposer=str(raw["proposer"]),
        proposer_id=int(raw["proposerId"]),
        beneficiary=str(raw["beneficiary"]),
        budget=int(raw["budget"]),
        approval_motion_id=int(raw["approvalMotionId"]),
        approved_at=int(raw["approvedAt"]),
        unlocks_at=int(raw["unlocksAt"]),
        cancelled_at=int(raw["cancelledAt"]),
        milestone_count=int(raw["milestoneCount"]),
        paid=int(raw["paid"]),
        earmarked=int(raw["earmarked"]),
        earmarked_spent=int(raw["earmarkedSpent"]),
        allocated=int(raw["allocated"]),
        allocated_spent=int(raw["allocatedSpent"]),
        allocation_released=int(raw["allocationReleased"]),
        refunded=int(raw["refunded"]),
        available=int(raw["available"]),
        state=ProjectState(int(raw["state"])),
    )


def _contribution(raw: dict[str, Any]) -> Contribution:
    return Contribution(
        receipt_id=int(raw["receiptId"]),
        contributor=str(raw["contributor"]),
        member_id=int(raw["memberId"]),
        kind=ContributorKind(int(raw["kind"])),
        project_id=int(raw["projectId"]),
        amount=int(raw["amount"]),
        memo_hash=bytes(raw["memoHash"]),
        contributed_at=int(raw["contributedAt"]),
        spent=int(raw["spent"]),
        refunded=bool(raw["refunded"]),
        refundable=int(raw["refundable"]),
    )


def _motion(raw: dict[str, Any]) -> Motion:
    return Motion(
        id=int(raw["id"]),
        kind=MotionKind(int(raw["kind"])),
        project_id=int(raw["projectId"]),
        amount=int(raw["amount"]),
        proposer_id=int(raw["proposerId"]),
        created_at=int(raw["createdAt"]),
        deadline=int(raw["deadline"]),
        decided_at=int(raw["decidedAt"]),
        approvals=int(raw["approvals"]),
        rejections=int(raw["rejections"]),
        state=MotionState(int(raw["state"])),
    )
