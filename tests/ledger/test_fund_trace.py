"""The fund-flow tracing rule, as a view over the fund's reducer (events folded first)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from ledger.errors import IntegrityError
from ledger.events import Event
from ledger.fund.model import FundModel
from ledger.fund.trace import trace_fund

ACCOUNT = "0x" + "00" * 20


class History:
    """Builds the fund's events (one per block, as the log scanner gives them); a project is
    proposed and approved when first named, a payout split by the rule unless told."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.receipts = 0
        self.payouts = 0
        self.motions = 0
        self.projects: set[int] = set()
        self._add("FundDeployed", token=ACCOUNT, registry=ACCOUNT, quorum=1, timeLock=0, votingPeriod=10**6)

    def _add(self, name: str, **args: Any) -> None:
        n = len(self.events)
        self.events.append(Event("CoGovFund", name, args, 10 + n, "0x" + "00" * 32, f"0x{n:064x}", 0, 1000 + n,
                                 ACCOUNT, 0))

    def _decided(self, kind: int, project: int) -> None:
        self.motions += 1
        self._add("MotionProposed", motionId=self.motions, kind=kind, projectId=project, amount=0, proposerId=1)
        self._add("MotionDecided", motionId=self.motions, passed=True, approvals=1, rejections=0)

    def _project(self, project: int) -> None:
        if project and project not in self.projects:
            self.projects.add(project)
            self._add("ProjectProposed", projectId=project, titleHash=b"\x00" * 32, proposer=ACCOUNT, proposerId=1,
                      beneficiary=ACCOUNT, budget=10**9, approvalMotionId=self.motions + 1, milestoneCount=1)
            self._decided(0, project)  # approved

    def contribute(self, amount: int, project: int = 0, member: int = 1, kind: int = 0) -> int:
        self._project(project)
        self.receipts += 1
        self._add("ContributionReceived", receiptId=self.receipts, memberId=member, contributor=f"0x{member:040x}",
                  kind=kind, projectId=project, amount=amount, memoHash=b"\x00" * 32)
        return self.receipts

    def pay(self, project: int, amount: int, index: int = 0, **split: int) -> int:
        self._project(project)
        self.payouts += 1
        rule = FundModel.of(self.events).split(project, amount)
        self._add("PayoutMade", payoutId=self.payouts, projectId=project, milestoneIndex=index, amount=amount,
                  fromEarmarked=split.get("fromEarmarked", rule[0]), fromGeneral=split.get("fromGeneral", rule[1]),
                  beneficiary=ACCOUNT, treasurerId=2, invoiceHash=b"\x00" * 32)
        return self.payouts

    def close(self, project: int) -> None:
        self._decided(2, project)  # a cancellation, passed

    def refund(self, receipt: int, amount: int, project: int) -> None:
        self._add("RefundClaimed", receiptId=receipt, projectId=project, memberId=1, to=ACCOUNT, amount=amount)


def test_earmarked_first_then_general_fifo() -> None:
    h = History()
    g1 = h.contribute(100)  # general
    g2 = h.contribute(100)  # general
    a = h.contribute(50, project=1, kind=1)
    b = h.contribute(30, project=1, kind=2)
    p1 = h.pay(1, 60, fromEarmarked=60, fromGeneral=0)  # a 50, b 10
    p2 = h.pay(1, 150, fromEarmarked=20, fromGeneral=130)  # b 20, g1 100, g2 30
    p3 = h.pay(2, 50)  # another project: general only, g2 50
    t = trace_fund(h.events)
    assert t.payouts[p1].sources == ((a, 50), (b, 10))
    assert t.payouts[p2].sources == ((b, 20), (g1, 100), (g2, 30))
    assert (t.payouts[p2].from_earmarked, t.payouts[p2].from_general) == (20, 130)
    assert t.payouts[p3].sources == ((g2, 50),)
    assert [t.contributions[r].spent for r in (g1, g2, a, b)] == [100, 80, 50, 30]
    assert t.contributions[g2].unspent == 20
    assert t.contributions[g2].projects_funded == (1, 2)
    assert t.contributions[a].kind == "enterprise" and t.contributions[b].kind == "resident"
    f = t.contributions[b].fundings
    assert [(x.payout_id, x.amount, x.source) for x in f] == [(p1, 10, "earmarked"), (p2, 20, "earmarked")]
    assert t.balance == 280 - 260 == t.contributions[g2].unspent


def test_late_earmark_is_spent_by_later_payouts_only() -> None:
    h = History()
    g = h.contribute(100)
    h.pay(1, 40)  # general, nothing earmarked yet
    e = h.contribute(30, project=1)
    h.pay(1, 20)  # earmarked first: e 20
    t = trace_fund(h.events)
    assert t.contributions[g].spent == 40
    assert t.contributions[e].spent == 20


def test_refunds_after_closure() -> None:
    h = History()
    a = h.contribute(50, project=1)
    b = h.contribute(40, project=1)
    h.pay(1, 70)
    t = trace_fund(h.events)
    assert t.contributions[b].refundable == 0  # project still open
    h.close(1)
    t = trace_fund(h.events)
    assert (t.contributions[a].refundable, t.contributions[b].refundable) == (0, 20)
    h.refund(b, 20, 1)
    t = trace_fund(h.events)
    c = t.contributions[b]
    assert (c.spent, c.refunded, c.unspent, c.refundable) == (20, 20, 0, 0)
    assert t.total_refunded == 20 and t.balance == 0
    assert t.closed_projects == frozenset({1})


def test_order_comes_from_block_and_log_index_not_list_order() -> None:
    h = History()
    h.contribute(10, project=1)
    h.contribute(10, project=1)
    h.pay(1, 15)
    shuffled = list(h.events)
    random.Random(7).shuffle(shuffled)
    assert trace_fund(shuffled) == trace_fund(h.events)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda h: (h.contribute(10, project=1), h.pay(1, 11)), "exceeds"),
        (lambda h: (h.contribute(10, project=1), h.pay(1, 5, fromEarmarked=0, fromGeneral=5)), "fromEarmarked"),
        (lambda h: (h.contribute(10, project=1), h.close(1), h.refund(1, 9, 1)), "leaves 10"),
        (lambda h: (h.contribute(10, project=1), h.close(1), h.refund(1, 10, 1), h.refund(1, 10, 1)), "twice"),
        (lambda h: (h.contribute(10), h.refund(1, 10, 0)), "not an earmarked"),
    ],
)
def test_contradicting_histories_raise(build: Any, message: str) -> None:
    h = History()
    build(h)
    with pytest.raises(IntegrityError, match=message):
        trace_fund(h.events)


def test_other_events_are_ignored_and_empty_history() -> None:
    vote = Event("CoGovFund", "VoteCast", {"motionId": 1, "memberId": 1, "voter": ACCOUNT, "support": True,
                                           "approvals": 1, "rejections": 0}, 1, "0x", "0x", 0, 1, ACCOUNT, 0)
    t = trace_fund([vote])
    assert t.contributions == {} and t.payouts == {} and t.balance == 0
