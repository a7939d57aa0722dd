"""View models of the transparency portal: plain data computed from the event index alone.

Each function here is what one page shows (and, for the overview, what
``GET /api/v1/public/overview`` answers): the page and the JSON come from the same
function, so they cannot disagree. Nothing here reads a purpose text, a dataset's
contents or an account of a resident: members appear by organisation name and kind,
contributions by contributor kind and member name. The only off-chain texts shown are the
public ones (project titles, milestone descriptions), looked up by the hashes the
events carry (``texts``: :meth:`ledger.fund.docs.DocStore.texts` over public kinds).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from ledger.errors import IntegrityError, LedgerError
from ledger.events import Event
from ledger.fund.trace import CONTRIBUTOR_KINDS, GENERAL_POOL, FundTrace, trace_fund

if TYPE_CHECKING:
    from ledger.client import Ledger
    from ledger.index import Indexer
    from ledger.manifest import Manifest

#: Public texts by on-chain hash: ``texts(hashes)`` → {lowercase 0x hash: text}.
Texts = Callable[[Collection[str]], Mapping[str, str]]

FUND = "CoGovFund"
REGISTRY = "MembershipRegistry"
DATA = "DataSharing"
CREDIT = "CommunityCredit"
DECIMALS = 2  # CommunityCredit: 1 unit = 0.01 CNY (one 分)
_PAGE = 5000

MEMBER_KINDS = ("department", "enterprise", "resident_group", "auditor")  # IMembershipRegistry.MemberKind
CLASSIFICATIONS = ("public", "internal", "sensitive", "secret")  # IDataSharing.Classification
REFUSAL_REASONS = ("no_grant", "grant_expired", "grant_revoked", "grant_frozen", "not_grantee", "out_of_scope", "other")
MOTION_KINDS = ("approve_project", "allocate_from_pool", "cancel_project")  # ICoGovFund.MotionKind
FUND_MONEY_EVENTS = ("ContributionReceived", "PayoutMade", "RefundClaimed")
TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
ACCOUNT = re.compile(r"^0x[0-9a-fA-F]{40}$")


# ----------------------------------------------------------------------------- reading


def _events(index: Indexer, contract: str, event: str | None = None, **filters: Any) -> list[Event]:
    """Every matching indexed event, in chain order (paged by key, not by offset)."""
    return list(index.iter_events(_PAGE, contract, event, **filters))


def _indexed(index: Indexer | None, contract: str) -> TypeGuard[Indexer]:
    return index is not None and contract in index.contracts


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    kind: str  # MEMBER_KINDS


@dataclass
class Members:
    """Organisations from the registry's events: id → name/kind, account → id."""

    by_id: dict[int, Member] = field(default_factory=dict)
    by_account: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, index: Indexer | None) -> Members:
        m = cls()
        if not _indexed(index, REGISTRY):
            return m
        for e in _events(index, REGISTRY):
            a = e.args
            if e.name == "MemberAdmitted":
                kind = int(a["kind"])
                mid = int(a["memberId"])
                label = MEMBER_KINDS[kind] if kind < len(MEMBER_KINDS) else str(kind)
                m.by_id[mid] = Member(mid, str(a["name"]), label)
                m.by_account[str(a["account"]).lower()] = mid
            elif e.name == "AccountAdded":
                m.by_account[str(a["account"]).lower()] = int(a["memberId"])
            elif e.name == "AccountRemoved":
                m.by_account.pop(str(a["account"]).lower(), None)
        return m

    def name(self, member_id: int) -> str | None:
        member = self.by_id.get(int(member_id))
        return member.name if member else None

    def of_account(self, account: str) -> Member | None:
        mid = self.by_account.get(str(account).lower())
        return self.by_id.get(mid) if mid is not None else None


def now_of(index: Indexer | None) -> int:
    """The present for derived states: wall clock, or the latest indexed block if later (dev chains jump)."""
    latest = 0
    if index is not None:
        try:
            rows = index.events(limit=1, order="desc")
        except LedgerError:
            rows = []
        if rows:
            latest = rows[0].block_time
    return max(int(time.time()), latest)


def _link(tx_hash: str) -> str:
    return f"/tx/{tx_hash}"


def _iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat().replace("+00:00", "Z")


# ----------------------------------------------------------------------------- overview


