"""Random histories against CoGovFund, checked after every step.

Hypothesis drives contributions, proposals, votes, allocations, payouts, cancellations,
refunds, settlements and the passing of time (past time locks and voting deadlines) on the
in-process chain. After each step:

- the invariant: token balance == Σ contributions - Σ payouts - Σ refunds;
- the tracing rule: ledger.fund.trace over the events agrees with the contract's
  per-contribution views (spent, refunded, refundable) and sums;
- every payout had a passed approval motion (quorum, approvals > rejections) and
  happened after its time lock; no milestone or project paid above its amount;
- the general pool's books balance;
- refusals are the fund's own custom errors (never a panic or an unknown revert).

Deterministic (derandomize, no example database); every transaction has explicit gas
(the Chain helper sends 8M). Budget: MAX_EXAMPLES x STEPS (10 x 20 after a seeded start,
about 240 transactions), about 35 s of CPU; run with `-s` to see what ran.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from eth_utils import event_abi_to_log_topic
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from ledger.errors import ContractReverted
from ledger.events import Event
from ledger.fund.trace import trace_fund
from tests.contracts.conftest import FUND_QUORUM, FUND_TIME_LOCK, FundEnv, h

ACTIONS = (
    ["contribute"] * 3 + ["propose"] + ["vote"] * 2 + ["committee_round"] * 2 + ["allocate"] * 2
    + ["cancel"] + ["pay"] * 4 + ["refund"] * 2 + ["wait"] + ["settle"]
)
MAX_EXAMPLES = 10
STEPS = 20

# Refusals a random history may legitimately hit.
EXPECTED_REFUSALS = {
    "FundProjectNotOpenForFunding",
    "FundProjectNotApproved",
    "FundProjectClosed",
    "FundProjectStillOpen",
    "FundProjectNotActive",
    "FundTimeLocked",
    "FundMotionNotOpen",
    "FundMotionPending",
    "FundAlreadyVoted",
    "FundProposerCannotVote",
    "FundBeneficiaryCannotVote",
    "FundInsufficientPool",
    "FundExceedsMilestone",
    "FundExceedsAvailable",
    "FundUnknownMilestone",
    "FundNotRefundable",
    "FundAlreadyRefunded",
    "FundNothingToRefund",
}


def test_fund_random_histories(fund_env: FundEnv) -> None:
    e = fund_env
    f = e.fund.functions
    contributors = [e.gov, e.enterprise, e.resident, e.proposer]
    member_account = {2: e.gov, e.enterprise_id: e.enterprise, e.resident_id: e.resident, 1: e.proposer}
    stats: Counter[str] = Counter()
    block_times: dict[int, int] = {}
    by_topic = {event_abi_to_log_topic(i): i["name"] for i in e.fund.abi if i.get("type") == "event"}
    # Blocks follow the wall clock while the chain is behind it: on a loaded machine the seconds
    # between steps would change which deadlines pass, hence the history. Ahead of the wall
    # clock, every block is one second after the last, whatever the machine's speed.
    e.chain.time_travel(30 * 24 * 3600)
    setup_events = e.all_events()  # FundDeployed; read once (get_logs is slow on eth-tester)
    setup_fund_events = e.fund_events()  # the same, as the codec's Events for the tracing rule

    def decode(receipt: Any) -> list[dict[str, Any]]:
        out = []
        for log in receipt["logs"]:
            name = by_topic.get(bytes(log["topics"][0])) if log["address"] == e.fund.address else None
            if name is not None:
                x = getattr(e.fund.events, name)().process_log(log)
                out.append({"event": name, "args": dict(x["args"]), "blockNumber": x["blockNumber"],
                            "transactionHash": x["transactionHash"], "logIndex": x["logIndex"]})
        return out

    def timestamp(block: int) -> int:
        if block not in block_times:
            block_times[block] = int(e.chain.w3.eth.get_block(block)["timestamp"])
        return block_times[block]

    class FundMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot = e.chain.tester.take_snapshot()
            self.projects: list[int] = []
            self.milestones: dict[int, list[int]] = {}
            self.motions: list[int] = []
            self.receipts: list[int] = []
            self.events: list[dict[str, Any]] = list(setup_events)
            self.fund_events: list[Event] = list(setup_fund_events)
            self.check_all = False  # attribution may have changed for every receipt
            self.changed = True
            stats["examples"] += 1

        @rule(
            action=st.sampled_from(ACTIONS),
            i=st.integers(0, 40),
            j=st.integers(0, 3),
            amount=st.integers(1, 500),
            flag=st.booleans(),
            amounts=st.lists(st.integers(1, 400), min_size=1, max_size=3),
            supports=st.lists(st.sampled_from([True, True, False]), min_size=4, max_size=4),
        )
        def step(
            self, action: str, i: int, j: int, amount: int, flag: bool, amounts: list[int], supports: list[bool]
        ) -> None:
            """One random action (a single rule, so Hypothesis's swarm testing cannot switch
            actions off for a whole example; ACTIONS weights them)."""
            if action == "contribute":
                self.contribute(j, amount, i - 3)
            elif action == "propose":
                self.propose(amounts, flag)
            elif action == "vote":
                self.vote(i, j, supports[0])
            elif action == "committee_round":
                self.committee_round(i, supports)
            elif action == "allocate":
                self.propose_allocation(i, amount)
            elif action == "cancel":
                self.propose_cancellation(i, supports)
            elif action == "pay":
                self.pay(i, j, amount % 400 + 1, flag)
            elif action == "refund":
                self.claim_refund(i, flag)
            elif action == "settle":
                if self.projects:
                    self._send("settle", f.settle(self._pick(self.projects, i)), e.committee[j])
            else:
                self.wait(flag)

        @initialize()
        def seed_fund(self) -> None:
            """Every history starts with general money and one active, part-earmarked project."""
            self.contribute(0, 1000, -1)
            self.propose([300, 300], conflicted=False)
            self.contribute(1, 200, 0)
            for voter in e.committee[:FUND_QUORUM]:
                self._send("vote", f.vote(self.motions[0], True), voter)
            self.wait(True)
            # ... and a refund: an earmarked contribution to a second project that the committee
            # cancels (random histories reach a refund only now and then, and whether one does
            # depends on the state earlier tests left on the shared chain).
            self.propose([100], conflicted=False)
            for voter in e.committee[:FUND_QUORUM]:
                self._send("vote", f.vote(self.motions[-1], True), voter)
            self.wait(True)
            self.contribute(2, 50, 1)
            self.propose_cancellation(1, [True] * len(e.committee))
            self.claim_refund(0, True)

        def teardown(self) -> None:
            block_times.clear()  # block numbers are reused after the revert
            e.chain.tester.revert_to_snapshot(self.snapshot)

        def _send(self, name: str, fn: Any, sender: str) -> Any:
            stats["steps"] += 1
            try:
                receipt = e.chain.transact(fn, sender)
            except ContractReverted as exc:
                assert exc.error_name in EXPECTED_REFUSALS, f"{name}: unexpected {exc}"
                stats[f"{name}:refused"] += 1
                stats[f"{name}!{exc.error_name}"] += 1
                return None
            stats[f"{name}:ok"] += 1
            new = decode(receipt)
            self.events.extend(new)
            self.fund_events.extend(e.fund_events(receipt["logs"], timestamp))
            self.changed = True
            # Attribution and refundability change only through these (and time).
            self.check_all = self.check_all or any(
                x["event"] in ("PayoutMade", "RefundClaimed", "MotionDecided") for x in new
            )
            return receipt

        def _pick(self, items: list[int], i: int) -> int:
            return items[i % len(items)] if items else 1

        def contribute(self, who: int, amount: int, dest: int) -> None:
            project = 0 if dest < 0 or not self.projects else self._pick(self.projects, dest)
            r = self._send("contribute", f.contribute(amount, project, h("m")), contributors[who])
            if r is not None:
                self.receipts.append(e.chain.events(e.fund, r, "ContributionReceived")[0]["receiptId"])

        def propose(self, amounts: list[int], conflicted: bool) -> None:
            beneficiary = e.committee[3] if conflicted else e.beneficiary
            specs = [(a, h(f"m{i}")) for i, a in enumerate(amounts)]
            r = self._send("propose", f.proposeProject(h("p"), beneficiary, sum(amounts), specs, 0), e.proposer)
            pid = e.chain.events(e.fund, r, "ProjectProposed")[0]
            self.projects.append(pid["projectId"])
            self.milestones[pid["projectId"]] = amounts
            self.motions.append(pid["approvalMotionId"])

        def vote(self, m: int, voter: int, support: bool) -> None:
            if self.motions:
                self._send("vote", f.vote(self._pick(self.motions, m), support), e.committee[voter])

        def committee_round(self, m: int, supports: list[bool]) -> None:
            """Every committee member votes on one of the latest motions (most reach quorum)."""
            decided = {x["args"]["motionId"] for x in self.events if x["event"] == "MotionDecided"}
            undecided = [x for x in self.motions if x not in decided]
            if undecided:
                motion = undecided[m % len(undecided)]
                for voter, support in zip(e.committee, supports, strict=True):
                    self._send("vote", f.vote(motion, support), voter)

        def propose_allocation(self, p: int, amount: int) -> None:
            if not self.projects:
                return
            free = f.generalPool().call()[3]
            if amount > free:
                return  # refused at proposal time (FundInsufficientPool): tested elsewhere
            r = self._send("allocate", f.proposeAllocation(self._pick(self.projects, p), amount), e.committee[0])
            if r is not None:
                self.motions.append(e.chain.events(e.fund, r, "MotionProposed")[0]["motionId"])

        def propose_cancellation(self, p: int, supports: list[bool]) -> None:
            """Propose cancelling a project; the committee votes on it at once."""
            if not self.projects:
                return
            r = self._send("cancel", f.proposeCancellation(self._pick(self.projects, p)), e.committee[1])
            if r is not None:
                motion = e.chain.events(e.fund, r, "MotionProposed")[0]["motionId"]
                self.motions.append(motion)
                for voter, support in zip(e.committee, supports, strict=True):
                    self._send("vote", f.vote(motion, support), voter)

        def pay(self, p: int, index: int, amount: int, aimed: bool) -> None:
            """Pay a random amount, or (aimed) one within the milestone and available money."""
            if not self.projects:
                return
            pid = self._pick(self.projects, p)
            index = index % len(self.milestones[pid])
            if aimed:
                milestone = f.getMilestone(pid, index).call()
                amount = min(amount, milestone[0] - milestone[1], f.available(pid).call())
                if amount == 0:
                    return
            self._send("pay", f.payMilestone(pid, index, amount, h("inv")), e.treasurer)

        def claim_refund(self, r: int, aimed: bool) -> None:
            closed = {x["args"]["projectId"] for x in self.events
                      if x["event"] in ("ProjectCancelled", "ProjectRejected", "ProjectCompleted")}
            earmarked_closed = [x["args"]["receiptId"] for x in self.events
                                if x["event"] == "ContributionReceived" and x["args"]["projectId"] in closed]
            candidates = earmarked_closed if aimed and earmarked_closed else self.receipts
            if candidates:
                rid = self._pick(candidates, r)
                member = f.getContribution(rid).call()[2]
                self._send("refund", f.claimRefund(rid), member_account[member])

        def wait(self, long: bool) -> None:
            e.chain.time_travel(FUND_TIME_LOCK + 1 if long else 3600)
            self.check_all = True  # states (hence refundable) are derived from time
            self.changed = True
            stats["wait"] += 1

        @invariant()
        def books_balance_and_trace_agrees(self) -> None:
            if not self.changed:
                return  # nothing was written since the last check (reads are the slow part)
            self.changed = False
            contributed, paid, refunded = e.sums()
            assert e.balance(e.fund.address) == contributed - paid - refunded
            total, spent, committed, free = f.generalPool().call()
            assert spent + committed + free == total
            stats["invariant checks"] += 1
            events = self.events
            trace = trace_fund(self.fund_events, e.chain.now())
            assert (trace.total_contributed, trace.total_paid, trace.total_refunded) == (contributed, paid, refunded)
            # Views change only through payouts, decisions and refunds: compare every receipt
            # after those, otherwise the newest one (a contribution is then the only change).
            checked = list(trace.contributions) if self.check_all else list(trace.contributions)[-1:]
            self.check_all = False
            for rid in checked:
                t = trace.contributions[rid]
                view = f.getContribution(rid).call()
                assert (view[8], view[9], view[10]) == (t.spent, t.refunded > 0, t.refundable), rid
                stats["views checked"] += 1
            approved: dict[int, int] = {}
            decided: dict[int, tuple[bool, int, int]] = {}
            approval_motion: dict[int, int] = {}
            for x in events:
                a = x["args"]
                if x["event"] == "ProjectProposed":
                    approval_motion[a["projectId"]] = a["approvalMotionId"]
                elif x["event"] == "MotionDecided":
                    decided[a["motionId"]] = (a["passed"], a["approvals"], a["rejections"])
                elif x["event"] == "ProjectApproved":
                    approved[a["projectId"]] = a["unlocksAt"]
            paid: Counter[tuple[int, int]] = Counter()
            for x in events:
                if x["event"] != "PayoutMade":
                    continue
                a = x["args"]
                pid = a["projectId"]
                assert pid in approved, f"payout {a['payoutId']} without approval"
                ok, yes, no = decided[approval_motion[pid]]
                assert ok and yes + no >= FUND_QUORUM and yes > no
                assert timestamp(x["blockNumber"]) >= approved[pid]
                paid[(pid, a["milestoneIndex"])] += a["amount"]
            for (pid, index), amount in paid.items():
                assert amount <= self.milestones[pid][index]

    run_state_machine_as_test(
        FundMachine,
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        ),
    )
    # Reported with `pytest -s`: how much actually ran, and how often each action succeeded.
    print(f"\nfund stateful: {stats['examples']} examples, {stats['steps']} transactions, "
          f"{stats['wait']} waits; " + ", ".join(f"{k}={v}" for k, v in sorted(stats.items())
                                                   if ":" in k or "!" in k))
    assert stats["steps"] > MAX_EXAMPLES * 5
    assert stats["pay:ok"] > 0 and stats["refund:ok"] > 0 and stats["vote:ok"] > 0
