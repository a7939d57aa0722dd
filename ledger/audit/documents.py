"""Rule 5, documents: off-chain files against the hashes the chain holds.

A file's hash is keccak256 of its exact bytes (as ``ledger/data/contract.py`` and the
fund's invoices use them), except that a file holding a salted-commitment opening
``{"salt": "0x…", "text": "…"}`` (:mod:`ledger.commitment`) is checked by
``commit(text, salt)``: short texts such as memos and purposes go on chain that way.

Every on-chain reference needs its own file, in its slot:

=====================================  ===========================================
``receipts/<receiptId>.*``             a contribution's ``memoHash``
``invoices/<payoutId>.*``              a payout's ``invoiceHash``
``projects/<projectId>.*``             a project's ``titleHash``
``milestones/<projectId>-<index>.*``   a milestone's ``descriptionHash``
``datasets/<datasetId>-v<version>.*``  a dataset version's ``contentHash``
``purposes/<requestId>.*``             an access request's ``purposeHash``
``row_filters/<requestId>.*``          its ``rowFilterHash`` (if any): the filter's
                                       canonical JSON (:mod:`ledger.data.row_filter`)
=====================================  ===========================================

or an explicitly shared one: ``SHARED.json`` at the folder's top names, for a file, the
references it serves (``"<kind>/<key>"``, a slot's folder and stem)::

    {"shared/standard-memo.txt": ["receipts/3", "receipts/7"]}

A file satisfies only the references it is assigned to (by its slot or by
``SHARED.json``), never another one by carrying the same hash: two receipts with the
same memo need two files, or one shared file naming both. An assigned file that does not
match is a mismatch (error); a reference without a file is missing (warning); a file
assigned to nothing is unmatched (info), and so is a reference in ``SHARED.json`` that is
not on chain; a ``SHARED.json`` that is not such an object is invalid (warning).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from eth_utils.crypto import keccak

from ledger.abi import hex_text
from ledger.audit.collect import Collector
from ledger.audit.findings import Severity
from ledger.audit.replay.base import ZERO32
from ledger.audit.replay.data import DataReplay
from ledger.audit.replay.fund import FundReplay
from ledger.commitment import Opening
from ledger.events import Event


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
        for c in fund.model.contributions.values():
            docs.append(OnChainDocument("receipts", str(c.id), hex_text(c.memo_hash), fund.contract, c.event))
        for e in fund.payouts:
            invoice = hex_text(e.args["invoiceHash"])
            docs.append(OnChainDocument("invoices", str(int(e.args["payoutId"])), invoice, fund.contract, e))
        for p in fund.model.projects.values():
            docs.append(OnChainDocument("projects", str(p.id), hex_text(p.title_hash), fund.contract, None))
            for i, m in enumerate(p.milestones):
                description = hex_text(m.description_hash)
                docs.append(OnChainDocument("milestones", f"{p.id}-{i}", description, fund.contract, None))
    if data is not None:
        for d in data.datasets.values():
            for version, h, e in d.versions:
                docs.append(OnChainDocument("datasets", f"{d.id}-v{version}", h, data.contract, e))
        for r in data.requests.values():
            docs.append(OnChainDocument("purposes", str(r.id), r.purpose_hash, data.contract, r.event))
            if r.row_filter_hash is not None:
                docs.append(OnChainDocument("row_filters", str(r.id), r.row_filter_hash, data.contract, r.event))
    return [d for d in docs if d.hash.lower() != ZERO32]


_STEM = re.compile(r"^[0-9]+(-v?[0-9]+)?$")
SHARED = "SHARED.json"


def file_hash(data: bytes) -> str:
    """What the chain holds for a file: the commitment of an opening, else keccak256 of the bytes."""
    opening = Opening.try_parse(data)
    if opening is not None:
        return opening.commitment_hex
    return "0x" + keccak(data).hex()


def _shared(folder: Path, out: Collector) -> dict[Path, list[str]]:
    """``SHARED.json``: file → the references (``kind/key``) it serves."""
    path = folder / SHARED
    if not path.is_file():
        return {}
    out.check("documents.shared-invalid")
    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        doc, why = None, f"not JSON ({exc})"
    else:
        why = 'expected {"<file>": ["<kind>/<key>", ...], ...}'
    valid = isinstance(doc, dict) and all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v) for k, v in doc.items()
    )
    if not valid:
        out.add("documents.shared-invalid", f"{SHARED} is invalid: {why}", severity=Severity.WARNING, file=SHARED)
        return {}
    assert isinstance(doc, dict)
    shared: dict[Path, list[str]] = {}
    for name, refs in doc.items():
        f = (folder / name).resolve()
        if not f.is_relative_to(folder.resolve()):
            out.add(
                "documents.shared-invalid",
                f"{SHARED} names {name}, outside the folder",
                severity=Severity.WARNING,
                file=SHARED,
                entry=name,
            )
            continue
        shared[f] = refs
    return shared


def check_documents(folder: Path, docs: list[OnChainDocument], out: Collector) -> dict[str, int]:
    root = folder.resolve()
    files: dict[Path, str] = {}
    for f in sorted(root.rglob("*")):
        if f.is_file() and not f.name.startswith(".") and f != root / SHARED:
            files[f] = file_hash(f.read_bytes())
    assigned: dict[tuple[str, str], list[Path]] = {}
    for f in files:
        rel = f.relative_to(root)
        if len(rel.parts) == 2 and _STEM.match(f.name.split(".")[0]):
            assigned.setdefault((rel.parts[0], f.name.split(".")[0]), []).append(f)
    on_chain = {(d.kind, d.key) for d in docs}
    for f, refs in _shared(root, out).items():
        for ref in refs:
            kind, _, key = ref.partition("/")
            out.check("documents.unmatched")
            if (kind, key) not in on_chain:
                out.add(
                    "documents.unmatched",
                    f"{SHARED} assigns {f.relative_to(root)} to {ref}, which is not on chain",
                    severity=Severity.INFO,
                    file=str(f.relative_to(root)),
                    reference=ref,
                )
                continue
            if f not in files:
                continue  # the reference is reported missing below, unless its slot has a file
            assigned.setdefault((kind, key), []).append(f)
    used: set[Path] = set()
    matched = 0
    for d in docs:
        h = d.hash.lower()
        mine = assigned.get((d.kind, d.key), [])
        where = {"kind": d.kind, "record": d.key, "on_chain_hash": h}
        ev = {"event": d.event} if d.event is not None else {"contract": d.contract}
        for f in mine:
            used.add(f)
            ok = out.expect(
                "documents.mismatch",
                files[f] == h,
                f"{f.relative_to(root)} does not match the on-chain hash of {d.kind[:-1]} {d.key}",
                **ev,
                **where,
                file=str(f.relative_to(root)),
                file_hash=files[f],
            )
            matched += ok
        out.expect(
            "documents.missing",
            bool(mine),
            f"no file for {d.kind[:-1]} {d.key} (hash {h}): neither {d.kind}/{d.key}.* nor a file "
            f"{SHARED} assigns to it",
            severity=Severity.WARNING,
            **ev,
            **where,
        )
    by_hash: dict[str, list[str]] = {}
    for d in docs:
        by_hash.setdefault(d.hash.lower(), []).append(f"{d.kind}/{d.key}")
    for f in files:
        if f in used:
            continue
        out.check("documents.unmatched")
        same = by_hash.get(files[f], [])
        out.add(
            "documents.unmatched",
            f"{f.relative_to(root)} is assigned to no on-chain record"
            + (
                f" (its hash is that of {', '.join(same[:5])}: put it in the slot or name it in {SHARED})"
                if same
                else ""
            ),
            severity=Severity.INFO,
            file=str(f.relative_to(root)),
            file_hash=files[f],
            same_hash_as=same[:20],
        )
    return {"files": len(files), "on_chain": len(docs), "matched": matched}
