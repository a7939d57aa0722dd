"""The auditor's fund rules checked on each event before the reducer folds it: votes, decisions,
payouts (quorum, time lock, milestone and available-money bounds, the treasurer) and refunds.

The state itself is :class:`ledger.fund.model.FundModel`'s; what only the auditor keeps per
motion (the votes it accepts, whether the recorded decision followed the rule) is
:class:`MotionAudit`. :class:`~ledger.audit.replay.fund.FundReplay` runs these checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.audit.collect import Collector
from ledger.audit.replay.membership import MembershipReplay
from ledger.events import Event
from ledger.fund.model import FundModel, MotionRecord, ProjectRecord
from ledger.fund.types import CLOSED_STATES, MotionKind, MotionState, ProjectState
from ledger.membership import Role

STATE_NAMES = ("Proposed", "TimeLocked", "Active", "Completed", "Rejected", "Cancelled")


@dataclass
class MotionAudit:
    """What the auditor keeps of a motion beyond its state."""

    valid_votes: int = 0  # votes the auditor accepts (committee member, once, not conflicted)
    by_rule: bool = False  # its recorded decision followed the decision rule
    last_vote_tx: str = ""  # the transaction of the latest vote, and the eligible voters left after it
    left_after_vote: int = 0


class FundRules:
    """The rule checks; ``model`` is the state before the event being checked is folded."""

    contract = "CoGovFund"

    def __init__(self, out: Collector, registry: MembershipReplay) -> None:
        self.out = out
        self.reg = registry
        self.model = FundModel()
        self.audit: dict[int, MotionAudit] = {}

    def motion_audit(self, motion_id: int) -> MotionAudit:
        return self.audit.setdefault(motion_id, MotionAudit())

    def eligible_left(self, m: MotionRecord, p: ProjectRecord | None) -> int:
        """FundCommittee members now who may still vote on ``m`` (the contract's ``_eligibleLeft``)."""
        conflicted = {p.proposer_id, self.reg.member_id(p.beneficiary)} if p is not None else set()
        return sum(
            1
            for mid in self.reg.members
            if self.reg.member_has_role(mid, Role.FUND_COMMITTEE) and mid not in conflicted and mid not in m.voters
        )

    def passed_by_rule(self, m: MotionRecord | None) -> bool:
        """Recorded as passed, by the decision rule, with quorum of valid votes."""
        if m is None:
            return False
        x = self.motion_audit(m.id)
        return (bool(m.decided_at) and m.passed and x.by_rule and x.valid_votes >= self.model.quorum
                and m.approvals > m.rejections)

    # ---------------------------------------------------------------- votes and decisions

    def check_vote(self, e: Event) -> bool:
        """Before a vote is folded: whether it counts (False: an unknown motion, reported)."""
        a = e.args
        m = self.model.motions.get(int(a["motionId"]))
        if not self.out.expect(
            "state.replay-inconsistent", m is not None, f"vote on unknown motion {a['motionId']}", event=e
        ):
            return False
        assert m is not None
        member = int(a["memberId"])
        p = self.model.projects.get(m.project_id)
        problems = []
        if m.decided_at or self.model.derive(m, e.block_time)[0] != MotionState.OPEN:
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
            self.motion_audit(m.id).valid_votes += 1
        self._check_held(m, bool(a["support"]), e)
        return True

    def _check_held(self, m: MotionRecord, support: bool, e: Event) -> None:
        """A vote that makes a project's approval asking for pool money pass on its votes
        reserves that money: the free pool must have held it."""
        if m.kind != MotionKind.APPROVE_PROJECT or not m.amount or self.model.passes(m):
            return
        after = (m.approvals + 1, m.rejections) if support else (m.approvals, m.rejections + 1)
        if not (sum(after) >= self.model.quorum and after[0] > after[1]):
            return
        free = self.model.pool_free()
        self.out.expect(
            "fund.allocation-exceeds-pool",
            m.amount <= free,
            f"a vote on project {m.project_id}'s approval reserves its pool allocation {m.amount}; the free pool "
            f"is {free}",
            event=e,
            free=free,
        )

    def after_vote(self, e: Event) -> None:
        """After a vote is folded: who may still vote, and the tallies the event states."""
        a = e.args
        m = self.model.motions[int(a["motionId"])]
        x = self.motion_audit(m.id)
        x.last_vote_tx, x.left_after_vote = e.tx_hash, self.eligible_left(m, self.model.projects.get(m.project_id))
        self.out.expect(
            "state.replay-inconsistent",
            (m.approvals, m.rejections) == (int(a["approvals"]), int(a["rejections"])),
            f"vote tallies of motion {m.id} differ from the replay",
            event=e,
        )

    def check_decided(self, e: Event) -> None:
        """A recorded decision: by the vote of this transaction only if that vote made the
        outcome certain, else at (after) the deadline, with the deadline's outcome."""
        a = e.args
        m = self.model.motions.get(int(a["motionId"]))
        if not self.out.expect(
            "state.replay-inconsistent", m is not None, f"unknown motion {a['motionId']} decided", event=e
        ):
            return
        assert m is not None
        x = self.motion_audit(m.id)
        quorum = self.model.quorum
        passed = bool(a["passed"])
        decided_at = int(a.get("decidedAt", e.block_time))
        deadline = self.model.deadline(m)
        tally = f"{m.approvals} for, {m.rejections} against, {x.valid_votes} valid, quorum {quorum}"
        if e.block_time < deadline:
            left = x.left_after_vote
            votes = m.approvals + m.rejections
            certain = (x.last_vote_tx == e.tx_hash and votes >= quorum
                       and (m.approvals > m.rejections + left if passed else m.approvals + left <= m.rejections))
            by_rule = certain and decided_at == e.block_time
            why = (f"motion {m.id} decided ({'passed' if passed else 'failed'}) before its deadline {deadline} "
                   f"while {left} eligible voter(s) could still change it ({tally})")
        else:
            rule = self.model.passes(m)
            by_rule = decided_at == deadline and passed == rule
            why = (f"motion {m.id} recorded as decided at {decided_at} ({'passed' if passed else 'failed'}); "
                   f"at its deadline {deadline} the rule gives {'passed' if rule else 'failed'} ({tally})")
        if passed:
            by_rule = by_rule and x.valid_votes >= quorum
        self.out.expect(
            "fund.motion-decision",
            by_rule,
            why,
            event=e,
            motion=m.id,
            deadline=deadline,
            decided_at=decided_at,
            quorum=quorum,
            valid_votes=x.valid_votes,
            eligible_left=x.left_after_vote if e.block_time < deadline else 0,
        )
        x.by_rule = by_rule

    # ---------------------------------------------------------------- money

    def check_payout(self, e: Event) -> None:
        a = e.args
        model = self.model
        amount, index = int(a["amount"]), int(a["milestoneIndex"])
        p = model.projects.get(int(a["projectId"]))
        if p is None:
            self.out.add(
                "fund.payout-without-quorum", f"payout {a['payoutId']} to unknown project {a['projectId']}", event=e
            )
            return
        m = model.motions.get(p.approval_motion_id)
        x = self.motion_audit(m.id) if m is not None else MotionAudit()
        state = model.project_state(p, e.block_time)
        rec = {"project": p.id, "milestone": index, "amount": amount, "approval_motion": p.approval_motion_id}
        approved = self.passed_by_rule(m)
        self.out.expect(
            "fund.payout-without-quorum",
            approved,
            f"payout {a['payoutId']} of {amount} to project {p.id}, whose approval motion "
            + ("was never decided" if not (m and m.decided_at)
               else "was not passed by the decision rule" if not x.by_rule
               else "did not pass with quorum"),
            event=e,
            **rec,
            votes=x.valid_votes,
            quorum=model.quorum,
        )
        if approved:
            assert m is not None
            unlocks = m.decided_at + model.time_lock
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
            state not in CLOSED_STATES,
            f"payout {a['payoutId']} to project {p.id} in state {STATE_NAMES[state]}",
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
        available = (p.earmarked - p.earmarked_spent) + (p.allocated - p.allocated_spent)
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
        from_earmarked, from_general = model.split(p.id, amount)
        self.out.expect(
            "fund.trace-mismatch",
            (int(a["fromEarmarked"]), int(a["fromGeneral"])) == (from_earmarked, from_general),
            f"payout {a['payoutId']} records {a['fromEarmarked']} earmarked + {a['fromGeneral']} general; "
            f"the tracing rule gives {from_earmarked} + {from_general}",
            event=e,
            **rec,
        )

    def check_refund(self, e: Event) -> None:
        a = e.args
        rid, amount = int(a["receiptId"]), int(a["amount"])
        c = self.model.contributions.get(rid)
        owed = 0
        why = ""
        if c is None:
            why = "no such contribution"
        elif c.project_id == 0:
            why = "general-pool contributions are not refundable"
        elif c.refunded:
            why = "already refunded"
        elif self.model.project_state(self.model.projects[c.project_id], e.block_time) not in CLOSED_STATES:
            why = "its project is still open"
        else:
            owed = c.amount - self.model.spent(c)
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

    def check_contribution(self, e: Event) -> None:
        a = e.args
        rid, pid = int(a["receiptId"]), int(a["projectId"])
        self.check_sequence("receipt", rid, len(self.model.contributions), e)
        if pid == 0:
            return
        p = self.model.projects.get(pid)
        open_states = (ProjectState.PROPOSED, ProjectState.TIME_LOCKED, ProjectState.ACTIVE)
        if p is None or self.model.project_state(p, e.block_time) not in open_states:
            self.out.add(
                "state.replay-inconsistent",
                f"contribution {rid} to project {pid}, which is not open for funding",
                event=e,
            )

    def check_sequence(self, kind: str, new_id: int, have: int, e: Event) -> None:
        self.out.expect(
            "state.replay-inconsistent", new_id == have + 1, f"{kind} id {new_id} out of sequence", event=e
        )
