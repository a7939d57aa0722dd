"""Fund-flow tracing: which contributions paid for which payouts, a view over the fund's reducer.

The rule (the ``CoGovFund`` contract applies the same rule to compute refunds; the
contract tests check that both agree after every step of random histories):

1. **Two kinds of queues.** Every project has an *earmarked queue*: the contributions
   earmarked to it, in receipt-id order. The fund has one *general queue*: every
   general-pool contribution (project id 0), in receipt-id order. Receipt ids grow with
   chain order, so receipt order is also time order.
2. **Earmarked money first.** A payout of ``amount`` for project *P* is drawn first from
   *P*'s earmarked queue, up to what is unspent in it at that moment
   (``from_earmarked = min(amount, earmarked unspent of P)``); the rest
   (``from_general``) comes from the general pool through *P*'s committee-approved
   allocations. The contract refuses a payout whose ``from_general`` exceeds the
   project's unspent allocations.
3. **Oldest first (FIFO).** Within a queue, money is consumed oldest receipt first: a
   contribution is touched only once every earlier contribution in its queue is spent.
4. **General-pool allocations.** An allocation is a committee-approved *permission* for a
   project to use some amount of the pool, not a binding to particular contributions.
   General money is attributed when it is actually paid out: the ``from_general`` part of
   a payout consumes the general queue FIFO across the whole pool, whichever project it
   goes to. (So a general contribution funds the payouts that happened while it was the
   oldest unspent general money.) Unspent allocations of a closed project simply stop
   being committed: the money returns to the pool and is never refunded.
5. **Refunds.** When a project closes (rejected, cancelled, or completed with money left),
   each earmarked contribution's unspent remainder (``amount - spent``) is refundable to
   its contributor, exactly once. General-pool contributions are never refunded.

Hence, for every contribution: ``amount == spent + refunded + unspent`` and ``spent``
is the sum of its fundings. Across the fund:
``Σ amount - Σ payouts - Σ refunds == Σ unspent == the fund's token balance``.

Input: the fund's reducer (:class:`~ledger.fund.model.FundModel`), which holds the records
in chain order: contributions, payouts (with the rule's split when each was made) and
refunds; :func:`trace_of` is a view over it at a time ``now`` (closure, hence what is
refundable, is the project's state at ``now``). :func:`trace_fund` folds events first.
Same model, same result. A history that contradicts the rule (a payout larger than the
money the rule can attribute, a ``PayoutMade`` whose recorded earmarked/general split
differs from the rule, a refund different from the unspent remainder or claimed twice)
raises :class:`~ledger.errors.IntegrityError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ledger.abi.records import record_from
from ledger.errors import IntegrityError
from ledger.events import Event
from ledger.fund.model import ContributionRecord, FundModel
from ledger.fund.types import CLOSED_STATES, GENERAL_POOL, ContributorKind, Payout

CONTRIBUTOR_KINDS = tuple(k.name.lower() for k in ContributorKind)  # "government", "enterprise", "resident"


@dataclass(frozen=True)
class Funding:
    """One slice of one payout, attributed to one contribution."""

    payout_id: int
    project_id: int
    milestone_index: int
    amount: int
    source: str  # "earmarked" or "general"
    block: int
    tx_hash: str


@dataclass(frozen=True)
class ContributionTrace:
    """Where one contribution went. ``amount == spent + refunded + unspent``."""

    receipt_id: int
    member_id: int
    contributor: str
    kind: str
    project_id: int  # 0: general pool
    amount: int
    block: int
    tx_hash: str
    fundings: tuple[Funding, ...]
    spent: int
    refunded: int
    unspent: int
    refundable: int  # what claimRefund would pay now (closed project, earmarked, not claimed)

    @property
    def projects_funded(self) -> tuple[int, ...]:
        return tuple(sorted({f.project_id for f in self.fundings}))


@dataclass(frozen=True, kw_only=True)
class PayoutTrace(Payout):
    """One payout and the contributions (receipt id, amount) that funded it, in order."""

    sources: tuple[tuple[int, int], ...]

    @property
    def block(self) -> int:
        return self.block_number


@dataclass(frozen=True)
class FundTrace:
    contributions: dict[int, ContributionTrace]
    payouts: dict[int, PayoutTrace]
    closed_projects: frozenset[int]

    @property
    def total_contributed(self) -> int:
        return sum(c.amount for c in self.contributions.values())

    @property
    def total_paid(self) -> int:
        return sum(p.amount for p in self.payouts.values())

    @property
    def total_refunded(self) -> int:
        return sum(c.refunded for c in self.contributions.values())

    @property
    def balance(self) -> int:
        """What the fund must hold: contributions - payouts - refunds."""
        return self.total_contributed - self.total_paid - self.total_refunded


@dataclass
class _Open:
    """Mutable state of one contribution while replaying."""

    receipt_id: int
    member_id: int
    contributor: str
    kind: str
    project_id: int
    amount: int
    block: int
    tx_hash: str
    spent: int = 0
    refunded: int = 0
    fundings: list[Funding] = field(default_factory=list)


@dataclass
class _Queue:
    """A FIFO queue of contributions with a head pointer past the fully spent ones."""

    items: list[_Open] = field(default_factory=list)
    head: int = 0

    def consume(self, amount: int, make: Callable[[int], Funding]) -> list[tuple[int, int]]:
        taken: list[tuple[int, int]] = []
        while amount > 0 and self.head < len(self.items):
            c = self.items[self.head]
            part = min(amount, c.amount - c.spent)
            if part > 0:
                c.spent += part
                c.fundings.append(make(part))
                taken.append((c.receipt_id, part))
                amount -= part
            if c.spent == c.amount:
                self.head += 1
        if amount > 0:
            raise IntegrityError(f"payout exceeds the attributable money by {amount}")
        return taken


def _open(c: ContributionRecord) -> _Open:
    return _Open(c.id, c.member_id, c.contributor, CONTRIBUTOR_KINDS[c.kind], c.project_id, c.amount,
                 c.event.block_number, c.event.tx_hash)


def trace_of(model: FundModel, now: int) -> FundTrace:
    """Attribute every payout and refund of the fund's reducer to contributions (a view over it).

    Args:
        model: the fold of the fund's events.
        now: the time for closure (what is refundable), as the contract's views at ``now``.

    Returns:
        The per-contribution and per-payout attribution.

    Raises:
        IntegrityError: the history contradicts the tracing rule.
    """
    contributions = {rid: _open(c) for rid, c in model.contributions.items()}
    earmarked: dict[int, _Queue] = {}
    general = _Queue()
    for c in contributions.values():  # chain order: receipt order
        (general if c.project_id == GENERAL_POOL else earmarked.setdefault(c.project_id, _Queue())).items.append(c)
    payouts = {p.payout_id: _payout(p, model.splits[p.payout_id], earmarked, general) for p in model.payouts}
    for r in model.refunds:
        refunded = contributions.get(r.receipt_id)
        if refunded is None or refunded.project_id == GENERAL_POOL:
            raise IntegrityError(f"refund of receipt {r.receipt_id}, which is not an earmarked contribution")
        if refunded.refunded:
            raise IntegrityError(f"receipt {r.receipt_id} refunded twice")
        left = refunded.amount - refunded.spent
        if r.amount != left:
            raise IntegrityError(f"refund of receipt {r.receipt_id} is {r.amount}, the rule leaves {left} unspent")
        refunded.refunded = r.amount
    closed = {pid for pid, p in model.projects.items() if model.project_state(p, now) in CLOSED_STATES}
    frozen = {
        rid: record_from(
            ContributionTrace, c,
            fundings=tuple(c.fundings),
            unspent=c.amount - c.spent - c.refunded,
            refundable=(
                c.amount - c.spent if c.project_id != GENERAL_POOL and c.project_id in closed and not c.refunded else 0
            ),
        )
        for rid, c in sorted(contributions.items())
    }
    return FundTrace(contributions=frozen, payouts=payouts, closed_projects=frozenset(closed))


def trace_fund(events: Iterable[Event], now: int | None = None) -> FundTrace:
    """:func:`trace_of` the fold of ``events`` (ordered by block and log index, whatever the
    list order) at ``now`` (default: the latest event's block time)."""
    ordered = sorted(events, key=lambda e: (e.block_number, e.log_index))
    at = now if now is not None else max((e.block_time for e in ordered), default=0)
    return trace_of(FundModel.of(ordered), at)


def _payout(p: Payout, split: tuple[int, int], earmarked: dict[int, _Queue], general: _Queue) -> PayoutTrace:
    from_earmarked, from_general = split
    for key, recorded, mine in (("fromEarmarked", p.from_earmarked, from_earmarked),
                                ("fromGeneral", p.from_general, from_general)):
        if recorded != mine:
            raise IntegrityError(f"payout {p.payout_id}: event records {key}={recorded}, the rule gives {mine}")

    def maker(source: str) -> Callable[[int], Funding]:
        return lambda part: Funding(p.payout_id, p.project_id, p.milestone_index, part, source, p.block_number,
                                    p.tx_hash)

    sources = earmarked.setdefault(p.project_id, _Queue()).consume(from_earmarked, maker("earmarked"))
    sources += general.consume(from_general, maker("general"))
    return record_from(PayoutTrace, p, sources=tuple(sources))
