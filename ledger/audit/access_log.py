"""Rule 4b, access transparency logs: each supplied log against the checkpoints anchored on chain.

A log (``ledger.translog``; one per dataset-owner member, log id = member id) is read from a
folder (``--access-log DIR``: one log's folder, named by its id, or a folder of them) or from
an API's entries route with an auditor's key (``--access-logs-api``, at ``--api-url``). Its
checkpoints are the chain's ``CheckpointAnchored`` events for that log id. Every rule is
judged from the entries and the chain alone:

* ``data.log-checkpoint-mismatch``: the log's root at every anchored size is the anchored
  root (so each checkpoint is consistent with the previous one: both are roots of one list of
  entries); a log shorter than an anchored size lost entries;
* ``data.log-entry-outside-grant``: every access entry names a grant on that dataset, of a
  dataset of the log's member, to the entry's member, active at the entry's time (granted,
  not expired, revoked or frozen; the data reducer's history); every entry parses;
* ``data.log-entry-late``: every entry is under a checkpoint anchored within the MMD of its
  time, or is not due yet at the audited head;
* ``data.log-receipt-invalid``: every supplied receipt (``--receipts DIR``: receipt JSON files,
  or fetch answers holding one) verifies with ``ledger.translog.receipt.verify_receipt`` against
  an inclusion proof built from the supplied log: a receipt whose leaf is not the anchored
  tree's (an entry withheld or changed) is a violation, and so is a forged signature.

The scope mask and the count of a grant (k17-scopes' ``field_mask`` / ``max_accesses``) are
not judged here yet.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.audit.collect import Collector
from ledger.audit.replay.data import DataReplay
from ledger.client import Ledger
from ledger.data import GrantState
from ledger.data.checkpoints import NAME as CHECKPOINTS
from ledger.data.scopes import is_subset
from ledger.events import Event
from ledger.translog import LogReader, merkle
from ledger.translog.receipt import InclusionProof, Receipt, verify_receipt

#: entries read at once from a folder
_CHUNK = 10_000


@dataclass(frozen=True)
class Anchored:
    """One anchored checkpoint of a log, from its event."""

    size: int
    root: bytes
    anchored_at: int
    event: Event


def anchored_checkpoints(events: Iterable[Event]) -> dict[int, list[Anchored]]:
    """Every log's checkpoints (by log id), in anchoring order, from the chain's events."""
    out: dict[int, list[Anchored]] = {}
    for e in events:
        if e.contract == CHECKPOINTS and e.name == "CheckpointAnchored":
            a = e.args
            out.setdefault(int(a["logId"]), []).append(
                Anchored(int(a["treeSize"]), bytes(a["rootHash"]), e.block_time, e)
            )
    return out


def logs_in(paths: Sequence[Path]) -> dict[int, Callable[[], list[bytes] | None]]:
    """The logs in ``paths`` (a log's folder, named by its id, or a folder of such): id -> its entries' reader."""
    found: dict[int, Callable[[], list[bytes] | None]] = {}
    for p in paths:
        dirs = [p] if (p / "level-00").is_file() else sorted(d for d in p.iterdir() if (d / "level-00").is_file())
        for d in dirs:
            if d.name.isdigit():
                found[int(d.name)] = lambda d=d: _read_folder(d)  # type: ignore[misc]
    return found


def _read_folder(d: Path) -> list[bytes]:
    with LogReader(d) as log:
        size = log.size
        return [e for start in range(0, size, _CHUNK) for e in log.entries(start, min(size, start + _CHUNK))]


def read_receipts(paths: Sequence[Path]) -> list[tuple[str, Receipt | str]]:
    """(file, receipt or why it is none) for every ``*.json`` in ``paths``."""
    out: list[tuple[str, Receipt | str]] = []
    for p in paths:
        for f in sorted(p.glob("*.json")) if p.is_dir() else [p]:
            try:
                doc = json.loads(f.read_text(encoding="utf-8"))
                out.append((str(f), Receipt.from_json(doc.get("receipt") or doc)))
            except Exception as exc:  # a file that is no receipt is reported, not fatal
                out.append((str(f), f"not a receipt: {exc}"))
    return out


def check_access_log(
    log_id: int,
    entries: Sequence[bytes],
    anchored: Sequence[Anchored],
    data: DataReplay,
    out: Collector,
    *,
    head_time: int,
    mmd: int,
) -> merkle.MemoryNodes:
    """Every rule on one log but the receipts'; answers the log's tree (for the receipts' proofs)."""
    nodes = merkle.MemoryNodes(merkle.leaf_hash(e) for e in entries)
    for a in anchored:
        ok = a.size <= len(entries) and merkle.root(nodes, a.size) == a.root
        out.expect(
            "data.log-checkpoint-mismatch",
            ok,
            f"log {log_id}: the checkpoint of size {a.size} anchors root 0x{a.root.hex()}, "
            + (
                f"the log has only {len(entries)} entries"
                if a.size > len(entries)
                else f"the log's root at that size is 0x{merkle.root(nodes, a.size).hex()}"
            ),
            event=a.event,
            log=log_id,
            size=a.size,
        )
    covering = iter(sorted(anchored, key=lambda a: a.size))
    cover = next(covering, None)
    used: Counter[int] = Counter()  # accesses per grant in this log so far
    for i, raw in enumerate(entries):
        while cover is not None and cover.size <= i:
            cover = next(covering, None)
        try:
            doc = json.loads(raw)
            when = int(doc["time"])
        except (ValueError, KeyError, TypeError) as exc:
            out.expect(
                "data.log-entry-outside-grant",
                False,
                f"log {log_id} entry {i} is not an entry ({exc})",
                log=log_id,
                index=i,
            )
            continue
        due = when + mmd
        out.expect(
            "data.log-entry-late",
            (cover.anchored_at <= due) if cover is not None else head_time <= due,
            f"log {log_id} entry {i} of time {when}: "
            + (f"first anchored at {cover.anchored_at}" if cover is not None else "not anchored at the audited head")
            + f", after its MMD ({mmd} s) ran out at {due}",
            log=log_id,
            index=i,
            time=when,
        )
        if doc.get("kind") == "access":
            used[int(doc.get("grant") or 0)] += 1
            _check_access(log_id, i, doc, when, data, out, used)
    return nodes


def _check_access(
    log_id: int, i: int, doc: dict[str, Any], when: int, data: DataReplay, out: Collector, used: Counter[int]
) -> None:
    g = data.grants.get(int(doc.get("grant") or 0))
    d = data.datasets.get(int(doc.get("dataset") or 0))
    state = None if g is None else data.state_at(g, when)
    why = (
        "names no grant"
        if g is None
        else f"names grant {g.id} of dataset {g.dataset_id}, not of dataset {doc.get('dataset')}"
        if d is None or g.dataset_id != d.id
        else f"is of dataset {d.id} of member {d.owner_id}, not of the log's member"
        if d.owner_id != log_id
        else f"was made by member {doc.get('member')}, not by the grantee {g.grantee_id}"
        if int(doc.get("member") or 0) != g.grantee_id
        else "was made before the grant"
        if state is None
        else f"was made while the grant was {state.name.lower()}"
        if state != GrantState.ACTIVE
        else None
    )
    out.expect(
        "data.log-entry-outside-grant",
        why is None,
        f"log {log_id} entry {i} (time {when}, grant {doc.get('grant')}) {why}",
        log=log_id,
        index=i,
        grant=doc.get("grant"),
        time=when,
    )
    if g is None or why is not None:
        return
    # The grant's terms at the entry's time (narrowings folded in): the fields served, the count
    # (the grant's on-chain accesses and this log's so far), the row filter the grant binds.
    terms = data.terms_at(g, when)
    served = int(str(doc.get("fields") or "0"), 16)
    n = g.accesses + used[g.id]
    flt = doc.get("filter")
    bound = g.row_filter_hash
    out.expect(
        "data.access-outside-terms",
        is_subset(served, terms.field_mask) and (terms.max_accesses == 0 or n <= terms.max_accesses) and flt == bound,
        f"log {log_id} entry {i} (grant {g.id}, access #{n}) served fields {served:#x} of {terms.field_mask:#x} "
        f"(limit {terms.max_accesses or 'none'}) under filter {flt}, the grant binds {bound}",
        log=log_id,
        index=i,
        grant=g.id,
        time=when,
    )


def check_receipts(
    receipts: Sequence[tuple[str, Receipt | str]],
    trees: dict[int, merkle.MemoryNodes],
    anchored: dict[int, list[Anchored]],
    ledger: Ledger,
    out: Collector,
    head_time: int,
) -> None:
    """Each receipt verified against the chain with a proof built from its log as supplied."""
    for name, r in receipts:
        if isinstance(r, str):
            out.expect("data.log-receipt-invalid", False, f"{name}: {r}", file=name)
            continue
        nodes = trees.get(r.log)
        cover = next((a for a in sorted(anchored.get(r.log, []), key=lambda a: a.size) if a.size > r.index), None)
        proof = None
        if nodes is not None and cover is not None and cover.size <= nodes.size:
            hashes = tuple(merkle.inclusion_proof(nodes, r.index, cover.size))
            proof = InclusionProof(r.log, r.index, cover.size, hashes)
        if nodes is None:
            out.expect(
                "data.log-receipt-invalid",
                False,
                f"{name}: the log {r.log} it names was not supplied",
                file=name,
                log=r.log,
                index=r.index,
            )
            continue
        v = verify_receipt(r, ledger, proof=proof, now=head_time)
        failed = [c for c in v.checks if c.status == "fail"]
        out.expect(
            "data.log-receipt-invalid",
            not failed,
            f"{name}: the receipt of log {r.log} entry {r.index} fails "
            + "; ".join(f"{c.name}: {c.detail}" for c in failed),
            file=name,
            log=r.log,
            index=r.index,
            leaf_hash="0x" + r.leaf_hash.hex(),
        )