def _token_flows(
    index: Indexer | None, members: Members, contributed: Mapping[str, int]
) -> tuple[int | None, list[dict[str, Any]]]:
    """The fund's token balance from the token's ``Transfer`` events (None when the token is not
    indexed), and the transfers into the fund that no ``contribute`` in their transaction accounts
    for (money sent straight to the fund's address). ``contributed``: tx hash -> contributed."""
    fund = index.contracts.get(FUND) if index is not None else None
    if fund is None or not _indexed(index, CREDIT):
        return None, []
    balance = 0
    inflow: dict[str, list[Event]] = defaultdict(list)
    for e in _events(index, CREDIT, "Transfer", args={"to": fund}):
        balance += int(e.args["value"])
        inflow[e.tx_hash].append(e)
    for e in _events(index, CREDIT, "Transfer", args={"from": fund}):
        balance -= int(e.args["value"])
    outside: list[dict[str, Any]] = []
    for tx_hash, transfers in inflow.items():
        extra = sum(int(t.args["value"]) for t in transfers) - contributed.get(tx_hash, 0)
        if extra > 0:
            first = transfers[0]
            sender = members.of_account(str(first.args["from"]))
            outside.append({"tx_hash": tx_hash, "href": _link(tx_hash), "block": first.block_number,
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
    if _indexed(index, FUND):
        last_block = index.last_block()
        running_in = running_out = 0
        for e in _events(index, FUND):
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
            elif e.name == "PayoutMade":
                amount = int(a["amount"])
                paid += amount
                running_out += amount
                n_payouts += 1
                item = {"amount": amount, "direction": "out", "project_id": int(a["projectId"]),
                        "payout_id": int(a["payoutId"]), "milestone_index": int(a["milestoneIndex"])}
            elif e.name == "RefundClaimed":
                amount = int(a["amount"])
                refunded += amount
                running_out += amount
                n_refunds += 1
                item = {"amount": amount, "direction": "out", "project_id": int(a["projectId"]),
                        "receipt_id": int(a["receiptId"]), "who": members.name(int(a["memberId"]))}
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
                                 "href": _link(e.tx_hash), **item})
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
    if not _indexed(index, FUND):
        return []
    members = Members.load(index)
    wanted = (event,) if event in FUND_MONEY_EVENTS else FUND_MONEY_EVENTS
    out: list[dict[str, Any]] = []
    for e in _events(index, FUND):
        if e.name not in wanted:
            continue
        a = e.args
        if project_id is not None and int(a["projectId"]) != project_id:
            continue
        row: dict[str, Any] = {"event": e.name, "block": e.block_number, "time": e.block_time, "tx_hash": e.tx_hash,
                               "href": _link(e.tx_hash), "amount": int(a["amount"]),
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
            row["invoice_hash"] = _hex(a["invoiceHash"])
        else:
            row["receipt_id"] = int(a["receiptId"])
            row["who"] = members.name(int(a["memberId"]))
        out.append(row)
    out.reverse()
    return out


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)


# ----------------------------------------------------------------------------- projects


def _project_state(p: dict[str, Any], now: int) -> str:
    if p["rejected"]:
        return "rejected"
    if p["cancelled"]:
        return "cancelled"
    if p["completed"]:
        return "completed"
    if p["unlocks_at"] is not None:
        return "time_locked" if now < p["unlocks_at"] else "active"
    return "proposed"


