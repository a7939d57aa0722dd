"""The data-sharing page: datasets, grants, accesses and refusals by week, entries of the access logs."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from api.portal.views.common import (
    CLASSIFICATIONS,
    DATA,
    REFUSAL_REASONS,
    events,
    indexed,
)
from api.services.names import Members
from ledger.data.checkpoints import NAME as CHECKPOINTS
from ledger.data.purposes import PURPOSES

if TYPE_CHECKING:
    from ledger.index import Indexer


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
    out["purposes"] = [{"code": p.code, "zh": p.zh, "en": p.en, "requests": 0, "grants": 0} for p in PURPOSES.values()]
    if not indexed(index, DATA):
        return out
    members = Members.load(index)
    owner_of: dict[int, int] = {}
    by_owner: dict[int, Counter[str]] = defaultdict(Counter)
    requests = denied = 0
    purpose_of: dict[int, int] = {}  # request -> its purpose code
    by_purpose: dict[str, Counter[int]] = {"requests": Counter(), "grants": Counter()}
    grants: Counter[tuple[int, int]] = Counter()
    accesses: Counter[str] = Counter()
    refused_weeks: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    examples: dict[str, str] = {}  # a transaction for each figure's link
    for e in events(index, DATA):
        a = e.args
        if e.name == "DatasetRegistered":
            did, owner = int(a["datasetId"]), int(a["ownerId"])
            owner_of[did] = owner
            c = int(a["classification"])
            by_owner[owner][CLASSIFICATIONS[c] if c < len(CLASSIFICATIONS) else str(c)] += 1
            examples.setdefault(f"d{owner}", e.tx_hash)
        elif e.name == "AccessRequested":
            requests += 1
            purpose_of[int(a["requestId"])] = int(a.get("purposeCode", 0))
            by_purpose["requests"][purpose_of[int(a["requestId"])]] += 1
        elif e.name == "RequestDenied":
            denied += 1
        elif e.name == "GrantCreated":
            key = (int(a["granteeId"]), owner_of.get(int(a["datasetId"]), 0))
            grants[key] += 1
            examples[f"g{key}"] = e.tx_hash
            by_purpose["grants"][purpose_of.get(int(a["requestId"]), 0)] += 1
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
    for row in out["purposes"]:  # the vocabulary, each code with its counts
        row["requests"], row["grants"] = by_purpose["requests"][row["code"]], by_purpose["grants"][row["code"]]
    out["totals"] = {
        "datasets": len(owner_of), "requests": requests, "denied": denied, "grants": sum(grants.values()),
        "accesses": sum(accesses.values()), "refused": sum(refusals.values()), "logged": _logged(index),
    }
    return out


def _logged(index: Indexer) -> int:
    """Entries of the gateways' transparency logs anchored on chain (accesses and refusals of the
    datasets served in log mode): each log's latest anchored size, summed."""
    if not indexed(index, CHECKPOINTS):
        return 0
    size: dict[int, int] = {}
    for e in events(index, CHECKPOINTS):
        if e.name == "CheckpointAnchored":
            log = int(e.args["logId"])
            size[log] = max(size.get(log, 0), int(e.args["treeSize"]))
    return sum(size.values())
