"""Rule 5, documents: off-chain files against the hashes the chain holds.

Hashes are keccak256 of the file's exact bytes (as ``ledger/data_sharing.py`` and
the fund's receipts and invoices use them). The folder's layout names the record
a file belongs to, so a changed file is reported as a mismatch of that record:

=====================================  ===========================================
``receipts/<receiptId>.*``             a contribution's ``memoHash``
``invoices/<payoutId>.*``              a payout's ``invoiceHash``
``projects/<projectId>.*``             a project's ``titleHash``
``milestones/<projectId>-<index>.*``   a milestone's ``descriptionHash``
``datasets/<datasetId>-v<version>.*``  a dataset version's ``contentHash``
``purposes/<requestId>.*``             an access request's ``purposeHash``
=====================================  ===========================================

Any other file is matched by its hash alone. An on-chain hash no file carries is
reported as missing (a warning), a file no hash names as unmatched (info).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from eth_utils.crypto import keccak

from ledger.audit.collect import Collector
from ledger.audit.events import Event
from ledger.audit.findings import Severity
from ledger.audit.replay.base import ZERO32
from ledger.audit.replay.data import DataReplay
from ledger.audit.replay.fund import FundReplay


@dataclass(frozen=True)
class OnChainDocument:
    kind: str  # the folder
    key: str  # the file stem
    hash: str
    contract: str
    event: Event | None


def on_chain_documents(data: DataReplay | None, fund: FundReplay | None) -> list[OnChainDocument]:
    docs: list[OnChainDocument] = []
    if fund is not None:
        for c in fund.contributions.values():
            docs.append(OnChainDocument("receipts", str(c.id), c.memo_hash, fund.contract, c.event))
        for e in fund.payouts:
            docs.append(OnChainDocument("invoices", str(e.int("payoutId")), e.args["invoiceHash"], fund.contract, e))
        for p in fund.projects.values():
            docs.append(OnChainDocument("projects", str(p.id), p.title_hash, fund.contract, None))
            for i, m in enumerate(p.milestones):
                docs.append(OnChainDocument("milestones", f"{p.id}-{i}", m.description_hash, fund.contract, None))
    if data is not None:
        for d in data.datasets.values():
            for version, h, e in d.versions:
                docs.append(OnChainDocument("datasets", f"{d.id}-v{version}", h, data.contract, e))
        for r in data.requests.values():
            docs.append(OnChainDocument("purposes", str(r.id), r.purpose_hash, data.contract, r.event))
    return [d for d in docs if d.hash.lower() != ZERO32]


_STEM = re.compile(r"^[0-9]+(-v?[0-9]+)?$")


def check_documents(folder: Path, docs: list[OnChainDocument], out: Collector) -> dict[str, int]:
    files: dict[Path, str] = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file() and not f.name.startswith("."):
            files[f] = "0x" + keccak(f.read_bytes()).hex()
    by_hash: dict[str, list[Path]] = {}
    for f, h in files.items():
        by_hash.setdefault(h, []).append(f)
    slots: dict[tuple[str, str], list[Path]] = {}
    for f in files:
        rel = f.relative_to(folder)
        if len(rel.parts) == 2 and _STEM.match(f.name.split(".")[0]):
            slots.setdefault((rel.parts[0], f.name.split(".")[0]), []).append(f)
    used: set[Path] = set()
    matched = 0
    for d in docs:
        h = d.hash.lower()
        slot = slots.get((d.kind, d.key), [])
        where = {"kind": d.kind, "record": d.key, "on_chain_hash": h}
        ev = {"event": d.event} if d.event is not None else {"contract": d.contract}
        for f in slot:
            used.add(f)
            ok = out.expect(
                "documents.mismatch",
                files[f] == h,
                f"{f.relative_to(folder)} does not match the on-chain hash of {d.kind[:-1]} {d.key}",
                **ev,
                **where,
                file=str(f.relative_to(folder)),
                file_hash=files[f],
            )
            matched += ok
        if not slot:
            found = by_hash.get(h, [])
            used.update(found)
            matched += bool(found)
            out.expect(
                "documents.missing",
                bool(found),
                f"no file for {d.kind[:-1]} {d.key} (hash {h})",
                severity=Severity.WARNING,
                **ev,
                **where,
            )
    known = {d.hash.lower() for d in docs}
    for f in files:
        if f in used:
            continue
        out.check("documents.unmatched")
        if files[f] in known:
            continue
        out.add(
            "documents.unmatched",
            f"{f.relative_to(folder)} matches no hash on chain",
            severity=Severity.INFO,
            file=str(f.relative_to(folder)),
            file_hash=files[f],
        )
    return {"files": len(files), "on_chain": len(docs), "matched": matched}