def projects(index: Indexer | None, now: int | None = None, texts: Texts | None = None) -> list[dict[str, Any]]:
    """Every project with its budget, milestones, motions and votes, payouts and what is left.

    Titles and milestone descriptions come from ``texts`` (one lookup for every hash), which
    gives only texts that hash (keccak256) to the on-chain hash: the page never shows a text
    the chain does not vouch for.
    """
    if not _indexed(index, FUND):
        return []
    now = now if now is not None else now_of(index)
    members = Members.load(index)
    projs: dict[int, dict[str, Any]] = {}
    motions: dict[int, dict[str, Any]] = {}
    for e in _events(index, FUND):
        a = e.args
        if e.name == "ProjectProposed":
            pid = int(a["projectId"])
            ben = members.of_account(str(a["beneficiary"]))
            projs[pid] = {
                "id": pid, "href": f"/projects/{pid}",
                "proposer": members.name(int(a["proposerId"])),
                "beneficiary": ben.name if ben else None,
                "title_hash": _hex(a["titleHash"]).lower(), "title": None,
                "budget": int(a["budget"]), "proposed_tx": e.tx_hash, "proposed_at": e.block_time,
                "milestones": [], "motions": [], "payouts": [], "contributions": [],
                "earmarked": 0, "allocated": 0, "paid": 0, "refunded": 0, "released": 0,
                "unlocks_at": None, "approved_tx": None, "closed_tx": None,
                "rejected": False, "cancelled": False, "completed": False,
            }
        elif e.name == "MilestoneDefined" and int(a["projectId"]) in projs:
            projs[int(a["projectId"])]["milestones"].append({
                "index": int(a["index"]), "amount": int(a["amount"]), "paid": 0, "description": None,
                "description_hash": _hex(a["descriptionHash"]).lower(), "tx_hash": e.tx_hash})
        elif e.name == "MotionProposed":
            mid = int(a["motionId"])
            k = int(a["kind"])
            motions[mid] = {"id": mid, "kind": MOTION_KINDS[k] if k < len(MOTION_KINDS) else str(k),
                            "project_id": int(a["projectId"]), "amount": int(a["amount"]),
                            "proposer": members.name(int(a["proposerId"])), "tx_hash": e.tx_hash,
                            "time": e.block_time, "approvals": [], "rejections": [], "state": "open",
                            "decided_tx": None}
            if int(a["projectId"]) in projs:
                projs[int(a["projectId"])]["motions"].append(motions[mid])
        elif e.name == "VoteCast" and int(a["motionId"]) in motions:
            vote = {"member": members.name(int(a["memberId"])), "tx_hash": e.tx_hash, "time": e.block_time}
            motions[int(a["motionId"])]["approvals" if a["support"] else "rejections"].append(vote)
        elif e.name == "MotionDecided" and int(a["motionId"]) in motions:
            m = motions[int(a["motionId"])]
            m["state"] = "passed" if a["passed"] else "failed"
            m["decided_tx"] = e.tx_hash
        elif e.name == "ProjectApproved" and int(a["projectId"]) in projs:
            projs[int(a["projectId"])].update(unlocks_at=int(a["unlocksAt"]), approved_tx=e.tx_hash)
        elif e.name in ("ProjectRejected", "ProjectCancelled", "ProjectCompleted") and int(a["projectId"]) in projs:
            key = {"ProjectRejected": "rejected", "ProjectCancelled": "cancelled", "ProjectCompleted": "completed"}
            projs[int(a["projectId"])].update({key[e.name]: True, "closed_tx": e.tx_hash})
        elif e.name == "AllocationApproved" and int(a["projectId"]) in projs:
            p = projs[int(a["projectId"])]
            p["allocated"] += int(a["amount"])
        elif e.name == "AllocationReleased" and int(a["projectId"]) in projs:
            projs[int(a["projectId"])]["released"] += int(a["amount"])
        elif e.name == "ContributionReceived" and int(a["projectId"]) in projs:
            k = int(a["kind"])
            p = projs[int(a["projectId"])]
            p["earmarked"] += int(a["amount"])
            p["contributions"].append({
                "receipt_id": int(a["receiptId"]), "amount": int(a["amount"]), "tx_hash": e.tx_hash,
                "kind": CONTRIBUTOR_KINDS[k] if k < len(CONTRIBUTOR_KINDS) else str(k),
                "who": members.name(int(a["memberId"])), "time": e.block_time})
        elif e.name == "PayoutMade" and int(a["projectId"]) in projs:
            p = projs[int(a["projectId"])]
            amount = int(a["amount"])
            p["paid"] += amount
            idx = int(a["milestoneIndex"])
            for ms in p["milestones"]:
                if ms["index"] == idx:
                    ms["paid"] += amount
            p["payouts"].append({
                "payout_id": int(a["payoutId"]), "milestone_index": idx, "amount": amount,
                "invoice_hash": _hex(a["invoiceHash"]), "treasurer": members.name(int(a["treasurerId"])),
                "from_earmarked": int(a["fromEarmarked"]), "from_general": int(a["fromGeneral"]),
                "tx_hash": e.tx_hash, "time": e.block_time})
        elif e.name == "RefundClaimed" and int(a["projectId"]) in projs:
            projs[int(a["projectId"])]["refunded"] += int(a["amount"])
    known = texts([h for p in projs.values() for h in (p["title_hash"], *(m["description_hash"]
                                                                          for m in p["milestones"]))]) if texts else {}
    for p in projs.values():
        p["title"] = known.get(p["title_hash"])
        for ms in p["milestones"]:
            ms["description"] = known.get(ms["description_hash"])
        p["state"] = _project_state(p, now)
        closed = p["state"] in ("rejected", "cancelled", "completed")
        p["left"] = p["budget"] - p["paid"]
        p["available"] = 0 if closed else max(p["earmarked"] + p["allocated"] - p["paid"], 0)
        for m in p["motions"]:
            if m["state"] == "open" and closed:
                m["state"] = "lapsed"
    return [projs[k] for k in sorted(projs)]


