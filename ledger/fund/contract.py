"""The typed wrapper of the co-governance fund contract (``CoGovFund``); the token is :mod:`ledger.fund.token`.

Reads return frozen dataclasses, writes return :class:`~ledger.client.TxReceipt` (with the
new record's id where there is one). Amounts are integers in the token's smallest unit
(CommunityCredit has 2 decimals: 1 unit = 1 分); :func:`parse_amount` and
:func:`format_amount` convert from and to decimal text for people.

Hashes on chain (title, milestone description, memo, invoice, deposit reference) are
keccak256 of the UTF-8 text or of a file's bytes; the texts live in the document store
(:mod:`ledger.fund.docs`). Where the money went is :mod:`ledger.fund.report` (built on
:mod:`ledger.fund.trace`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from eth_utils import to_checksum_address

from ledger.abi.records import record_from_view
from ledger.client import ContractCall, Journal, Ledger, Pending, TxReceipt
from ledger.display import format_amount as format_amount
from ledger.errors import ContractReverted, LedgerError, NotDeployed, ValidationFailed
from ledger.fund.token import CREDIT, Credit, Token
from ledger.fund.types import (
    GENERAL_POOL,
    Contribution,
    Milestone,
    Motion,
    MotionState,
    Pool,
    Project,
    ProjectState,
    Totals,
)
from ledger.keys import Signer
from ledger.wrapper import ContractWrapper, int_view, sending, sending_for

NAME = "CoGovFund"
ZERO32 = b"\x00" * 32
UINT256_MAX = 2**256 - 1




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


# ------------------------------------------------------------------ fund

_approve_locks: dict[str, threading.Lock] = {}
_approve_guard = threading.Lock()
#: Per account, its last contribution sent from this process (the next waits until it is mined).
_in_flight: dict[str, Pending] = {}


def _account_lock(address: str) -> threading.Lock:
    with _approve_guard:
        return _approve_locks.setdefault(address.lower(), threading.Lock())


def _after_previous(address: str, ledger: Ledger) -> None:
    """Wait until the account's contribution sent before (through ``ledger``) is mined: until then
    the allowance it will spend still shows as free, and a pre-flight would count it twice. Its
    failure is its sender's to report."""
    previous = _in_flight.get(address.lower())
    if previous is not None and not previous.done and previous.pipeline is ledger.tx:
        with contextlib.suppress(LedgerError):
            previous.wait()


