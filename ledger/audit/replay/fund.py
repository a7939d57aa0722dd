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

from collections.abc import Callable

from ledger.abi.records import view_struct
from ledger.audit.collect import Collector
from ledger.audit.findings import Severity
from ledger.audit.replay.base import Checks
from ledger.audit.replay.fund_rules import FundRules
from ledger.audit.replay.membership import MembershipReplay
from ledger.errors import IntegrityError
from ledger.events import Event
from ledger.fund.model import ProjectRecord
from ledger.fund.trace import trace_of
from ledger.fund.types import Motion, MotionKind, Project

MONEY_EVENTS = {"ContributionReceived", "PayoutMade", "RefundClaimed"}


class FundReplay(FundRules):
    """The fund's reducer (:attr:`model`) over the chain's events, the rules checked on each
    event before it is folded, the money matched with the token's transfers."""

    def __init__(self, out: Collector, registry: MembershipReplay, address: str) -> None:
        super().__init__(out, registry)
        self.address = address.lower()
        self.payouts: list[Event] = []
        self.token_balance = 0  # the fund's token balance replayed from Transfer events
        self.unattributed = 0  # tokens that reached the fund outside contribute
        self.unattributed_transfers: list[Event] = []
        # block → (token balance, contributed - paid - refunded + unattributed) after that block
        self.balance_at: dict[int, tuple[int, int]] = {}
        self._dirty: int | None = None  # the block whose money events are being replayed
        self._tx: str | None = None  # the transaction whose money events are being replayed
        self._tx_in: list[Event] = []  # its Transfers into the fund
        self._tx_contributions: list[tuple[str, int]] = []  # its contributions: (contributor, amount)
        self.flow: list[tuple[int, int, int, int]] = []  # (block, time, in, out) per changed block
        self._flow_block: list[int] = [0, 0, 0, 0]
        #: the checks run before an event is folded, by event name
        self._before: dict[str, Callable[[Event], None]] = {
            "ContributionReceived": self._before_contribution_received,
            "ProjectProposed": self._before_project_proposed,
            "MilestoneDefined": self._before_milestone_defined,
            "MotionProposed": self._before_motion_proposed,
            "MotionDecided": self._before_motion_decided,
            "ProjectApproved": self._before_project_approved,
            "ProjectCancelled": self._before_project_cancelled,
            "ProjectCompleted": self._before_project_completed,
            "AllocationApproved": self._before_allocation_approved,
            "ReservationReleased": self._before_reservation_released,
            "AllocationReleased": self._before_allocation_released,
            "PayoutMade": self._before_payout_made,
            "RefundClaimed": self._before_refund_claimed,
        }

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
                severity=Severity.WARNING, event=t, amount=value, sender=t.args["from"],
            )

    def end_block(self) -> None:
        """Check the balance invariant at the block whose changes were just replayed."""
        if self._tx is not None:
            self._settle_tx()
        if self._dirty is None:
            return
        block = self._dirty
        self._dirty = None
        expected = self.model.total_contributed - self.model.total_paid - self.model.total_refunded + self.unattributed
        self.balance_at[block] = (self.token_balance, expected)
        self.flow.append((block, self._flow_block[1], self._flow_block[2], self._flow_block[3]))
        self.out.expect(
            "fund.balance-invariant",
            self.token_balance == expected,
            f"after block {block} the fund holds {self.token_balance}; contributions - payouts - refunds "
            f"+ unattributed transfers = {expected}",
            contract=self.contract, block=block, token_balance=self.token_balance, expected=expected,
            contributed=self.model.total_contributed, paid=self.model.total_paid, refunded=self.model.total_refunded,
            unattributed=self.unattributed,
        )

    def on_event(self, e: Event) -> None:
        n = e.name
        if n in MONEY_EVENTS:
            self._touch(e)
        check = self._before.get(n)
        if check is not None:
            check(e)
        elif n == "VoteCast":
            if self.check_vote(e):
                self.model.apply(e)
                self.after_vote(e)
            return
        self.model.apply(e)
        a = e.args
        if n == "ContributionReceived":
            self._tx_contributions.append((a["contributor"].lower(), int(a["amount"])))
            self._flow_block[2] += int(a["amount"])
        elif (n == "PayoutMade" and int(a["projectId"]) in self.model.projects) or n == "RefundClaimed":
            self._flow_block[3] += int(a["amount"])

    # Checks before an event is folded, by event name.

    def _before_contribution_received(self, e: Event) -> None:
        self.check_contribution(e)

    def _before_project_proposed(self, e: Event) -> None:
        self.check_sequence("project", int(e.args["projectId"]), len(self.model.projects), e)

    def _before_milestone_defined(self, e: Event) -> None:
        p = self._project(e)
        if p is not None:
            self.out.expect(
                "state.replay-inconsistent",
                int(e.args["index"]) == len(p.milestones),
                f"milestone {e.args['index']} of project {p.id} out of order",
                event=e,
            )

    def _before_motion_proposed(self, e: Event) -> None:
        a = e.args
        mid = int(a["motionId"])
        self.check_sequence("motion", mid, len(self.model.motions), e)
        if int(a["projectId"]) in self.model.projects and int(a["kind"]) == MotionKind.ALLOCATE_FROM_POOL:
            # Reserved in the pool from the proposal until decided (released if it fails or lapses).
            free = self.model.pool_free()
            self.out.expect(
                "fund.allocation-exceeds-pool",
                int(a["amount"]) <= free,
                f"allocation motion {mid} reserves {int(a['amount'])}; the free pool is {free}",
                event=e,
                free=free,
            )

    def _before_motion_decided(self, e: Event) -> None:
        self.check_decided(e)

    def _before_project_approved(self, e: Event) -> None:
        p = self._project(e)
        m = self.model.motions.get(p.approval_motion_id) if p else None
        self.out.expect(
            "state.replay-inconsistent",
            m is not None and int(e.args["unlocksAt"]) == m.decided_at + self.model.time_lock,
            "ProjectApproved's unlocksAt differs from decision time + time lock",
            event=e,
        )

    def _before_project_cancelled(self, e: Event) -> None:
        p = self._project(e)
        if p is not None:
            self._unspent_check(p, e)

    def _before_project_completed(self, e: Event) -> None:
        p = self._project(e)
        if p is not None:
            self.out.expect(
                "state.replay-inconsistent",
                p.paid == p.budget,
                f"project {p.id} completed with {p.paid} of {p.budget} paid",
                event=e,
            )
            self._unspent_check(p, e)

    def _before_allocation_approved(self, e: Event) -> None:
        a = e.args
        self._project(e)
        m = self.model.motions.get(int(a["motionId"]))
        self.out.expect(
            "fund.vote-invalid",
            m is not None
            and self.passed_by_rule(m)
            and m.kind in (MotionKind.ALLOCATE_FROM_POOL, MotionKind.APPROVE_PROJECT)
            and m.amount == int(a["amount"]),
            f"allocation {a['motionId']} without a motion asking it passed by the decision rule",
            event=e,
        )

    def _before_reservation_released(self, e: Event) -> None:
        a = e.args
        m = self.model.motions.get(int(a["motionId"]))
        p = self.model.projects.get(m.project_id) if m is not None else None
        released = (
            m is not None
            and p is not None
            and m.amount == int(a["amount"])
            and (
                (m.kind == MotionKind.ALLOCATE_FROM_POOL
                 and ((bool(m.decided_at) and not m.passed) or (not m.decided_at and p.paid == p.budget)
                      or (not m.decided_at and self.model.closing(p))))
                # a proposal's allocation held by its approval's votes, the approval lapsing
                or (m.kind == MotionKind.APPROVE_PROJECT and not m.decided_at and self.model.closing(p)
                    and self.model.passes(m))
            )
        )
        self.out.expect(
            "state.replay-inconsistent",
            released,
            f"reservation of motion {a['motionId']} released, but it neither failed nor lapsed",
            event=e,
        )

    def _before_allocation_released(self, e: Event) -> None:
        p = self._project(e)
        amount = int(e.args["amount"])
        if p is not None:
            self.out.expect(
                "state.replay-inconsistent",
                amount == p.allocated - p.allocated_spent,
                f"released {amount}, unspent allocation is {p.allocated - p.allocated_spent}",
                event=e,
            )

    def _before_payout_made(self, e: Event) -> None:
        self.payouts.append(e)
        self.out.expect(
            "state.replay-inconsistent",
            int(e.args["payoutId"]) == len(self.payouts),
            f"payout id {e.args['payoutId']} out of sequence",
            event=e,
        )
        self.check_payout(e)

    def _before_refund_claimed(self, e: Event) -> None:
        self.check_refund(e)

    def _project(self, e: Event) -> ProjectRecord | None:
        p = self.model.projects.get(int(e.args["projectId"]))
        self.out.expect(
            "state.replay-inconsistent", p is not None, f"{e.name} for unknown project {e.args['projectId']}", event=e
        )
        return p

    def _unspent_check(self, p: ProjectRecord, e: Event) -> None:
        self.out.expect(
            "state.replay-inconsistent",
            int(e.args["earmarkedUnspent"]) == p.earmarked - p.earmarked_spent,
            f"project {p.id}: earmarkedUnspent differs from the replay",
            event=e,
        )

    def finish(self, head_time: int) -> None:
        """The checks over the whole history: milestones add up, and the tracing rule's view of
        the reducer (:func:`~ledger.fund.trace.trace_of` at ``head_time``) attributes every
        payout and balances; the independent check of the reducer is :meth:`checks` against
        the contract's views."""
        self.end_block()
        for p in self.model.projects.values():
            self.out.expect(
                "state.replay-inconsistent",
                len(p.milestones) == p.milestone_count and sum(m.amount for m in p.milestones) == p.budget,
                f"project {p.id}: milestones do not add up to its budget",
                contract=self.contract,
                project=p.id,
            )
        self.out.check("fund.trace-mismatch")
        try:
            trace = trace_of(self.model, head_time)
        except IntegrityError as exc:
            self.out.add("fund.trace-mismatch", f"the fund-flow trace breaks: {exc}", contract=self.contract)
            return
        expected = self.model.total_contributed - self.model.total_paid - self.model.total_refunded
        sums_ok = (trace.total_contributed, trace.total_paid, trace.total_refunded, trace.balance) == (
            self.model.total_contributed,
            self.model.total_paid,
            self.model.total_refunded,
            expected,
        )
        folded = self.model.contributions
        bad = [
            c.receipt_id
            for c in trace.contributions.values()
            if c.amount != c.spent + c.refunded + c.unspent
            or c.spent != sum(f.amount for f in c.fundings)
            or (c.receipt_id in folded and c.spent != self.model.spent(folded[c.receipt_id]))
        ]
        bad_payouts = [p.payout_id for p in trace.payouts.values() if sum(x for _, x in p.sources) != p.amount]
        self.out.expect(
            "fund.trace-mismatch",
            sums_ok and not bad and not bad_payouts,
            "fund-flow tracing sums do not match",
            contract=self.contract, receipts=bad, payouts=bad_payouts,
            trace={
                "contributed": trace.total_contributed, "paid": trace.total_paid, "refunded": trace.total_refunded,
                "balance": trace.balance,
            },
            replay={
                "contributed": self.model.total_contributed, "paid": self.model.total_paid,
                "refunded": self.model.total_refunded, "balance": expected,
            },
        )

    # ------------------------------------------------------------------ state

    def checks(self, head_time: int) -> Checks:
        """The contract's views, and what the reducer says they answer at ``head_time``."""
        model = self.model
        c = Checks(self.contract)
        c.expect("quorum", [], model.quorum, "quorum")
        c.expect("timeLock", [], model.time_lock, "timeLock")
        if model.token:
            c.expect("token", [], model.token, "token")
        if model.registry:
            c.expect("registry", [], model.registry, "registry")
        c.expect("totalContributed", [], model.total_contributed, "totalContributed")
        c.expect("totalPaidOut", [], model.total_paid, "totalPaidOut")
        c.expect("totalRefunded", [], model.total_refunded, "totalRefunded")
        pool = model.pool()
        c.expect("generalPool", [], [pool.total, pool.spent, pool.committed, pool.free], "generalPool", pick=list)
        c.expect("projectCount", [], len(model.projects), "projectCount")
        c.expect("contributionCount", [], len(model.contributions), "contributionCount")
        c.expect("motionCount", [], len(model.motions), "motionCount")
        c.expect("payoutCount", [], len(self.payouts), "payoutCount")
        for record in model.projects.values():
            p = model.project(record, head_time)
            c.expect("getProject", [p.id], view_struct(Project, p), f"project {p.id}")
            for ms in model.milestones(record):
                c.expect(
                    "getMilestone",
                    [p.id, ms.index],
                    {"amount": ms.amount, "paid": ms.paid, "descriptionHash": ms.description_hash},
                    f"milestone {p.id}/{ms.index}",
                )
        for k in model.contributions.values():  # (the many rows: no frozen view built in between)
            c.expect(
                "getContribution",
                [k.id],
                {
                    "receiptId": k.id, "contributor": k.contributor, "memberId": k.member_id, "kind": int(k.kind),
                    "projectId": k.project_id, "amount": k.amount, "memoHash": k.memo_hash,
                    "contributedAt": k.contributed_at, "spent": model.spent(k), "refunded": k.refunded,
                    "refundable": model.refundable(k, head_time),
                },
                f"contribution {k.id}",
            )
        for record_m in model.motions.values():
            m = model.motion(record_m, head_time)
            c.expect("getMotion", [m.id], view_struct(Motion, m), f"motion {m.id}")
        return c