def project(index: Indexer | None, project_id: int, texts: Texts | None = None) -> dict[str, Any] | None:
    for p in projects(index, texts=texts):
        if p["id"] == project_id:
            return p
    return None


# ----------------------------------------------------------------------------- fund-flow trace


def fund_trace(index: Indexer | None) -> FundTrace | None:
    if not _indexed(index, FUND):
        return None
    used = ("ContributionReceived", "PayoutMade", "RefundClaimed", "ProjectRejected", "ProjectCancelled",
            "ProjectCompleted")
    return trace_fund(e for e in _events(index, FUND) if e.name in used)


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


# ----------------------------------------------------------------------------- data sharing


def _week(ts: int) -> str:
    return _week_of_day(int(ts) // 86400)


@functools.lru_cache(maxsize=4096)
def _week_of_day(day: int) -> str:
    """ISO week of a UTC day number (one computation per day, not per event)."""
    y, w, _ = dt.datetime.fromtimestamp(day * 86400, tz=dt.UTC).isocalendar()
    return f"{y}-W{w:02d}"


def data_sharing(index: Indexer | None) -> dict[str, Any]:
    """Statistics only: counts per department, classification, week and refusal reason."""
    out: dict[str, Any] = {"datasets": [], "grants": [], "weeks": [], "refusals": [], "totals": {}}
    if not _indexed(index, DATA):
        return out
    members = Members.load(index)
    owner_of: dict[int, int] = {}
    by_owner: dict[int, Counter[str]] = defaultdict(Counter)
    requests = denied = 0
    grants: Counter[tuple[int, int]] = Counter()
    accesses: Counter[str] = Counter()
    refused_weeks: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    examples: dict[str, str] = {}  # a transaction for each figure's link
    for e in _events(index, DATA):
        a = e.args
        if e.name == "DatasetRegistered":
            did, owner = int(a["datasetId"]), int(a["ownerId"])
            owner_of[did] = owner
            c = int(a["classification"])
            by_owner[owner][CLASSIFICATIONS[c] if c < len(CLASSIFICATIONS) else str(c)] += 1
            examples.setdefault(f"d{owner}", e.tx_hash)
        elif e.name == "AccessRequested":
            requests += 1
        elif e.name == "RequestDenied":
            denied += 1
        elif e.name == "GrantCreated":
            key = (int(a["granteeId"]), owner_of.get(int(a["datasetId"]), 0))
            grants[key] += 1
            examples[f"g{key}"] = e.tx_hash
        elif e.name == "AccessRecorded":
            wk = _week(e.block_time)
            accesses[wk] += 1
            examples[f"a{wk}"] = e.tx_hash
        elif e.name == "AccessRefused":
            wk = _week(e.block_time)
            refused_weeks[wk] += 1
            r = int(a["reason"])
            reason = REFUSAL_REASONS[r] if r < len(REFUSAL_REASONS) else str(r)
            refusals[reason] += 1
            examples[f"r{reason}"] = e.tx_hash
            examples[f"a{wk}"] = examples.get(f"a{wk}", e.tx_hash)

    def dept(mid: int) -> str:
        return members.name(mid) or f"#{mid}"

    out["datasets"] = [
        {"department": dept(owner), **{c: counts.get(c, 0) for c in CLASSIFICATIONS},
         "total": sum(counts.values()), "tx_hash": examples.get(f"d{owner}")}
        for owner, counts in sorted(by_owner.items())
    ]
    out["grants"] = [
        {"requester": dept(req), "owner": dept(own), "count": n, "tx_hash": examples.get(f"g{(req, own)}")}
        for (req, own), n in sorted(grants.items())
    ]
    out["weeks"] = [
        {"week": wk, "accesses": accesses.get(wk, 0), "refused": refused_weeks.get(wk, 0),
         "tx_hash": examples.get(f"a{wk}")}
        for wk in sorted(set(accesses) | set(refused_weeks))
    ]
    out["refusals"] = [{"reason": r, "count": refusals[r], "tx_hash": examples.get(f"r{r}")}
                       for r in REFUSAL_REASONS if refusals.get(r)]
    out["totals"] = {
        "datasets": len(owner_of), "requests": requests, "denied": denied, "grants": sum(grants.values()),
        "accesses": sum(accesses.values()), "refused": sum(refusals.values()),
    }
    return out


# ----------------------------------------------------------------------------- verification


def verification(manifest: Manifest | None, report_path: Path | None, index: Indexer | None) -> dict[str, Any]:
    """The latest audit verdict (if a report exists) and what anyone needs to verify it themselves."""
    out: dict[str, Any] = {"report": None, "report_path": str(report_path) if report_path else None,
                           "report_error": None, "manifest": None, "contracts": [], "last_block": None}
    if report_path is not None and Path(report_path).is_file():
        try:
            data = json.loads(Path(report_path).read_text(encoding="utf-8"))
            out["report"] = _audit_summary(data)
        except (OSError, ValueError) as exc:
            out["report_error"] = f"{type(exc).__name__}: {exc}"
    if manifest is not None:
        out["manifest"] = {"chain_id": manifest.chain_id, "genesis_hash": manifest.genesis_hash,
                           "compiler": manifest.compiler.version,
                           "settings": json.dumps(manifest.compiler.settings, sort_keys=True, ensure_ascii=False)}
        out["contracts"] = [
            {"name": name, "address": c.address, "runtime_keccak": c.runtime_keccak,
             "block": c.block_number, "tx_hash": c.tx_hash}
            for name, c in sorted(manifest.contracts.items(), key=lambda kv: kv[1].block_number)
        ]
    if index is not None:
        try:
            out["last_block"] = index.last_block()
        except LedgerError:
            out["last_block"] = None
    return out


def _audit_summary(data: Mapping[str, Any]) -> dict[str, Any]:
    """The public part of an audit report: verdict, when, at which block, checks passed/failed."""
    ok = data.get("ok", data.get("passed"))
    verdict = data.get("verdict")
    if ok is None and isinstance(verdict, str):
        ok = verdict.lower() in ("pass", "passed", "ok")
    checks_raw = data.get("checks", [])
    if isinstance(data.get("rules"), list):  # `cogov audit verify`'s report (ledger.audit.findings.AuditReport)
        checks_raw = [
            {"name": r.get("title") or r.get("id"), "ok": not r.get("errors"), "violations": r.get("errors", 0)}
            for r in data["rules"] if isinstance(r, Mapping)
        ]
    checks: list[dict[str, Any]] = []
    items: Iterable[Any] = checks_raw.items() if isinstance(checks_raw, dict) else enumerate(checks_raw)
    for key, c in items:
        if isinstance(c, Mapping):
            name = str(c.get("name", c.get("check", key)))
            passed = c.get("ok", c.get("passed"))
            if passed is None and "status" in c:
                passed = str(c["status"]).lower() in ("ok", "pass", "passed")
            violations = c.get("violations", [])
            checks.append({"name": name, "ok": bool(passed) if passed is not None else None,
                           "violations": len(violations) if isinstance(violations, list) else int(violations or 0)})
        else:
            checks.append({"name": str(key), "ok": bool(c), "violations": 0})
    violations = data.get("violations", [])
    if isinstance(data.get("findings"), list):  # findings' messages stay in the auditor's report
        violations = [f for f in data["findings"] if isinstance(f, Mapping) and f.get("severity", "error") == "error"]
    return {
        "ok": bool(ok) if ok is not None else None,
        "generated_at": data.get("generated_at") or data.get("created_at") or data.get("time"),
        "block": data.get("head_block", data.get("block", data.get("to_block"))),
        "chain_id": data.get("chain_id"),
        "checks": checks,
        "violations": len(violations) if isinstance(violations, list) else int(violations or 0),
    }


# ----------------------------------------------------------------------------- one transaction

# Arguments never shown on the public page (purpose and scope, query and content digests,
# node addresses, data keys, raw proposal payloads, memo digests).
_HIDDEN_ARGS = frozenset({
    "purposeCode", "purposeHash", "scopeHash", "queryHash", "metadataHash", "schemaHash", "contentHash",
    "oldContentHash", "newContentHash", "memoHash", "enodeId", "ip", "port", "nodeKey", "oldKey", "newKey",
    "data", "title", "depositRef", "redemptionRef", "reasonCode", "rowCount",
})
_PUBLIC_HASHES = frozenset({"invoiceHash", "titleHash", "descriptionHash", "merkleRoot"})
_ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("ContributionReceived", "kind"): CONTRIBUTOR_KINDS,
    ("MotionProposed", "kind"): MOTION_KINDS,
    ("MotionDecided", "kind"): MOTION_KINDS,
    ("MemberAdmitted", "kind"): MEMBER_KINDS,
    ("DatasetRegistered", "classification"): CLASSIFICATIONS,
    ("AccessRefused", "reason"): REFUSAL_REASONS,
}


