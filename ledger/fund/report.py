"""Where the fund's money went, for people: per-contributor traces and the accounting export.

Both are views over the fund's reducer (:class:`~ledger.fund.model.FundModel`; the tracing
rule is :mod:`ledger.fund.trace`), plus names from the membership registry and texts from
the document store. The CLI folds the events it reads from the chain
(:func:`events_from_chain`), the API those of the event index; either way they are the same
events (:class:`~ledger.events.Event`) and the same fold, so the CLI and the API give
byte-identical answers for the same chain.

The export (:func:`export_rows`) has one row per money movement, oldest first, in the
columns of :data:`EXPORT_COLUMNS`, the shape accountants and Open Collective users import:
date, type (``contribution`` / ``payout`` / ``refund``), amount and currency, counterparty
(the member's name), project, the receipt or invoice hash, and on every row the
transaction hash and block number that prove it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ledger.abi import hex_text
from ledger.client import Ledger
from ledger.events import Event, deployment_events
from ledger.fund import GENERAL_POOL, NAME, format_amount
from ledger.fund.model import MODEL_EVENTS, FundModel
from ledger.fund.trace import trace_of

GENERAL_POOL_LABEL = "一般资金池 (general pool)"

#: Columns of the export, in order (CSV header and JSON keys).
EXPORT_COLUMNS = (
    "date",
    "timestamp",
    "type",
    "direction",
    "amount",
    "net_amount",
    "amount_units",
    "currency",
    "counterparty",
    "counterparty_member_id",
    "counterparty_account",
    "project_id",
    "project",
    "receipt_id",
    "payout_id",
    "milestone_index",
    "document_hash",
    "description",
    "tx_hash",
    "block_number",
    "log_index",
)

# ------------------------------------------------------------------ event sources


def events_from_chain(ledger: Ledger, names: Iterable[str] = MODEL_EVENTS, chunk: int = 10_000) -> list[Event]:
    """The fund's events (default: those its reducer folds) read from the chain
    (:func:`~ledger.events.deployment_events`)."""
    return deployment_events(ledger, NAME, set(names), chunk)


# ------------------------------------------------------------------ names and titles


@dataclass
class Labels:
    """Names for member ids and accounts, and texts for hashes; looked up once each."""

    member_name: Callable[[int], str]
    member_of: Callable[[str], tuple[int, str] | None]
    text: Callable[[str], str | None]
    _names: dict[int, str] = field(default_factory=dict)
    _accounts: dict[str, tuple[int, str] | None] = field(default_factory=dict)

    def name(self, member_id: int) -> str:
        if member_id not in self._names:
            self._names[member_id] = self.member_name(member_id) if member_id else ""
        return self._names[member_id]

    def account(self, address: str) -> tuple[int, str] | None:
        key = address.lower()
        if key not in self._accounts:
            self._accounts[key] = self.member_of(address)
        return self._accounts[key]


def labels_for(ledger: Ledger, texts: Mapping[str, str]) -> Labels:
    """Labels from the membership registry on ``ledger`` and the document store's texts."""
    from ledger.membership import Registry

    reg = Registry(ledger)

    def member_of(address: str) -> tuple[int, str] | None:
        m = reg.member_of(address)
        return (m.id, m.name) if m else None

    return Labels(lambda i: reg.member(i).name, member_of, lambda h: texts.get(h.lower()))


def project_titles(model: FundModel, labels: Labels) -> dict[int, str]:
    """Project id → title (from the document store; the title hash if the text is unknown)."""
    out: dict[int, str] = {}
    for pid, p in model.projects.items():
        h = hex_text(p.title_hash)
        out[pid] = labels.text(h) or h
    return out


def _project_label(project_id: int, titles: Mapping[int, str]) -> str:
    if project_id == GENERAL_POOL:
        return GENERAL_POOL_LABEL
    return titles.get(project_id, f"#{project_id}")


# ------------------------------------------------------------------ contributor trace


@dataclass(frozen=True)
class FundingItem:
    payout_id: int
    project_id: int
    project: str
    milestone_index: int
    amount: int
    source: str  # earmarked | general
    block_number: int
    tx_hash: str


@dataclass(frozen=True)
class ContributionItem:
    receipt_id: int
    earmark_project_id: int  # 0: the general pool
    earmark: str
    amount: int
    block_number: int
    tx_hash: str
    fundings: list[FundingItem]
    spent: int
    refunded: int
    unspent: int
    refundable: int


