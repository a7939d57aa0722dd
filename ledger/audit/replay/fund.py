"""CoGovFund replayed from its events (and the token's Transfer events), with the fund rules:
the balance invariant, the motion decision rule, quorum, time lock, milestone and
available-money bounds on every payout, refunds never above what was owed, and the fund-flow
tracing sums.

The decision rule (the contract's, ``ICoGovFund``): a vote decides a motion only once votes >=
quorum and no remaining eligible voter (FundCommittee members at that block, neither the
project's proposer nor its beneficiary's member, not voted) can change the outcome; otherwise
the motion is decided at its deadline (``createdAt + votingPeriod``) by quorum and approvals >
rejections. A decision taken at a deadline holds from then in every view and is recorded
(``MotionDecided`` with ``decidedAt`` = the deadline) by the next write on the project: the
replay derives the same states from the clock, as the contract's views do.

Money is attributed to the transaction and block that moved it. Within a transaction,
each ``ContributionReceived`` claims the token ``Transfer`` into the fund from its
contributor of its amount (in either log order); a transfer into the fund that no
contribution claims is *unattributed money*: one warning naming that transfer, and
from then on part of what the fund is expected to hold. So the balance invariant is

    token balance == contributed - paid out - refunded + unattributed

at the end of every block where the fund's money moved, and a harmless direct
transfer never turns into an error or into a warning at every later block."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.abi import hex_text
from ledger.audit.collect import Collector
from ledger.audit.findings import Severity
from ledger.audit.replay.base import Checks
from ledger.audit.replay.membership import MembershipReplay
from ledger.errors import IntegrityError
from ledger.events import Event
from ledger.fund.trace import trace_fund
from ledger.roles import Role

PROPOSED, TIME_LOCKED, ACTIVE, COMPLETED, REJECTED, CANCELLED = range(6)
APPROVE, ALLOCATE, CANCEL = range(3)
OPEN, PASSED, FAILED, LAPSED = range(4)
MONEY_EVENTS = {"ContributionReceived", "PayoutMade", "RefundClaimed"}
TRACE_EVENTS = MONEY_EVENTS | {"ProjectRejected", "ProjectCancelled", "ProjectCompleted"}


@dataclass
class Milestone:
    amount: int
    description_hash: str
    paid: int = 0


@dataclass
class Project:
    id: int
    title_hash: str
    proposer: str
    proposer_id: int
    beneficiary: str
    budget: int
    approval_motion_id: int
    milestone_count: int
    milestones: list[Milestone] = field(default_factory=list)
    allocation_motion_id: int = 0  # the latest allocation motion
    cancel_motion_id: int = 0  # the latest cancellation motion
    paid: int = 0
    earmarked: int = 0
    earmarked_spent: int = 0
    allocated: int = 0
    allocated_spent: int = 0
    allocation_released: int = 0
    refunded: int = 0


@dataclass
class Motion:
    id: int
    kind: int
    project_id: int
    amount: int
    proposer_id: int
    created_at: int
    decided_at: int = 0
    passed: bool = False
    approvals: int = 0
    rejections: int = 0
    valid_votes: int = 0  # votes the auditor accepts (committee member, once, not conflicted)
    voters: set[int] = field(default_factory=set)
    by_rule: bool = False  # its recorded decision followed the decision rule
    last_vote_tx: str = ""  # the transaction of the latest vote, and the eligible voters left after it
    left_after_vote: int = 0


@dataclass
class Contribution:
    id: int
    contributor: str
    member_id: int
    kind: int
    project_id: int
    amount: int
    memo_hash: str
    contributed_at: int
    queued_before: int
    event: Event
    refunded: bool = False


class FundReplay:
    contract = "CoGovFund"

    def __init__(self, out: Collector, registry: MembershipReplay, address: str) -> None:
        self.out = out
        self.reg = registry
        self.address = address.lower()
        self.token: str | None = None
        self.registry_address: str | None = None
        self.quorum = 0
        self.time_lock = 0
        self.voting_period = 0
        self.projects: dict[int, Project] = {}
        self.motions: dict[int, Motion] = {}
        self.contributions: dict[int, Contribution] = {}
        self.payouts: list[Event] = []
        self.general_total = 0
        self.general_spent = 0
        self.general_committed = 0
        self.total_contributed = 0
        self.total_paid = 0
        self.total_refunded = 0
        self.token_balance = 0  # the fund's token balance replayed from Transfer events
        self.unattributed = 0  # tokens that reached the fund outside contribute
        self.unattributed_transfers: list[Event] = []
        # block → (token balance, contributed - paid - refunded + unattributed) after that block
        self.balance_at: dict[int, tuple[int, int]] = {}
        self._trace_input: list[Event] = []
        self._dirty: int | None = None  # the block whose money events are being replayed
        self._tx: str | None = None  # the transaction whose money events are being replayed
        self._tx_in: list[Event] = []  # its Transfers into the fund
        self._tx_contributions: list[tuple[str, int]] = []  # its contributions: (contributor, amount)
        self.flow: list[tuple[int, int, int, int]] = []  # (block, time, in, out) per changed block
        self._flow_block: list[int] = [0, 0, 0, 0]

    # ------------------------------------------------------------------ derived state

    def state(self, p: Project, now: int) -> int:
        """The contract's ``projectState``: decisions taken at deadlines count from then."""
        cm = self.motions.get(p.cancel_motion_id)
        if cm is not None and self.derive(cm, now)[0] == PASSED:
            return CANCELLED
        m = self.motions.get(p.approval_motion_id)
        approval, approved_at = self.derive(m, now) if m is not None else (OPEN, 0)
        if approval == OPEN:
            return PROPOSED
        if approval != PASSED:
            return REJECTED
        if p.paid == p.budget:
            return COMPLETED
        if now < approved_at + self.time_lock:
            return TIME_LOCKED
        return ACTIVE

    @staticmethod
    def closed(state: int) -> bool:
        return state in (COMPLETED, REJECTED, CANCELLED)

    def passes(self, m: Motion) -> bool:
        """The deadline rule: quorum, and more approvals than rejections."""
        return m.approvals + m.rejections >= self.quorum and m.approvals > m.rejections

    def derive(self, m: Motion, now: int) -> tuple[int, int]:
        """The contract's motion state and decision time: as recorded, else from the clock."""
        if m.decided_at:
            return (PASSED if m.passed else FAILED), m.decided_at
        if self._lapsed(m, now):
            return LAPSED, 0
        deadline = m.created_at + self.voting_period
        if now < deadline:
            return OPEN, 0
        return (PASSED if self.passes(m) else FAILED), deadline

    def _lapsed(self, m: Motion, now: int) -> bool:
        """Not recorded, and its project closed before its deadline (the contract's ``_lapsed``)."""
        p = self.projects.get(m.project_id)
        if p is None:
            return False
        if m.kind != APPROVE and p.paid == p.budget:
            return True
        if m.kind == CANCEL:
            a = self.motions.get(p.approval_motion_id)
            return a is not None and self.derive(a, now)[0] == FAILED
        cm = self.motions.get(p.cancel_motion_id)
        if cm is None:
            return False
        if cm.decided_at:
            return cm.passed
        if m.kind == APPROVE or cm.id > m.id:
            return False
        return self.derive(cm, now)[0] == PASSED

    def motion_state(self, m: Motion, now: int) -> int:
        return self.derive(m, now)[0]

    def allocated(self, p: Project, now: int) -> int:
        """Approved allocations, with one passed at its deadline and not recorded yet."""
        x = self.motions.get(p.allocation_motion_id)
        if x is not None and not x.decided_at and self.derive(x, now)[0] == PASSED:
            return p.allocated + x.amount
        return p.allocated

    def eligible_left(self, m: Motion, p: Project | None) -> int:
        """FundCommittee members now who may still vote on ``m`` (the contract's ``_eligibleLeft``)."""
        conflicted = {p.proposer_id, self.reg.member_id(p.beneficiary)} if p is not None else set()
        return sum(
            1
            for mid in self.reg.members
            if self.reg.member_has_role(mid, Role.FUND_COMMITTEE) and mid not in conflicted and mid not in m.voters
        )

    def spent(self, c: Contribution) -> int:
        pointer = self.general_spent if c.project_id == 0 else self.projects[c.project_id].earmarked_spent
        if pointer <= c.queued_before:
            return 0
        return min(pointer - c.queued_before, c.amount)

    def refundable(self, c: Contribution, now: int) -> int:
        if c.project_id == 0 or c.refunded or not self.closed(self.state(self.projects[c.project_id], now)):
            return 0
        return c.amount - self.spent(c)

    def pool_free(self) -> int:
        return self.general_total - self.general_spent - self.general_committed

    # ------------------------------------------------------------------ replay

    def on_token_event(self, e: Event) -> None:
        if e.name != "Transfer":
            return
        frm, to, value = e.args["from"].lower(), e.args["to"].lower(), int(e.args["value"])
        if frm == to or self.address not in (frm, to):
            return
        self._touch(e)  # first: it closes the previous transaction and block
        if to == self.address:
            self.token_balance += value
            self._tx_in.append(e)
        else:
            self.token_balance -= value

    def _touch(self, e: Event) -> None:
        """A money event of ``e``'s transaction and block: close the previous ones first."""
        if self._tx is not None and self._tx != e.tx_hash:
            self._settle_tx()
        if self._dirty is not None and self._dirty != e.block_number:
            self.end_block()
        if self._dirty is None:
            self._flow_block = [e.block_number, e.block_time, 0, 0]
        self._dirty = e.block_number
        self._tx = e.tx_hash

    def _settle_tx(self) -> None:
        """Match the closed transaction's contributions with its transfers into the fund;
        each transfer left over is unattributed money (one warning each)."""
        inbound, self._tx_in = self._tx_in, []
        claims, self._tx_contributions = self._tx_contributions, []
        self._tx = None
        self.out.check("fund.unattributed-transfer", len(inbound))
        for contributor, amount in claims:
            match = next(
                (t for t in inbound if t.args["from"].lower() == contributor and int(t.args["value"]) == amount),
                None,
            )
            if match is not None:
                inbound.remove(match)
        for t in inbound:
            value = int(t.args["value"])
            self.unattributed += value
            self.unattributed_transfers.append(t)
            self.out.add(
                "fund.unattributed-transfer",
                f"{value} tokens reached the fund from {t.args['from']} outside contribute "
                f"(transaction {t.tx_hash}, block {t.block_number}): unattributed money",
                severity=Severity.WARNING,
                event=t,
                amount=value,
                sender=t.args["from"],
            )

    def end_block(self) -> None:
        """Check the balance invariant at the block whose changes were just replayed."""
        if self._tx is not None:
            self._settle_tx()
        if self._dirty is None:
            return
        block = self._dirty
        self._dirty = None
        expected = self.total_contributed - self.total_paid - self.total_refunded + self.unattributed
        self.balance_at[block] = (self.token_balance, expected)
        self.flow.append((block, self._flow_block[1], self._flow_block[2], self._flow_block[3]))
        self.out.expect(
            "fund.balance-invariant",
            self.token_balance == expected,
            f"after block {block} the fund holds {self.token_balance}; contributions - payouts - refunds "
            f"+ unattributed transfers = {expected}",
            contract=self.contract,
            block=block,
            token_balance=self.token_balance,
            expected=expected,
            contributed=self.total_contributed,
            paid=self.total_paid,
            refunded=self.total_refunded,
            unattributed=self.unattributed,
        )

    def on_event(self, e: Event) -> None:
        a = e.args
        n = e.name
        if n in TRACE_EVENTS:
            self._trace_input.append(e)
        if n in MONEY_EVENTS:
            self._touch(e)
        if n == "FundDeployed":
            self.token, self.registry_address = a["token"], a["registry"]
            self.quorum, self.time_lock = int(a["quorum"]), int(a["timeLock"])
            self.voting_period = int(a.get("votingPeriod", 0))
        elif n == "ContributionReceived":
            self._contribution(e)
        elif n == "ProjectProposed":
            pid = int(e.args["projectId"])
            self._seq("project", pid, self.projects, e)
            self.projects[pid] = Project(
                pid,
                hex_text(a["titleHash"]),
                a["proposer"],
                int(a["proposerId"]),
                a["beneficiary"],
                int(a["budget"]),
                int(a["approvalMotionId"]),
                int(a["milestoneCount"]),
            )
        elif n == "MilestoneDefined":
            p = self._project(e)
            if p is not None:
                self.out.expect(
                    "state.replay-inconsistent",
                    int(a["index"]) == len(p.milestones),
                    f"milestone {a['index']} of project {p.id} out of order",
                    event=e,
                )
                p.milestones.append(Milestone(int(a["amount"]), hex_text(a["descriptionHash"])))
        elif n == "MotionProposed":
            mid = int(e.args["motionId"])
            self._seq("motion", mid, self.motions, e)
            motion = Motion(
                mid, int(a["kind"]), int(a["projectId"]), int(a["amount"]), int(a["proposerId"]), e.block_time
            )
            self.motions[mid] = motion
            p = self.projects.get(motion.project_id)
            if p is not None and motion.kind == ALLOCATE:
                # Reserved in the pool from the proposal until decided (released if it fails or lapses).
                self.out.expect(
                    "fund.allocation-exceeds-pool",
                    motion.amount <= self.pool_free(),
                    f"allocation motion {mid} reserves {motion.amount}; the free pool is {self.pool_free()}",
                    event=e,
                    free=self.pool_free(),
                )
                self.general_committed += motion.amount
                p.allocation_motion_id = mid
            elif p is not None and motion.kind == CANCEL:
                p.cancel_motion_id = mid
        elif n == "VoteCast":
            self._vote(e)
        elif n == "MotionDecided":
            self._decided(e)
        elif n == "ProjectApproved":
            p = self._project(e)
            m = self.motions.get(p.approval_motion_id) if p else None
            self.out.expect(
                "state.replay-inconsistent",
                m is not None and int(a["unlocksAt"]) == m.decided_at + self.time_lock,
                "ProjectApproved's unlocksAt differs from decision time + time lock",
                event=e,
            )
        elif n == "ProjectCancelled":
            p = self._project(e)
            if p is not None:
                self._unspent_check(p, e)
        elif n == "ProjectCompleted":
            p = self._project(e)
            if p is not None:
                self.out.expect(
                    "state.replay-inconsistent",
                    p.paid == p.budget,
                    f"project {p.id} completed with {p.paid} of {p.budget} paid",
                    event=e,
                )
                self._unspent_check(p, e)
        elif n == "AllocationApproved":
            p = self._project(e)
            amount = int(a["amount"])
            m = self.motions.get(int(e.args["motionId"]))
            self.out.expect(
                "fund.vote-invalid",
                m is not None
                and m.passed
                and m.by_rule
                and m.kind == ALLOCATE
                and m.amount == amount
                and m.valid_votes >= self.quorum
                and m.approvals > m.rejections,
                f"allocation {a['motionId']} without an allocation motion passed by the decision rule",
                event=e,
            )
            if p is not None:
                p.allocated += amount  # the pool reserved it when the motion was proposed
        elif n == "ReservationReleased":
            m = self.motions.get(int(e.args["motionId"]))
            p = self.projects.get(m.project_id) if m is not None else None
            released = (
                m is not None
                and p is not None
                and m.kind == ALLOCATE
                and m.amount == int(a["amount"])
                and ((bool(m.decided_at) and not m.passed) or (not m.decided_at and p.paid == p.budget)
                     or (not m.decided_at and self._closing(p)))
            )
            self.out.expect(
                "state.replay-inconsistent",
                released,
                f"reservation of motion {a['motionId']} released, but it neither failed nor lapsed",
                event=e,
            )
            self.general_committed -= int(a["amount"])
        elif n == "AllocationReleased":
            p = self._project(e)
            amount = int(a["amount"])
            if p is not None:
                self.out.expect(
                    "state.replay-inconsistent",
                    amount == p.allocated - p.allocated_spent,
                    f"released {amount}, unspent allocation is {p.allocated - p.allocated_spent}",
                    event=e,
                )
                p.allocation_released = amount
            self.general_committed -= amount
        elif n == "PayoutMade":
            self._payout(e)
        elif n == "RefundClaimed":
            self._refund(e)

    def _seq(self, kind: str, new_id: int, have: dict[int, Any], e: Event) -> None:
        self.out.expect(
            "state.replay-inconsistent", new_id == len(have) + 1, f"{kind} id {new_id} out of sequence", event=e
        )

    def _project(self, e: Event) -> Project | None:
        p = self.projects.get(int(e.args["projectId"]))
        self.out.expect(
            "state.replay-inconsistent", p is not None, f"{e.name} for unknown project {e.args['projectId']}", event=e
        )
        return p

    def _unspent_check(self, p: Project, e: Event) -> None:
        self.out.expect(
            "state.replay-inconsistent",
            int(e.args["earmarkedUnspent"]) == p.earmarked - p.earmarked_spent,
            f"project {p.id}: earmarkedUnspent differs from the replay",
            event=e,
        )

    def _contribution(self, e: Event) -> None:
        a = e.args
        rid = int(e.args["receiptId"])
        self._seq("receipt", rid, self.contributions, e)
        amount, pid = int(a["amount"]), int(a["projectId"])
        if pid == 0:
            queued = self.general_total
            self.general_total += amount
        else:
            p = self.projects.get(pid)
            if p is None or self.state(p, e.block_time) not in (PROPOSED, TIME_LOCKED, ACTIVE):
                self.out.add(
                    "state.replay-inconsistent",
                    f"contribution {rid} to project {pid}, which is not open for funding",
                    event=e,
                )
            queued = p.earmarked if p else 0
            if p is not None:
                p.earmarked += amount
        self.contributions[rid] = Contribution(
            rid,
            a["contributor"],
            int(a["memberId"]),
            int(a["kind"]),
            pid,
            amount,
            hex_text(a["memoHash"]),
            e.block_time,
            queued,
            e,
        )
        self._tx_contributions.append((a["contributor"].lower(), amount))
        self.total_contributed += amount
        self._flow_block[2] += amount

    def _vote(self, e: Event) -> None:
        a = e.args
        m = self.motions.get(int(e.args["motionId"]))
        if not self.out.expect(
            "state.replay-inconsistent", m is not None, f"vote on unknown motion {a['motionId']}", event=e
        ):
            return
        assert m is not None
        member = int(a["memberId"])
        p = self.projects.get(m.project_id)
        problems = []
        if m.decided_at or self.motion_state(m, e.block_time) != 0:
            problems.append("the motion was not open")
        if not self.reg.has_role(a["voter"], Role.FUND_COMMITTEE) or self.reg.member_id(a["voter"]) != member:
            problems.append(f"{a['voter']} is not a FundCommittee account of member {member}")
        if member in m.voters:
            problems.append(f"member {member} voted twice")
        if p is not None and member == p.proposer_id:
            problems.append("the project's proposer voted")
        if p is not None and member == self.reg.member_id(p.beneficiary):
            problems.append("the project's beneficiary voted")
        self.out.expect(
            "fund.vote-invalid",
            not problems,
            f"vote on motion {m.id}: {'; '.join(problems)}",
            event=e,
            motion=m.id,
            project=m.project_id,
        )
        if not problems:
            m.valid_votes += 1
        m.voters.add(member)
        if a["support"]:
            m.approvals += 1
        else:
            m.rejections += 1
        m.last_vote_tx, m.left_after_vote = e.tx_hash, self.eligible_left(m, p)
        self.out.expect(
            "state.replay-inconsistent",
            (m.approvals, m.rejections) == (int(a["approvals"]), int(a["rejections"])),
            f"vote tallies of motion {m.id} differ from the replay",
            event=e,
        )

    def _decided(self, e: Event) -> None:
        """A recorded decision: by the vote of this transaction only if that vote made the
        outcome certain, else at (after) the deadline, with the deadline's outcome."""
        a = e.args
        m = self.motions.get(int(e.args["motionId"]))
        if not self.out.expect(
            "state.replay-inconsistent", m is not None, f"unknown motion {a['motionId']} decided", event=e
        ):
            return
        assert m is not None
        passed = bool(a["passed"])
        decided_at = int(a.get("decidedAt", e.block_time))
        deadline = m.created_at + self.voting_period
        tally = f"{m.approvals} for, {m.rejections} against, {m.valid_votes} valid, quorum {self.quorum}"
        if e.block_time < deadline:
            left = m.left_after_vote
            votes = m.approvals + m.rejections
            certain = (m.last_vote_tx == e.tx_hash and votes >= self.quorum
                       and (m.approvals > m.rejections + left if passed else m.approvals + left <= m.rejections))
            by_rule = certain and decided_at == e.block_time
            why = (f"motion {m.id} decided ({'passed' if passed else 'failed'}) before its deadline {deadline} "
                   f"while {left} eligible voter(s) could still change it ({tally})")
        else:
            by_rule = decided_at == deadline and passed == self.passes(m)
            why = (f"motion {m.id} recorded as decided at {decided_at} ({'passed' if passed else 'failed'}); "
                   f"at its deadline {deadline} the rule gives {'passed' if self.passes(m) else 'failed'} ({tally})")
        if passed:
            by_rule = by_rule and m.valid_votes >= self.quorum
        self.out.expect(
            "fund.motion-decision",
            by_rule,
            why,
            event=e,
            motion=m.id,
            deadline=deadline,
            decided_at=decided_at,
            quorum=self.quorum,
            valid_votes=m.valid_votes,
            eligible_left=m.left_after_vote if e.block_time < deadline else 0,
        )
        m.decided_at, m.passed, m.by_rule = decided_at, passed, by_rule

    def _closing(self, p: Project) -> bool:
        """Whether a cancellation of ``p`` was recorded as passed (its release follows in the same transaction)."""
        cm = self.motions.get(p.cancel_motion_id)
        return cm is not None and bool(cm.decided_at) and cm.passed

    def _payout(self, e: Event) -> None:
        a = e.args
        self.payouts.append(e)
        self.out.expect(
            "state.replay-inconsistent",
            int(e.args["payoutId"]) == len(self.payouts),
            f"payout id {a['payoutId']} out of sequence",
            event=e,
        )
        amount, index = int(a["amount"]), int(a["milestoneIndex"])
        p = self.projects.get(int(e.args["projectId"]))
        if p is None:
            self.out.add(
                "fund.payout-without-quorum", f"payout {a['payoutId']} to unknown project {a['projectId']}", event=e
            )
            return
        m = self.motions.get(p.approval_motion_id)
        state = self.state(p, e.block_time)
        rec = {"project": p.id, "milestone": index, "amount": amount, "approval_motion": p.approval_motion_id}
        approved = (
            m is not None
            and m.decided_at > 0
            and m.passed
            and m.by_rule
            and m.valid_votes >= self.quorum
            and m.approvals > m.rejections
        )
        self.out.expect(
            "fund.payout-without-quorum",
            approved,
            f"payout {a['payoutId']} of {amount} to project {p.id}, whose approval motion "
            + ("was never decided" if not (m and m.decided_at)
               else "was not passed by the decision rule" if not m.by_rule
               else "did not pass with quorum"),
            event=e,
            **rec,
            votes=(m.valid_votes if m else 0),
            quorum=self.quorum,
        )
        if approved:
            assert m is not None
            unlocks = m.decided_at + self.time_lock
            self.out.expect(
                "fund.payout-time-locked",
                e.block_time >= unlocks,
                f"payout {a['payoutId']} at {e.block_time}, before the time lock ends at {unlocks}",
                event=e,
                **rec,
                unlocks_at=unlocks,
                block_time=e.block_time,
            )
        self.out.expect(
            "fund.payout-project-closed",
            not self.closed(state),
            f"payout {a['payoutId']} to project {p.id} in state "
            f"{['Proposed', 'TimeLocked', 'Active', 'Completed', 'Rejected', 'Cancelled'][state]}",
            event=e,
            **rec,
        )
        ms = p.milestones[index] if 0 <= index < len(p.milestones) else None
        remaining = ms.amount - ms.paid if ms else 0
        self.out.expect(
            "fund.payout-exceeds-milestone",
            ms is not None and amount <= remaining,
            f"payout {a['payoutId']} of {amount} exceeds milestone {index}'s remaining {remaining}",
            event=e,
            **rec,
            remaining=remaining,
        )
        earmark_left = p.earmarked - p.earmarked_spent
        available = earmark_left + (p.allocated - p.allocated_spent)
        self.out.expect(
            "fund.payout-exceeds-available",
            amount <= available,
            f"payout {a['payoutId']} of {amount} exceeds project {p.id}'s available {available}",
            event=e,
            **rec,
            available=available,
        )
        treasurer = int(a["treasurerId"])
        self.out.expect(
            "fund.payout-treasurer",
            self.reg.member_has_role(treasurer, Role.TREASURER)
            and treasurer != self.reg.member_id(p.beneficiary)
            and a["beneficiary"].lower() == p.beneficiary.lower(),
            f"payout {a['payoutId']} by member {treasurer}, not a Treasurer independent of the beneficiary "
            f"(or paid to another address than the project's beneficiary)",
            event=e,
            **rec,
            treasurer=treasurer,
        )
        from_earmarked = min(amount, earmark_left)
        from_general = amount - from_earmarked
        self.out.expect(
            "fund.trace-mismatch",
            (int(a["fromEarmarked"]), int(a["fromGeneral"])) == (from_earmarked, from_general),
            f"payout {a['payoutId']} records {a['fromEarmarked']} earmarked + {a['fromGeneral']} general; "
            f"the tracing rule gives {from_earmarked} + {from_general}",
            event=e,
            **rec,
        )
        if ms is not None:
            ms.paid += amount
        p.paid += amount
        p.earmarked_spent += from_earmarked
        p.allocated_spent += from_general
        self.general_spent += from_general
        self.general_committed -= from_general
        self.total_paid += amount
        self._flow_block[3] += amount

    def _refund(self, e: Event) -> None:
        a = e.args
        rid, amount = int(e.args["receiptId"]), int(a["amount"])
        c = self.contributions.get(rid)
        owed = 0
        why = ""
        if c is None:
            why = "no such contribution"
        elif c.project_id == 0:
            why = "general-pool contributions are not refundable"
        elif c.refunded:
            why = "already refunded"
        elif not self.closed(self.state(self.projects[c.project_id], e.block_time)):
            why = "its project is still open"
        else:
            owed = c.amount - self.spent(c)
        self.out.expect(
            "fund.refund-excess",
            amount <= owed,
            f"refund of {amount} for receipt {rid}; owed {owed}" + (f" ({why})" if why else ""),
            event=e,
            receipt=rid,
            amount=amount,
            owed=owed,
        )
        if c is not None:
            self.out.expect(
                "fund.trace-mismatch",
                amount >= owed,
                f"refund of receipt {rid} is {amount}, less than owed {owed}",
                event=e,
            )
            c.refunded = True
            if c.project_id in self.projects:
                self.projects[c.project_id].refunded += amount
        self.total_refunded += amount
        self._flow_block[3] += amount

    def finish(self) -> None:
        self.end_block()
        for p in self.projects.values():
            self.out.expect(
                "state.replay-inconsistent",
                len(p.milestones) == p.milestone_count and sum(m.amount for m in p.milestones) == p.budget,
                f"project {p.id}: milestones do not add up to its budget",
                contract=self.contract,
                project=p.id,
            )
        self.out.check("fund.trace-mismatch")
        try:
            trace = trace_fund(self._trace_input)
        except IntegrityError as exc:
            self.out.add("fund.trace-mismatch", f"the fund-flow trace breaks: {exc}", contract=self.contract)
            return
        expected = self.total_contributed - self.total_paid - self.total_refunded
        sums_ok = (trace.total_contributed, trace.total_paid, trace.total_refunded, trace.balance) == (
            self.total_contributed,
            self.total_paid,
            self.total_refunded,
            expected,
        )
        bad = [
            c.receipt_id
            for c in trace.contributions.values()
            if c.amount != c.spent + c.refunded + c.unspent
            or c.spent != sum(f.amount for f in c.fundings)
            or (c.receipt_id in self.contributions and c.spent != self.spent(self.contributions[c.receipt_id]))
        ]
        bad_payouts = [p.payout_id for p in trace.payouts.values() if sum(x for _, x in p.sources) != p.amount]
        self.out.expect(
            "fund.trace-mismatch",
            sums_ok and not bad and not bad_payouts,
            "fund-flow tracing sums do not match",
            contract=self.contract,
            receipts=bad,
            payouts=bad_payouts,
            trace={
                "contributed": trace.total_contributed,
                "paid": trace.total_paid,
                "refunded": trace.total_refunded,
                "balance": trace.balance,
            },
            replay={
                "contributed": self.total_contributed,
                "paid": self.total_paid,
                "refunded": self.total_refunded,
                "balance": expected,
            },
        )

    # ------------------------------------------------------------------ state

    def checks(self, head_time: int) -> Checks:
        c = Checks(self.contract)
        c.expect("quorum", [], self.quorum, "quorum")
        c.expect("timeLock", [], self.time_lock, "timeLock")
        if self.token:
            c.expect("token", [], self.token, "token")
        if self.registry_address:
            c.expect("registry", [], self.registry_address, "registry")
        c.expect("totalContributed", [], self.total_contributed, "totalContributed")
        c.expect("totalPaidOut", [], self.total_paid, "totalPaidOut")
        c.expect("totalRefunded", [], self.total_refunded, "totalRefunded")
        c.expect(
            "generalPool",
            [],
            [self.general_total, self.general_spent, self.general_committed, self.pool_free()],
            "generalPool",
            pick=list,
        )
        c.expect("projectCount", [], len(self.projects), "projectCount")
        c.expect("contributionCount", [], len(self.contributions), "contributionCount")
        c.expect("motionCount", [], len(self.motions), "motionCount")
        c.expect("payoutCount", [], len(self.payouts), "payoutCount")
        for p in self.projects.values():
            m = self.motions.get(p.approval_motion_id)
            state = self.state(p, head_time)
            approval, approved_at = self.derive(m, head_time) if m is not None else (OPEN, 0)
            approved = approval == PASSED
            allocated = self.allocated(p, head_time)
            released, cancelled_at = p.allocation_released, 0
            cm = self.motions.get(p.cancel_motion_id)
            if state == CANCELLED and cm is not None:
                cancelled_at = self.derive(cm, head_time)[1]
                if not cm.decided_at:  # cancelled at its deadline, not recorded yet
                    released = allocated - p.allocated_spent
            c.expect(
                "getProject",
                [p.id],
                {
                    "id": p.id,
                    "titleHash": p.title_hash,
                    "proposer": p.proposer,
                    "proposerId": p.proposer_id,
                    "beneficiary": p.beneficiary,
                    "budget": p.budget,
                    "approvalMotionId": p.approval_motion_id,
                    "approvedAt": approved_at if approved else 0,
                    "unlocksAt": approved_at + self.time_lock if approved else 0,
                    "cancelledAt": cancelled_at,
                    "milestoneCount": len(p.milestones),
                    "paid": p.paid,
                    "earmarked": p.earmarked,
                    "earmarkedSpent": p.earmarked_spent,
                    "allocated": allocated,
                    "allocatedSpent": p.allocated_spent,
                    "allocationReleased": released,
                    "refunded": p.refunded,
                    "available": 0
                    if self.closed(state)
                    else (p.earmarked - p.earmarked_spent) + (allocated - p.allocated_spent),
                    "state": state,
                },
                f"project {p.id}",
            )
            for i, ms in enumerate(p.milestones):
                c.expect(
                    "getMilestone",
                    [p.id, i],
                    {"amount": ms.amount, "paid": ms.paid, "descriptionHash": ms.description_hash},
                    f"milestone {p.id}/{i}",
                )
        for k in self.contributions.values():
            c.expect(
                "getContribution",
                [k.id],
                {
                    "receiptId": k.id,
                    "contributor": k.contributor,
                    "memberId": k.member_id,
                    "kind": k.kind,
                    "projectId": k.project_id,
                    "amount": k.amount,
                    "memoHash": k.memo_hash,
                    "contributedAt": k.contributed_at,
                    "spent": self.spent(k),
                    "refunded": k.refunded,
                    "refundable": self.refundable(k, head_time),
                },
                f"contribution {k.id}",
            )
        for m in self.motions.values():
            c.expect(
                "getMotion",
                [m.id],
                {
                    "id": m.id,
                    "kind": m.kind,
                    "projectId": m.project_id,
                    "amount": m.amount,
                    "proposerId": m.proposer_id,
                    "createdAt": m.created_at,
                    "deadline": m.created_at + self.voting_period,
                    "decidedAt": self.derive(m, head_time)[1],
                    "approvals": m.approvals,
                    "rejections": m.rejections,
                    "state": self.motion_state(m, head_time),
                },
                f"motion {m.id}",
            )
        return c