def public_args(event: str, args: Mapping[str, Any], members: Members) -> list[tuple[str, str]]:
    """An event's arguments fit for the public: accounts become organisation names, private digests go."""
    shown: list[tuple[str, str]] = []
    for name, value in args.items():
        if name in _HIDDEN_ARGS:
            continue
        if name == "name" and event != "MemberAdmitted":
            continue
        if isinstance(value, bytes | bytearray):
            if name in _PUBLIC_HASHES:
                shown.append((name, _hex(value)))
            continue
        if isinstance(value, str) and ACCOUNT.match(value):
            m = members.of_account(value)
            shown.append((name, m.name if m else "—"))
            continue
        if isinstance(value, bool):
            shown.append((name, "true" if value else "false"))
            continue
        if isinstance(value, int):
            labels = _ENUMS.get((event, name))
            if labels is not None and 0 <= value < len(labels):
                shown.append((name, labels[value]))
                continue
            if name.endswith("Id") and name in ("memberId", "ownerId", "requesterId", "granteeId", "proposerId",
                                                 "treasurerId", "governanceId", "anchorerId"):
                shown.append((name, members.name(value) or f"#{value}"))
                continue
            shown.append((name, str(value)))
            continue
        if isinstance(value, str) and event == "MemberAdmitted" and name == "name":
            shown.append((name, value))
    return shown


