"""The fund's pages: the overview, the money movements behind its figures, projects, the trace."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from api.portal.views.common import (
    ACCOUNT,
    CREDIT,
    DECIMALS,
    FUND,
    FUND_MONEY_EVENTS,
    MOTION_KINDS,
    Texts,
    events,
    indexed,
    link,
    now_of,
    plain_hex,
)
from api.services.names import Members
from ledger.errors import IntegrityError
from ledger.events import Event
from ledger.fund.model import FundModel
from ledger.fund.trace import CONTRIBUTOR_KINDS, FundTrace, trace_of

if TYPE_CHECKING:
    from ledger.index import Indexer


# ----------------------------------------------------------------------------- overview


def _token_flows(
    index: Indexer | None, members: Members, contributed: Mapping[str, int]
) -> tuple[int | None, list[dict[str, Any]]]:
    """The fund's token balance from the token's ``Transfer`` events (None when the token is not
    indexed), and the transfers into the fund that no ``contribute`` in their transaction accounts
    for (money sent straight to the fund's address). ``contributed``: tx hash -> contributed."""
    fund = index.contracts.get(FUND) if index is not None else None
    if fund is None or not indexed(index, CREDIT):
        return None, []
    balance = 0
    inflow: dict[str, list[Event]] = defaultdict(list)
    for e in events(index, CREDIT, "Transfer", args={"to": fund}):
        balance += int(e.args["value"])
        inflow[e.tx_hash].append(e)
    for e in events(index, CREDIT, "Transfer", args={"from": fund}):
        balance -= int(e.args["value"])
    outside: list[dict[str, Any]] = []
    for tx_hash, transfers in inflow.items():
        extra = sum(int(t.args["value"]) for t in transfers) - contributed.get(tx_hash, 0)
        if extra > 0:
            first = transfers[0]
            sender = members.of_account(str(first.args["from"]))
            outside.append({"tx_hash": tx_hash, "href": link(tx_hash), "block": first.block_number,
                            "time": first.block_time, "amount": extra, "who": sender.name if sender else None})
    outside.sort(key=lambda o: (o["block"], o["tx_hash"]))
    return balance, outside


def overview(index: Indexer | None, latest: int = 12) -> dict[str, Any]:
    """The fund at a glance. ``GET /api/v1/public/overview`` answers exactly this.

    ``balance`` is what the fund holds: its token balance, from the token's ``Transfer``
    events in the index (``balance_source`` ``"token"``), or, when the token is not indexed,
    contributions − payouts − refunds (``"fund events"``). ``accounted_balance`` is always the
    latter; ``outside_contribute`` is money that reached the fund without ``contribute`` (direct
    transfers, each in ``outside_transfers`` with its transaction).
    """
    members = Members.load(index)
    by_kind = dict.fromkeys(CONTRIBUTOR_KINDS, 0)
    contributed = paid = refunded = 0
    n_contrib = n_payouts = n_refunds = n_projects = 0
    series: list[dict[str, Any]] = []
    activity: list[dict[str, Any]] = []
    by_tx: Counter[str] = Counter()  # contributed per transaction
    last_block: int | None = None
    if indexed(index, FUND):
        last_block = index.last_block()
        running_in = running_out = 0
        for e in events(index, FUND):
            a = e.args
            item: dict[str, Any] | None = None
            if e.name == "ContributionReceived":
                amount = int(a["amount"])
                kind_no = int(a["kind"])
                kind = CONTRIBUTOR_KINDS[kind_no] if kind_no < len(CONTRIBUTOR_KINDS) else str(kind_no)
                by_kind[kind] = by_kind.get(kind, 0) + amount
                contributed += amount
                running_in += amount
                n_contrib += 1
                by_tx[e.tx_hash] += amount
                item = {"amount": amount, "direction": "in", "kind": kind,
                        "who": members.name(int(a["memberId"])), "project_id": int(a["projectId"]),
                        "receipt_id": int(a["receiptId"])}
            elif e.name in ("PayoutMade", "RefundClaimed"):
                amount = int(a["amount"])
                running_out += amount
                item = {"amount": amount, "direction": "out", "project_id": int(a["projectId"])}
                if e.name == "PayoutMade":
                    paid += amount
                    n_payouts += 1
                    item.update(payout_id=int(a["payoutId"]), milestone_index=int(a["milestoneIndex"]))
                else:
                    refunded += amount
                    n_refunds += 1
                    item.update(receipt_id=int(a["receiptId"]), who=members.name(int(a["memberId"])))
            elif e.name == "ProjectProposed":
                n_projects += 1
                item = {"project_id": int(a["projectId"]), "who": members.name(int(a["proposerId"])),
                        "amount": int(a["budget"]), "direction": "none"}
            elif e.name in ("ProjectApproved", "ProjectRejected", "ProjectCancelled", "ProjectCompleted"):
                item = {"project_id": int(a["projectId"]), "direction": "none", "amount": None}
            if e.name in FUND_MONEY_EVENTS:
                series.append({"time": e.block_time, "block": e.block_number, "tx_hash": e.tx_hash,
                               "in": running_in, "out": running_out})
            if item is not None:
                activity.append({"event": e.name, "block": e.block_number, "time": e.block_time, "tx_hash": e.tx_hash,
                                 "href": link(e.tx_hash), **item})
    token_balance, outside = _token_flows(index, members, by_tx)
    accounted = contributed - paid - refunded
    return {
        "currency": "CNY",
        "decimals": DECIMALS,
        "balance": accounted if token_balance is None else token_balance,
        "balance_source": "fund events" if token_balance is None else "token",
        "accounted_balance": accounted,
        "outside_contribute": sum(o["amount"] for o in outside),
        "outside_transfers": outside,
        "total_contributed": contributed,
        "total_paid_out": paid,
        "total_refunded": refunded,
        "contributed_by_kind": by_kind,
        "contribution_count": n_contrib,
        "payout_count": n_payouts,
        "refund_count": n_refunds,
        "project_count": n_projects,
        "last_block": last_block,
        "series": series,
        "latest": list(reversed(activity))[:latest],
    }


# ----------------------------------------------------------------------------- activity (the figures' sources)


def activity(index: Indexer | None, event: str | None = None, kind: str | None = None,
             project_id: int | None = None) -> list[dict[str, Any]]:
    """The money movements behind a figure: every contribution / payout / refund, newest first."""
    if not indexed(index, FUND):
        return []
    members = Members.load(index)
    wanted = (event,) if event in FUND_MONEY_EVENTS else FUND_MONEY_EVENTS
    out: list[dict[str, Any]] = []
    for e in events(index, FUND):
        if e.name not in wanted:
            continue
        a = e.args
        if project_id is not None and int(a["projectId"]) != project_id:
            continue
        row: dict[str, Any] = {"event": e.name, "block": e.block_number, "time": e.block_time, "tx_hash": e.tx_hash,
                               "href": link(e.tx_hash), "amount": int(a["amount"]),
                               "project_id": int(a["projectId"])}
        if e.name == "ContributionReceived":
            k = int(a["kind"])
            row["kind"] = CONTRIBUTOR_KINDS[k] if k < len(CONTRIBUTOR_KINDS) else str(k)
            if kind is not None and row["kind"] != kind:
                continue
            row["who"] = members.name(int(a["memberId"]))
            row["receipt_id"] = int(a["receiptId"])
        elif kind is not None:
            continue
        elif e.name == "PayoutMade":
            row["payout_id"] = int(a["payoutId"])
            row["invoice_hash"] = plain_hex(a["invoiceHash"])
        else:
            row["receipt_id"] = int(a["receiptId"])
            row["who"] = members.name(int(a["memberId"]))
        out.append(row)
    out.reverse()
    return out


# ----------------------------------------------------------------------------- projects


def projects(index: Indexer | None, now: int | None = None, texts: Texts | None = None) -> list[dict[str, Any]]:
    """Every project with its budget, milestones, motions and votes, payouts and what is left.

    States and amounts are the fund's reducer's (:class:`~ledger.fund.model.FundModel`, the
    contract's rules at ``now``); the events folded into it also give each item its
    transactions. Titles and milestone descriptions come from ``texts`` (one lookup for every
    hash), which gives only texts that hash (keccak256) to the on-chain hash: the page never
    shows a text the chain does not vouch for.
    """
    if not indexed(index, FUND):
        return []
    now = now if now is not None else now_of(index)
    members = Members.load(index)
    model = FundModel()
    projs: dict[int, dict[str, Any]] = {}
    motions: dict[int, dict[str, Any]] = {}
    for e in events(index, FUND):
        model.apply(e)
        a = e.args
        pid = int(a["projectId"]) if "projectId" in a else None
        if e.name == "ProjectProposed":
            assert pid is not None
            ben = members.of_account(str(a["beneficiary"]))
            projs[pid] = {
                "id": pid, "href": f"/projects/{pid}",
                "proposer": members.name(int(a["proposerId"])),
                "beneficiary": ben.name if ben else None,
                "title_hash": plain_hex(a["titleHash"]).lower(), "title": None,
                "budget": int(a["budget"]), "proposed_tx": e.tx_hash, "proposed_at": e.block_time,
                "milestones": [], "motions": [], "payouts": [], "contributions": [],
                "unlocks_at": None, "approved_tx": None, "closed_tx": None,
            }
        elif e.name == "MilestoneDefined" and pid in projs:
            projs[pid]["milestones"].append({
                "index": int(a["index"]), "description": None,
                "description_hash": plain_hex(a["descriptionHash"]).lower(), "tx_hash": e.tx_hash})
        elif e.name == "MotionProposed":
            mid = int(a["motionId"])
            k = int(a["kind"])
            motions[mid] = {"id": mid, "kind": MOTION_KINDS[k] if k < len(MOTION_KINDS) else str(k),
                            "project_id": pid, "amount": int(a["amount"]),
                            "proposer": members.name(int(a["proposerId"])), "tx_hash": e.tx_hash,
                            "time": e.block_time, "approvals": [], "rejections": [], "decided_tx": None}
            if pid in projs:
                projs[pid]["motions"].append(motions[mid])
        elif e.name == "VoteCast" and int(a["motionId"]) in motions:
            vote = {"member": members.name(int(a["memberId"])), "tx_hash": e.tx_hash, "time": e.block_time}
            motions[int(a["motionId"])]["approvals" if a["support"] else "rejections"].append(vote)
        elif e.name == "MotionDecided" and int(a["motionId"]) in motions:
            motions[int(a["motionId"])]["decided_tx"] = e.tx_hash
        elif e.name == "ProjectApproved" and pid in projs:
            projs[pid].update(unlocks_at=int(a["unlocksAt"]), approved_tx=e.tx_hash)
        elif e.name in ("ProjectRejected", "ProjectCancelled", "ProjectCompleted") and pid in projs:
            projs[pid]["closed_tx"] = e.tx_hash
        elif e.name == "ContributionReceived" and pid in projs:
            k = int(a["kind"])
            projs[pid]["contributions"].append({
                "receipt_id": int(a["receiptId"]), "amount": int(a["amount"]), "tx_hash": e.tx_hash,
                "kind": CONTRIBUTOR_KINDS[k] if k < len(CONTRIBUTOR_KINDS) else str(k),
                "who": members.name(int(a["memberId"])), "time": e.block_time})
        elif e.name == "PayoutMade" and pid in projs:
            projs[pid]["payouts"].append({
                "payout_id": int(a["payoutId"]), "milestone_index": int(a["milestoneIndex"]),
                "amount": int(a["amount"]), "invoice_hash": plain_hex(a["invoiceHash"]),
                "treasurer": members.name(int(a["treasurerId"])), "from_earmarked": int(a["fromEarmarked"]),
                "from_general": int(a["fromGeneral"]), "tx_hash": e.tx_hash, "time": e.block_time})
    known = texts([h for p in projs.values() for h in (p["title_hash"], *(m["description_hash"]
                                                                          for m in p["milestones"]))]) if texts else {}
    for pid, p in projs.items():
        record = model.projects[pid]
        view = model.project(record, now)
        p["title"] = known.get(p["title_hash"])
        for ms, state in zip(p["milestones"], model.milestones(record), strict=False):
            ms.update(amount=state.amount, paid=state.paid, description=known.get(ms["description_hash"]))
        p.update(state=view.state.name.lower(), earmarked=view.earmarked, allocated=view.allocated,
                 paid=view.paid, refunded=view.refunded, released=view.allocation_released,
                 left=view.budget - view.paid, available=view.available)
        if p["unlocks_at"] is None and view.unlocks_at:
            p["unlocks_at"] = view.unlocks_at  # approved at its deadline, not recorded yet
        for m in p["motions"]:
            m["state"] = model.derive(model.motions[m["id"]], now)[0].name.lower()
    return [projs[k] for k in sorted(projs)]


def project(index: Indexer | None, project_id: int, texts: Texts | None = None) -> dict[str, Any] | None:
    for p in projects(index, texts=texts):
        if p["id"] == project_id:
            return p
    return None


# ----------------------------------------------------------------------------- fund-flow trace


def fund_trace(index: Indexer | None, now: int | None = None) -> FundTrace | None:
    """The tracing rule's view of the fund's reducer at ``now`` (default: :func:`now_of`)."""
    if not indexed(index, FUND):
        return None
    return trace_of(FundModel.of(events(index, FUND)), now if now is not None else now_of(index))


def canonical_query(query: str | None) -> str | None:
    """A trace search as one spelling: a receipt id (``"#012"`` → ``"12"``) or a lowercase
    account; None when it is neither."""
    q = (query or "").strip().lstrip("#")
    if q.isdigit() and len(q) <= 30:
        return str(int(q))
    if ACCOUNT.match(q):
        return q.lower()
    return None


def contributions(
    index: Indexer | None, query: str, trace: Callable[[], FundTrace | None] | None = None
) -> dict[str, Any]:
    """Where the money of one receipt, or of one contributor account, went (ledger.fund.trace's rule).

    ``query``: a receipt id (``12`` or ``#12``) or a contributor account (0x + 40 hex).
    The answer names the member and its kind, never the account. ``trace``: the fund's trace
    (one per index version, shared by every query), computed here when not given.
    """
    result: dict[str, Any] = {"query": query.strip(), "valid": True, "contributions": [], "flows": [],
                              "error": None}
    q = canonical_query(query)
    receipt: int | None = None
    account: str | None = None
    if q is None:
        result["valid"] = False
        return result
    if q.isdigit():
        receipt = int(q)
    else:
        account = q
    try:
        traced = trace() if trace is not None else fund_trace(index)
    except IntegrityError as exc:
        result["error"] = str(exc)
        return result
    if traced is None:
        return result
    members = Members.load(index)
    flows: dict[tuple[int, str], int] = defaultdict(int)
    for c in traced.contributions.values():
        if receipt is not None and c.receipt_id != receipt:
            continue
        if account is not None and c.contributor.lower() != account:
            continue
        per_project: dict[int, int] = defaultdict(int)
        for f in c.fundings:
            per_project[f.project_id] += f.amount
            flows[(c.receipt_id, f"p{f.project_id}")] += f.amount
        if c.refunded:
            flows[(c.receipt_id, "refunded")] += c.refunded
        if c.unspent:
            flows[(c.receipt_id, "unspent")] += c.unspent
        result["contributions"].append({
            "receipt_id": c.receipt_id, "who": members.name(c.member_id), "kind": c.kind,
            "earmark": c.project_id, "amount": c.amount, "tx_hash": c.tx_hash, "block": c.block,
            "spent": c.spent, "refunded": c.refunded, "unspent": c.unspent, "refundable": c.refundable,
            "projects": [{"project_id": pid, "amount": amt, "href": f"/projects/{pid}"}
                         for pid, amt in sorted(per_project.items())],
            "fundings": [{"payout_id": f.payout_id, "project_id": f.project_id, "milestone_index": f.milestone_index,
                          "amount": f.amount, "source": f.source, "tx_hash": f.tx_hash} for f in c.fundings],
        })
    result["flows"] = [{"receipt_id": rid, "target": target, "amount": amt}
                       for (rid, target), amt in sorted(flows.items())]
    return result
