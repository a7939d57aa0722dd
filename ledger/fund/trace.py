"""Fund-flow tracing: which contributions paid for which payouts, from events alone.

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

Input: events (:class:`~ledger.events.Event`), or decoded events as dicts, each with the event
name (``event`` or ``name``), ``args``, the block number (``blockNumber`` or ``block``), the
transaction hash (``transactionHash`` or ``tx_hash``) and the log index (``logIndex`` or
``log_index``), as web3.py's ``process_receipt``/``get_logs`` return them. Events of other names are
ignored; order is taken from (block, log index), not from list order. The function is
pure: same events, same result.

Events used: ``ContributionReceived``, ``PayoutMade``, ``RefundClaimed``, and
``ProjectRejected``/``ProjectCancelled``/``ProjectCompleted`` (closure, for what is
refundable now). A history that contradicts the rule (a payout larger than the money the
rule can attribute, a ``PayoutMade`` whose recorded earmarked/general split differs from
the rule, a refund different from the unspent remainder or claimed twice) raises
:class:`~ledger.errors.IntegrityError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.abi.records import record_from
from ledger.errors import IntegrityError
from ledger.events import Event

GENERAL_POOL = 0
CONTRIBUTOR_KINDS = ("government", "enterprise", "resident")  # ICoGovFund.ContributorKind


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


@dataclass(frozen=True)
class PayoutTrace:
    """One payout and the contributions (receipt id, amount) that funded it, in order."""

    payout_id: int
    project_id: int
    milestone_index: int
    amount: int
    from_earmarked: int
    from_general: int
    sources: tuple[tuple[int, int], ...]
    block: int
    tx_hash: str


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

    def unspent(self) -> int:
        return sum(c.amount - c.spent for c in self.items[self.head :])

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


def _field(event: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    for n in names:
        if n in event:
            return event[n]
    return default


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value) if value is not None else ""


#: What the rule reads of one event: (name, args, block, log index, transaction hash).
_Fields = tuple[str, Mapping[str, Any], int, int, str]


def _fields(event: Event | Mapping[str, Any]) -> _Fields:
    if isinstance(event, Event):
        return event.name, event.args, event.block_number, event.log_index, event.tx_hash
    return (
        str(_field(event, "event", "name")),
        _field(event, "args", default={}),
        int(_field(event, "blockNumber", "block", default=0)),
        int(_field(event, "logIndex", "log_index", default=0)),
        _hex(_field(event, "transactionHash", "tx_hash", default="")),
    )


def _ordered(events: Iterable[Event | Mapping[str, Any]]) -> list[_Fields]:
    indexed = [(i, _fields(e)) for i, e in enumerate(events)]
    indexed.sort(key=lambda pair: (pair[1][2], pair[1][3], pair[0]))
    return [e for _, e in indexed]


def trace_fund(events: Iterable[Event | Mapping[str, Any]]) -> FundTrace:
    """Replay fund events and attribute every payout and refund to contributions.

    Args:
        events: decoded ``CoGovFund`` events (see the module docstring).

    Returns:
        The per-contribution and per-payout attribution.

    Raises:
        IntegrityError: the events contradict the tracing rule.
    """
    contributions: dict[int, _Open] = {}
    earmarked: dict[int, _Queue] = {}
    general = _Queue()
    payouts: dict[int, PayoutTrace] = {}
    closed: set[int] = set()

    for name, args, block, _log_index, tx in _ordered(events):

        if name == "ContributionReceived":
            rid = int(args["receiptId"])
            if rid in contributions:
                raise IntegrityError(f"receipt {rid} recorded twice")
            kind_no = int(args["kind"])
            c = _Open(
                receipt_id=rid,
                member_id=int(args["memberId"]),
                contributor=str(args["contributor"]),
                kind=CONTRIBUTOR_KINDS[kind_no] if kind_no < len(CONTRIBUTOR_KINDS) else str(kind_no),
                project_id=int(args["projectId"]),
                amount=int(args["amount"]),
                block=block,
                tx_hash=tx,
            )
            contributions[rid] = c
            queue = general if c.project_id == GENERAL_POOL else earmarked.setdefault(c.project_id, _Queue())
            queue.items.append(c)

        elif name == "PayoutMade":
            _replay_payout(args, block, tx, earmarked, general, payouts)

        elif name == "RefundClaimed":
            rid = int(args["receiptId"])
            refunded = contributions.get(rid)
            if refunded is None or refunded.project_id == GENERAL_POOL:
                raise IntegrityError(f"refund of receipt {rid}, which is not an earmarked contribution")
            if refunded.refunded:
                raise IntegrityError(f"receipt {rid} refunded twice")
            amount = int(args["amount"])
            left = refunded.amount - refunded.spent
            if amount != left:
                raise IntegrityError(f"refund of receipt {rid} is {amount}, the rule leaves {left} unspent")
            refunded.refunded = amount

        elif name in ("ProjectRejected", "ProjectCancelled", "ProjectCompleted"):
            closed.add(int(args["projectId"]))

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


def _replay_payout(
    args: Mapping[str, Any],
    block: int,
    tx: str,
    earmarked: dict[int, _Queue],
    general: _Queue,
    payouts: dict[int, PayoutTrace],
) -> None:
    pid = int(args["payoutId"])
    project = int(args["projectId"])
    index = int(args["milestoneIndex"])
    amount = int(args["amount"])
    queue = earmarked.setdefault(project, _Queue())
    from_earmarked = min(amount, queue.unspent())
    from_general = amount - from_earmarked
    for key, mine in (("fromEarmarked", from_earmarked), ("fromGeneral", from_general)):
        if key in args and int(args[key]) != mine:
            raise IntegrityError(f"payout {pid}: event records {key}={int(args[key])}, the rule gives {mine}")

    def maker(source: str) -> Callable[[int], Funding]:
        return lambda part: Funding(pid, project, index, part, source, block, tx)

    sources = queue.consume(from_earmarked, maker("earmarked"))
    sources += general.consume(from_general, maker("general"))
    payouts[pid] = PayoutTrace(
        payout_id=pid,
        project_id=project,
        milestone_index=index,
        amount=amount,
        from_earmarked=from_earmarked,
        from_general=from_general,
        sources=tuple(sources),
        block=block,
        tx_hash=tx,
    )