def transaction(index: Indexer | None, ledger: Ledger, tx_hash: str) -> dict[str, Any] | None:
    """One transaction: its receipt from the chain and the decoded events of our contracts from the index."""
    rows = index.events(tx_hash=tx_hash, limit=1000) if index is not None else []
    receipt: dict[str, Any] | None = None
    chain_error: str | None = None
    try:
        receipt = ledger.rpc("eth_getTransactionReceipt", [tx_hash])
    except LedgerError as exc:
        chain_error = exc.message if hasattr(exc, "message") else str(exc)
    if not rows and not receipt:
        return None
    members = Members.load(index)
    contracts = {addr.lower(): name for name, addr in (index.contracts.items() if index is not None else [])}
    out: dict[str, Any] = {"tx_hash": tx_hash.lower(), "chain_error": chain_error, "receipt": None, "events": []}
    if receipt:
        sender = members.of_account(str(receipt.get("from", "")))
        to = str(receipt.get("to") or "")
        out["receipt"] = {
            "status": "success" if int(str(receipt.get("status", "0x0")), 16) == 1 else "failed",
            "block": int(str(receipt["blockNumber"]), 16),
            "gas_used": int(str(receipt.get("gasUsed", "0x0")), 16),
            "from": sender.name if sender else None,
            "to": contracts.get(to.lower(), "—") if to else "—",
            "to_address": to if to.lower() in contracts else None,
        }
    for r in rows:
        out["events"].append({"contract": r.contract, "event": r.name, "log_index": r.log_index,
                              "block": r.block_number, "time": r.block_time,
                              "args": public_args(r.name, r.args, members)})
    if rows:
        out["time"] = rows[0].block_time
        out["block"] = rows[0].block_number
    elif out["receipt"]:
        out["block"] = out["receipt"]["block"]
        out["time"] = None
    return out


__all__ = [
    "CONTRIBUTOR_KINDS",
    "DECIMALS",
    "GENERAL_POOL",
    "Members",
    "activity",
    "canonical_query",
    "contributions",
    "data_sharing",
    "fund_trace",
    "now_of",
    "overview",
    "project",
    "projects",
    "transaction",
    "verification",
]