@dataclass(frozen=True)
class ContributorTrace:
    """Every contribution of one member: the payouts it funded, what was refunded, what is unspent."""

    member_id: int
    member_name: str
    currency: str
    decimals: int
    contributions: list[ContributionItem]
    total_contributed: int
    total_spent: int
    total_refunded: int
    total_unspent: int
    total_refundable: int
    projects_funded: list[int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def contributor_trace(
    model: FundModel, now: int, member_id: int, labels: Labels, currency: str, decimals: int
) -> ContributorTrace:
    """The trace of ``member_id``'s contributions (all of them, by receipt id), as the tracing
    rule attributes them over ``model`` at ``now`` (what is refundable then)."""
    trace = trace_of(model, now)
    titles = project_titles(model, labels)
    items = []
    for c in trace.contributions.values():
        if c.member_id != member_id:
            continue
        items.append(
            ContributionItem(
                receipt_id=c.receipt_id,
                earmark_project_id=c.project_id,
                earmark=_project_label(c.project_id, titles),
                amount=c.amount,
                block_number=c.block,
                tx_hash=c.tx_hash,
                fundings=[
                    FundingItem(f.payout_id, f.project_id, _project_label(f.project_id, titles), f.milestone_index,
                                f.amount, f.source, f.block, f.tx_hash)
                    for f in c.fundings
                ],
                spent=c.spent,
                refunded=c.refunded,
                unspent=c.unspent,
                refundable=c.refundable,
            )
        )
    return ContributorTrace(
        member_id=member_id,
        member_name=labels.name(member_id),
        currency=currency,
        decimals=decimals,
        contributions=items,
        total_contributed=sum(i.amount for i in items),
        total_spent=sum(i.spent for i in items),
        total_refunded=sum(i.refunded for i in items),
        total_unspent=sum(i.unspent for i in items),
        total_refundable=sum(i.refundable for i in items),
        projects_funded=sorted({f.project_id for i in items for f in i.fundings}),
    )


# ------------------------------------------------------------------ export


@dataclass(frozen=True)
class ExportRow:
    date: str  # ISO 8601, UTC, of the block
    timestamp: int
    type: str  # contribution | payout | refund
    direction: str  # in | out (of the fund)
    amount: str  # decimal, positive
    net_amount: str  # decimal, signed from the fund's side
    amount_units: int  # smallest token unit (分)
    currency: str
    counterparty: str  # member name (or the account when not a member)
    counterparty_member_id: int
    counterparty_account: str
    project_id: int
    project: str
    receipt_id: int | None
    payout_id: int | None
    milestone_index: int | None
    document_hash: str  # contribution: memo hash; payout: invoice/receipt hash; refund: the contribution's memo hash
    description: str  # the document's text when the document store has it
    tx_hash: str
    block_number: int
    log_index: int


def export_rows(
    model: FundModel,
    labels: Labels,
    currency: str,
    decimals: int,
    *,
    kinds: Iterable[str] = ("contribution", "payout", "refund"),
    since: int | None = None,
    until: int | None = None,
) -> list[ExportRow]:
    """One row per contribution, payout and refund of ``model``, in chain order."""
    want = set(kinds)
    titles = project_titles(model, labels)
    rows: list[ExportRow] = []

    def date(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def row(where: tuple[int, int, str, int], type_: str, amount: int, member_id: int, account: str,
            project_id: int, receipt: int | None, payout: int | None, milestone: int | None, doc: str) -> ExportRow:
        block, log_index, tx_hash, ts = where
        out = type_ == "payout" or type_ == "refund"
        zero = int(doc, 16) == 0 if doc else True
        return ExportRow(
            date=date(ts),
            timestamp=ts,
            type=type_,
            direction="out" if out else "in",
            amount=format_amount(amount, decimals),
            net_amount=format_amount(-amount if out else amount, decimals),
            amount_units=amount,
            currency=currency,
            counterparty=labels.name(member_id) if member_id else account,
            counterparty_member_id=member_id,
            counterparty_account=account,
            project_id=project_id,
            project=_project_label(project_id, titles),
            receipt_id=receipt,
            payout_id=payout,
            milestone_index=milestone,
            document_hash="" if zero else doc,
            description="" if zero else (labels.text(doc.lower()) or ""),
            tx_hash=tx_hash,
            block_number=block,
            log_index=log_index,
        )

    if "contribution" in want:
        for c in model.contributions.values():
            ev = c.event
            rows.append(row((ev.block_number, ev.log_index, ev.tx_hash, ev.block_time), "contribution", c.amount,
                            c.member_id, c.contributor, c.project_id, c.id, None, None, hex_text(c.memo_hash)))
    if "payout" in want:
        for p in model.payouts:
            who = labels.account(p.beneficiary)
            rows.append(row((p.block_number, p.log_index, p.tx_hash, p.block_time), "payout", p.amount,
                            who[0] if who else 0, p.beneficiary, p.project_id, None, p.payout_id, p.milestone_index,
                            hex_text(p.invoice_hash)))
    if "refund" in want:
        for r in model.refunds:
            paid = model.contributions.get(r.receipt_id)
            rows.append(row((r.block_number, r.log_index, r.tx_hash, r.block_time), "refund", r.amount, r.member_id,
                            r.to, r.project_id, r.receipt_id, None, None, hex_text(paid.memo_hash) if paid else ""))
    rows.sort(key=lambda r: (r.block_number, r.log_index))
    return [r for r in rows if (since is None or r.timestamp >= since) and (until is None or r.timestamp <= until)]


def export_csv(rows: Iterable[ExportRow]) -> str:
    """CSV text with a header row (UTF-8; callers writing files add a BOM for spreadsheet programs)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(EXPORT_COLUMNS), lineterminator="\r\n")
    w.writeheader()
    for r in rows:
        d = asdict(r)
        w.writerow({k: "" if d[k] is None else d[k] for k in EXPORT_COLUMNS})
    return buf.getvalue()


def export_json(rows: Iterable[ExportRow]) -> str:
    data = [asdict(r) for r in rows]
    return json.dumps({"data": data, "count": len(data)}, ensure_ascii=False, indent=1) + "\n"