class Fund(ContractWrapper):
    """The CoGovFund contract of one deployment."""

    contract = NAME

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

    quorum = int_view("quorum")
    time_lock = int_view("timeLock")
    voting_period = int_view("votingPeriod")
    project_count = int_view("projectCount")
    contribution_count = int_view("contributionCount")
    motion_count = int_view("motionCount")
    payout_count = int_view("payoutCount")

    def project(self, project_id: int) -> Project:
        return project_from_view(self._call("getProject", project_id))

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
        return contribution_from_view(self._call("getContribution", receipt_id))

    def spent_of(self, receipt_id: int) -> int:
        return int(self._call("spentOf", receipt_id))

    def refundable(self, receipt_id: int) -> int:
        return int(self._call("refundable", receipt_id))

    def motion(self, motion_id: int) -> Motion:
        return motion_from_view(self._call("getMotion", motion_id))

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
    # Each write: ``x_call(...)`` prepares it (a ContractCall, to send with a journal:
    # ``ledger.send(signer, call, journal)``), ``x(signer, ...)`` sends it and waits.

    def ensure_allowance(self, signer: Signer, amount: int) -> TxReceipt | None:
        """Approve the fund for exactly ``amount`` (never unlimited) unless the allowance already covers it."""
        if self.token.allowance(signer.address, self.address) >= amount:
            return None
        return self.token.approve(signer, self.address, amount)

    def contribute_call(self, amount: int, project_id: int = GENERAL_POOL, memo_hash: bytes = ZERO32) -> ContractCall:
        if amount <= 0:
            raise ValidationFailed("amount", "must be positive")
        return self._prepare("contribute", amount, project_id, memo_hash)

    def send_contribution(
        self, signer: Signer, call: ContractCall, journal: Journal | None = None, *, approve: bool = True
    ) -> Pending:
        """Send a prepared contribution (:meth:`contribute_call`), ``journal`` keeping it first.

        With ``approve`` the fund is first approved for the amount if the allowance is short (a
        separate transaction, waited for and not journaled: re-approving is harmless, and the
        contribution itself is the one write that must never happen twice). Contributions of
        one account are serialised in this process (each is sent once the one before it is
        mined), so concurrent ones cannot steal each other's allowance.
        """
        amount = int(call.args[0])
        with _account_lock(signer.address):
            _after_previous(signer.address, self.ledger)
            if approve and not self.ledger.preflight:
                self.ensure_allowance(signer, amount)
            try:
                pending = self.ledger.send(signer, call, journal)
            except ContractReverted as exc:
                # With the pre-flight, the allowance is not read up front: the simulation pulls
                # the tokens and refuses a short allowance before anything is signed. Only a
                # refusal costs the read; approve then if it is short, and contribute again.
                if not approve or exc.tx_hash is not None or self.ensure_allowance(signer, amount) is None:
                    raise
                pending = self.ledger.send(signer, call, journal)
            _in_flight[signer.address.lower()] = pending
        return pending

    def contribute(
        self, signer: Signer, amount: int, project_id: int = GENERAL_POOL, memo_hash: bytes = ZERO32, *,
        approve: bool = True,
    ) -> tuple[int, TxReceipt]:
        """Contribute ``amount`` to a project (or the general pool, 0). Returns (receipt id, receipt)."""
        call = self.contribute_call(amount, project_id, memo_hash)
        r = self.send_contribution(signer, call, approve=approve).wait()
        return int(r.event("ContributionReceived").args["receiptId"]), r

    def propose_project_call(
        self, title_hash: bytes, beneficiary: str, milestones: Sequence[tuple[int, bytes]], *,
        budget: int | None = None, pool_allocation: int = 0,
    ) -> ContractCall:
        """Propose a project with ``milestones`` as (amount, description hash); the budget is their sum.

        ``pool_allocation``: general-pool money the proposal asks (0: none, at most the budget); the
        project's one approval motion decides it with the project."""
        specs = [(int(a), bytes(h)) for a, h in milestones]
        total = sum(a for a, _ in specs) if budget is None else budget
        return self._prepare("proposeProject", title_hash, to_checksum_address(beneficiary), total, specs,
                             int(pool_allocation))

    propose_project = sending_for(propose_project_call, "ProjectProposed", "projectId")

    def propose_allocation_call(self, project_id: int, amount: int) -> ContractCall:
        return self._prepare("proposeAllocation", project_id, amount)

    propose_allocation = sending_for(propose_allocation_call, "MotionProposed", "motionId")

    def propose_cancellation_call(self, project_id: int) -> ContractCall:
        return self._prepare("proposeCancellation", project_id)

    propose_cancellation = sending_for(propose_cancellation_call, "MotionProposed", "motionId")

    def vote_call(self, motion_id: int, support: bool) -> ContractCall:
        return self._prepare("vote", motion_id, support)

    vote = sending(vote_call)

    def settle_call(self, project_id: int) -> ContractCall:
        """Record the decisions the deadlines took on the project's motions (FundCommittee).

        Every view shows them already; this writes their events (``MotionDecided`` with the
        deadline as ``decidedAt``, and their effects) and returns reservations of failed
        allocations to the pool. The next write on the project does the same.
        """
        return self._prepare("settle", project_id)

    settle = sending(settle_call)

    def pay_milestone_call(
        self, project_id: int, milestone_index: int, amount: int, invoice_hash: bytes
    ) -> ContractCall:
        return self._prepare("payMilestone", project_id, milestone_index, amount, invoice_hash)

    pay_milestone = sending_for(pay_milestone_call, "PayoutMade", "payoutId")

    def claim_refund_call(self, receipt_id: int) -> ContractCall:
        return self._prepare("claimRefund", receipt_id)

    claim_refund = sending_for(claim_refund_call, "RefundClaimed", "amount")


# ------------------------------------------------------------------ decoding


def project_from_view(raw: dict[str, Any]) -> Project:
    return record_from_view(Project, raw)


def contribution_from_view(raw: dict[str, Any]) -> Contribution:
    return record_from_view(Contribution, raw)


def motion_from_view(raw: dict[str, Any]) -> Motion:
    return record_from_view(Motion, raw)
